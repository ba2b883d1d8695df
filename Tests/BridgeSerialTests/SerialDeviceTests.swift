import Foundation
import Testing

@testable import BridgeSerial

/// A pseudo-terminal pair: `controller` is the other end of the wire, `replicaPath` the device.
private final class PseudoTerminal {
    let controller: CInt
    let replica: CInt
    let replicaPath: String

    init() throws {
        var controller: CInt = -1
        var replica: CInt = -1
        var name = [CChar](repeating: 0, count: 128)
        try #require(openpty(&controller, &replica, &name, nil, nil) == 0)
        self.controller = controller
        self.replica = replica
        replicaPath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        Glibc.close(controller)
        Glibc.close(replica)
    }

    /// The replica's settings, read through the controller (Linux answers for the replica).
    func settings() throws -> termios {
        var settings = termios()
        try #require(tcgetattr(controller, &settings) == 0)
        return settings
    }
}

private func readAvailable(_ fd: CInt, count: Int, timeout: Duration = .seconds(5)) -> [UInt8] {
    var received: [UInt8] = []
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while received.count < count, clock.now < deadline {
        var pollDescriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollDescriptor, 1, 100) > 0 else { continue }
        var buffer = [UInt8](repeating: 0, count: 256)
        let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if got > 0 { received += buffer[..<got] }
    }
    return received
}

private func writeAll(_ fd: CInt, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
}

@Suite struct SerialDeviceTests {
    @Test func aPseudoTerminalIsOpenedWithTermiosRawAtTheBaudRate() throws {
        let pty = try PseudoTerminal()
        let device = try SerialDevice(path: pty.replicaPath, baudRate: 57600)
        defer { device.close() }
        #expect(device.kind == .pseudoTerminal)
        #expect(device.kind.openedWith == "termios")
        var settings = try pty.settings()
        #expect(cfgetospeed(&settings) == speed_t(B57600))
        #expect(settings.c_lflag & tcflag_t(ICANON) == 0, "raw: no line editing")

        let descriptor = try device.takeDescriptorForChannel()
        defer { Glibc.close(descriptor) }
        let outgoing: [UInt8] = [0x01, 0x00, 0x0A, 0xFF, 0x7E]
        #expect(writeAll(descriptor, outgoing))
        #expect(readAvailable(pty.controller, count: outgoing.count) == outgoing, "8-bit clean, no CR/LF mapping")
        let incoming: [UInt8] = [0x00, 0x0D, 0x0A, 0x80]
        #expect(writeAll(pty.controller, incoming))
        #expect(readAvailable(descriptor, count: incoming.count) == incoming)
    }

    @Test func aSymlinkToAPseudoTerminalIsFollowed() throws {
        let pty = try PseudoTerminal()
        let link = FileManager.default.temporaryDirectory.appendingPathComponent("esp-\(UUID().uuidString)").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pty.replicaPath)
        defer { try? FileManager.default.removeItem(atPath: link) }
        #expect(SerialDevice.resolvedPath(link) == pty.replicaPath)
        let device = try SerialDevice(path: link, baudRate: 115_200)
        defer { device.close() }
        #expect(device.kind == .pseudoTerminal)
        #expect(device.path == link, "messages keep the name the user gave")
    }

    @Test func modemLinesOnAPseudoTerminalSayARealSerialPortIsNeeded() throws {
        let pty = try PseudoTerminal()
        let device = try SerialDevice(path: pty.replicaPath, baudRate: 115_200)
        defer { device.close() }
        #expect {
            try device.setModemLines(dtr: false, rts: true)
        } throws: { error in
            guard case .modemLinesUnsupported(let path, let detail) = error as? SerialDeviceError else { return false }
            let text = (error as! SerialDeviceError).description
            return path == pty.replicaPath && detail.contains("Inappropriate ioctl")
                && text.contains("modem-line reset needs a real serial port")
                && text.contains("--reset-method gpio")
        }
    }

    @Test func modemLinesOnAClosedDeviceFail() throws {
        let pty = try PseudoTerminal()
        let device = try SerialDevice(path: pty.replicaPath, baudRate: 115_200)
        device.close()
        device.close()
        #expect(throws: SerialDeviceError.modemLinesFailed(path: pty.replicaPath, detail: "the device is closed")) {
            try device.setModemLines(dtr: true, rts: true)
        }
    }

    @Test func aMissingDeviceListsThePortsLibSerialPortSees() {
        #expect {
            _ = try SerialDevice(path: "/dev/ttyNOPE0", baudRate: 115_200)
        } throws: { error in
            guard case .notFound(let path, let ports) = error as? SerialDeviceError else { return false }
            return path == "/dev/ttyNOPE0" && ports == SerialPortInfo.available()
        }
    }

    @Test func aRegularFileIsNotASerialDevice() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tty-\(UUID().uuidString)").path
        try "x".write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(throws: SerialDeviceError.notACharacterDevice(path: file, kind: "regular file")) {
            _ = try SerialDevice(path: file, baudRate: 115_200)
        }
    }

    @Test func aCharacterDeviceThatIsNoTerminalIsRefused() {
        #expect(throws: SerialDeviceError.notATerminal(path: "/dev/null")) {
            _ = try SerialDevice(path: "/dev/null", baudRate: 115_200)
        }
    }

    @Test func anUnsupportedBaudRateIsRefusedFirst() {
        #expect(throws: SerialDeviceError.unsupportedBaudRate(12_345)) {
            _ = try SerialDevice(path: "/dev/ttyNOPE0", baudRate: 12_345)
        }
    }
}

