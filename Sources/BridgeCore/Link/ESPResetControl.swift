import BridgeGPIO
import BridgeSerial
import NIOCore

/// How the daemon resets the ESP8266 (`--reset-method`): a sysfs GPIO line wired to its RST pin
/// (``GPIOResetControl``), or the DTR/RTS modem lines of a USB board's serial adapter
/// (``ModemLineResetControl``). `nil` where one is expected means no reset is wired
/// (`--reset-method none`): the daemon asks the ESP for HELLO instead.
///
/// The bridge holds the ESP in reset, waits ``pulseWidth`` and lets it go, all on its event loop.
public protocol ESPResetControl: Sendable, CustomStringConvertible {
    /// How long the reset is held.
    var pulseWidth: Duration { get }

    /// Holds the ESP in reset (`true`) or lets it run.
    /// - Throws: ``ESPResetError`` that says what to do.
    func holdInReset(_ held: Bool) throws(ESPResetError)
}

/// Why the ESP could not be reset. Each description says what to do.
public enum ESPResetError: Error, CustomStringConvertible, Equatable {
    case gpio(GPIOError)
    case serial(SerialDeviceError)
    /// Modem-line reset needs the serial device, and it is closed (lost, being reopened).
    case deviceNotOpen(path: String)

    public var description: String {
        switch self {
        case .gpio(let error): return error.description
        case .serial(let error): return error.description
        case .deviceNotOpen(let path):
            return "cannot drive DTR/RTS: the serial device \(path) is not open (it is reopened by itself; "
                + "the ESP is reset once it is back)"
        }
    }
}

/// Reset through the RESET GPIO line (`--reset-method gpio`).
public struct GPIOResetControl: ESPResetControl {
    public let lines: ESPResetLines

    public init(lines: ESPResetLines) {
        self.lines = lines
    }

    public var pulseWidth: Duration { ESPResetLines.pulseWidth }

    public func holdInReset(_ held: Bool) throws(ESPResetError) {
        do {
            try lines.holdInReset(held)
        } catch {
            throw .gpio(error)
        }
    }

    public var description: String {
        let reset = lines.reset
        return "GPIO \(reset.number) under \(reset.root) (active \(reset.activeLow ? "low" : "high"))"
    }
}

/// The serial device the link currently has open, shared between the connector that opens and
/// reopens it and the modem-line reset that drives its DTR/RTS. Confined to the bridge's event loop.
public final class CurrentSerialDevice {
    /// `nil` while the device is closed (lost, waiting to be reopened).
    public var device: SerialDevice?

    public init() {}
}

/// Reset through the DTR/RTS lines of a USB serial adapter (`--reset-method modem-lines`): the
/// auto-reset circuit of NodeMCU and Wemos D1 mini boards, which esptool uses too.
///
/// Two transistors cross-couple the lines: EN (RST) is pulled low only while RTS is asserted and
/// DTR is not; GPIO0 is pulled low only while DTR is asserted and RTS is not. A run-mode reset is
/// esptool's `HardReset`: DTR deasserted, RTS asserted for 100 ms, then RTS deasserted, so EN rises
/// with GPIO0 high and the firmware (not the ROM bootloader) starts. Opening the port asserts both
/// lines, which leaves the ESP running.
public struct ModemLineResetControl: ESPResetControl {
    /// The lines while the ESP is held in reset: EN low, GPIO0 high.
    public static let resetLines = (dtr: false, rts: true)
    /// The lines while it runs: EN high, GPIO0 high.
    public static let runLines = (dtr: false, rts: false)

    private let current: NIOLoopBound<CurrentSerialDevice>
    private let path: String

    /// - Parameters:
    ///   - current: the device the connector has open, read on the bridge's event loop.
    ///   - path: the `--device` path, for messages.
    public init(current: NIOLoopBound<CurrentSerialDevice>, path: String) {
        self.current = current
        self.path = path
    }

    /// esptool holds RTS for 100 ms (`HardReset`).
    public var pulseWidth: Duration { .milliseconds(100) }

    public func holdInReset(_ held: Bool) throws(ESPResetError) {
        guard let device = current.value.device else { throw .deviceNotOpen(path: path) }
        let lines = held ? Self.resetLines : Self.runLines
        do {
            try device.setModemLines(dtr: lines.dtr, rts: lines.rts)
        } catch {
            throw .serial(error)
        }
    }

    public var description: String { "DTR/RTS of \(path)" }
}
