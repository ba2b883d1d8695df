import CLibSerialPort

/// A serial port as libserialport enumerates it (`sp_list_ports`): what an error message shows
/// when `--device` names a device that does not exist.
public struct SerialPortInfo: Sendable, Equatable, CustomStringConvertible {
    /// How the port is attached.
    public enum Transport: Sendable, Equatable {
        /// A UART of the machine itself (`/dev/ttyAMA0`, `/dev/ttyS0`).
        case native
        /// A USB serial adapter or a USB board's built-in one (`/dev/ttyUSB0`, `/dev/ttyACM0`).
        case usb
        /// An RFCOMM port.
        case bluetooth
    }

    /// The device node, e.g. `/dev/ttyUSB0`.
    public var name: String
    /// libserialport's description: the USB product for USB ports, the kernel name otherwise.
    public var portDescription: String?
    public var transport: Transport
    public var usbVendorID: UInt16?
    public var usbProductID: UInt16?
    public var usbSerialNumber: String?
    public var usbProduct: String?

    public init(
        name: String, portDescription: String? = nil, transport: Transport = .native, usbVendorID: UInt16? = nil,
        usbProductID: UInt16? = nil, usbSerialNumber: String? = nil, usbProduct: String? = nil
    ) {
        self.name = name
        self.portDescription = portDescription
        self.transport = transport
        self.usbVendorID = usbVendorID
        self.usbProductID = usbProductID
        self.usbSerialNumber = usbSerialNumber
        self.usbProduct = usbProduct
    }

    /// `/dev/ttyUSB0 (CP2102 USB to UART Bridge Controller, 10c4:ea60, serial 0001)`.
    public var description: String {
        var details: [String] = []
        switch transport {
        case .usb:
            if let label = usbProduct ?? portDescription, !label.isEmpty { details.append(label) }
            if let vendor = usbVendorID, let product = usbProductID {
                details.append("\(Self.hex(vendor)):\(Self.hex(product))")
            }
            if let serial = usbSerialNumber, !serial.isEmpty { details.append("serial \(serial)") }
        case .bluetooth:
            details.append("Bluetooth")
            if let label = portDescription, !label.isEmpty { details.append(label) }
        case .native:
            let kernelName = name.split(separator: "/").last.map(String.init)
            if let label = portDescription, !label.isEmpty, label != kernelName { details.append(label) }
            details.append("built-in UART")
        }
        return "\(name) (\(details.joined(separator: ", ")))"
    }

    private static func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// The serial ports libserialport finds on this machine (it reads `/sys/class/tty`), by name;
    /// empty when enumeration fails, since the list only ever serves an error message.
    public static func available() -> [SerialPortInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        guard sp_list_ports(&list) == SP_OK, let list else { return [] }
        defer { sp_free_port_list(list) }
        var ports: [SerialPortInfo] = []
        var index = 0
        while let port = list[index] {
            ports.append(SerialPortInfo(port: port))
            index += 1
        }
        return ports.sorted { $0.name < $1.name }
    }

    /// Reads what libserialport knows about an enumerated or looked-up port.
    init(port: OpaquePointer) {
        func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
            pointer.map { String(cString: $0) }
        }
        name = string(sp_get_port_name(port)) ?? "?"
        portDescription = string(sp_get_port_description(port))
        switch sp_get_port_transport(port) {
        case SP_TRANSPORT_USB: transport = .usb
        case SP_TRANSPORT_BLUETOOTH: transport = .bluetooth
        default: transport = .native
        }
        usbVendorID = nil
        usbProductID = nil
        usbSerialNumber = nil
        usbProduct = nil
        guard transport == .usb else { return }
        var vendor: CInt = 0
        var product: CInt = 0
        if sp_get_port_usb_vid_pid(port, &vendor, &product) == SP_OK {
            usbVendorID = UInt16(truncatingIfNeeded: vendor)
            usbProductID = UInt16(truncatingIfNeeded: product)
        }
        usbSerialNumber = string(sp_get_port_usb_serial(port))
        usbProduct = string(sp_get_port_usb_product(port))
    }
}