@Suite struct SerialPortInfoTests {
    @Test func aUSBAdapterShowsProductIDsAndSerial() {
        let port = SerialPortInfo(
            name: "/dev/ttyUSB0", portDescription: "CP2102 USB to UART Bridge Controller - 0001", transport: .usb,
            usbVendorID: 0x10C4, usbProductID: 0xEA60, usbSerialNumber: "0001",
            usbProduct: "CP2102 USB to UART Bridge Controller")
        #expect(port.description == "/dev/ttyUSB0 (CP2102 USB to UART Bridge Controller, 10c4:ea60, serial 0001)")
    }

    @Test func aUSBAdapterWithoutSerialOrProductFallsBackToTheDescription() {
        let port = SerialPortInfo(
            name: "/dev/ttyUSB1", portDescription: "USB2.0-Serial", transport: .usb, usbVendorID: 0x1A86,
            usbProductID: 0x7523)
        #expect(port.description == "/dev/ttyUSB1 (USB2.0-Serial, 1a86:7523)")
    }

    @Test func aBuiltInUARTDoesNotRepeatItsName() {
        #expect(
            SerialPortInfo(name: "/dev/ttyAMA0", portDescription: "ttyAMA0").description
                == "/dev/ttyAMA0 (built-in UART)")
        #expect(
            SerialPortInfo(name: "/dev/ttyS1", portDescription: "16550A").description
                == "/dev/ttyS1 (16550A, built-in UART)")
    }

    @Test func aBluetoothPortSaysSo() {
        #expect(
            SerialPortInfo(name: "/dev/rfcomm0", portDescription: "rfcomm0", transport: .bluetooth).description
                == "/dev/rfcomm0 (Bluetooth, rfcomm0)")
    }

    @Test func theNotFoundMessageKeepsItsAdviceAndListsPorts() {
        let ports = [
            SerialPortInfo(
                name: "/dev/ttyUSB0", transport: .usb, usbVendorID: 0x10C4, usbProductID: 0xEA60,
                usbSerialNumber: "0001", usbProduct: "CP2102 USB to UART"),
            SerialPortInfo(name: "/dev/ttyAMA0", portDescription: "ttyAMA0"),
        ]
        let text = SerialDeviceError.notFound(path: "/dev/ttyNOPE0", availablePorts: ports).description
        #expect(text.contains("/dev/ttyNOPE0 does not exist"))
        #expect(text.contains("check --device"))
        #expect(
            text.hasSuffix(
                "serial ports on this machine: /dev/ttyUSB0 (CP2102 USB to UART, 10c4:ea60, serial 0001), "
                    + "/dev/ttyAMA0 (built-in UART)"))
        let none = SerialDeviceError.notFound(path: "/dev/ttyNOPE0", availablePorts: []).description
        #expect(none.hasSuffix("libserialport sees no serial ports on this machine"))
    }

    @Test func enumerationFindsWhatTheSysfsTreeHolds() {
        // Whatever this machine has; each entry must at least be a device node name.
        for port in SerialPortInfo.available() {
            #expect(port.name.hasPrefix("/dev/"))
        }
    }
}
