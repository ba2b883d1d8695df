/// Why a serial device could not be opened or configured. Each description says what to do.
public enum SerialDeviceError: Error, CustomStringConvertible, Equatable {
    /// The path does not exist; `availablePorts` is what libserialport sees instead.
    case notFound(path: String, availablePorts: [SerialPortInfo])
    case notACharacterDevice(path: String, kind: String)
    case notATerminal(path: String)
    case permissionDenied(path: String)
    case busy(path: String, detail: String)
    case unsupportedBaudRate(Int)
    case configurationFailed(path: String, detail: String)
    /// DTR/RTS cannot be driven: the device is a pseudo-terminal, which has no modem lines.
    case modemLinesUnsupported(path: String, detail: String)
    /// Driving DTR/RTS failed on a device that should have them.
    case modemLinesFailed(path: String, detail: String)

    public var description: String {
        switch self {
        case .notFound(let path, let ports):
            let seen =
                ports.isEmpty
                ? "libserialport sees no serial ports on this machine"
                : "serial ports on this machine: \(ports.map(\.description).joined(separator: ", "))"
            return "serial device \(path) does not exist: check --device, the cabling, and that the UART is enabled "
                + "(on a Raspberry Pi: raspi-config → Interface Options → Serial Port, login shell off, hardware on); "
                + seen
        case .notACharacterDevice(let path, let kind):
            return "\(path) is a \(kind), not a serial device: pass the UART's device node with --device "
                + "(e.g. /dev/ttyAMA0, /dev/serial0 or /dev/ttyUSB0)"
        case .notATerminal(let path):
            return "\(path) is a character device but not a terminal (tty): pass the UART's device node with --device"
        case .permissionDenied(let path):
            return "permission denied opening \(path): run mqttbridged as a user in the 'dialout' group "
                + "(usermod -aG dialout USER) or as the systemd service"
        case .busy(let path, let detail):
            return "\(path) is in use by another program (\(detail)): stop it (a serial console getty, ModemManager, "
                + "another mqttbridged) or disable the serial console"
        case .unsupportedBaudRate(let baud):
            return
                "baud rate \(baud) is not supported: use one of \(TermiosSpeed.supportedRates.map(String.init).joined(separator: ", "))"
        case .configurationFailed(let path, let detail):
            return "could not configure \(path): \(detail)"
        case .modemLinesUnsupported(let path, let detail):
            return "modem-line reset needs a real serial port: \(path) is a pseudo-terminal, which has no DTR/RTS "
                + "lines (\(detail)): pass the USB serial adapter's device with --device (e.g. /dev/ttyUSB0), or use "
                + "--reset-method gpio (esp-sim provides fake GPIO lines) or --reset-method none"
        case .modemLinesFailed(let path, let detail):
            return "could not drive DTR/RTS on \(path) (\(detail)): check that the adapter has DTR and RTS wired "
                + "to the board's auto-reset circuit, or use --reset-method gpio or none"
        }
    }
}
