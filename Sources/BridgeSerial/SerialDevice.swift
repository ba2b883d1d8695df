import CLibSerialPort

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An opened serial device, configured raw 8N1 at a baud rate, ready to hand to SwiftNIO.
///
/// Two kinds of device are first-class, as gpsd treats them:
/// - a device libserialport knows (it has a `/sys/class/tty/NAME/device` entry) is a UART, opened
///   through libserialport, which also locks it against other users and drives its modem lines;
/// - a pseudo-terminal (the loopback test harness, `esp-sim`) is opened and configured with
///   termios, because libserialport cannot open one (no sysfs entry, and `TIOCMGET` fails).
///
/// Symbolic links (`/dev/serial0`, `/dev/serial/by-id/…`) are resolved first: libserialport
/// 0.1.1 looks the name itself up under `/sys/class/tty`.
///
/// - Note: ``SerialDevice`` owns its descriptor and, for a UART, the libserialport handle.
///   ``takeDescriptorForChannel()`` returns a `dup` that the caller (SwiftNIO) owns and closes;
///   call ``close()`` once that channel is closed. The libserialport handle stays in use for
///   ``setModemLines(dtr:rts:)`` only, never for data.
public final class SerialDevice {
    /// What kind of device the path turned out to be.
    public enum Kind: Sendable, Equatable, CustomStringConvertible {
        case pseudoTerminal
        case uart

        public var description: String {
            switch self {
            case .pseudoTerminal: return "pseudo-terminal"
            case .uart: return "UART"
            }
        }

        /// What opened and configured the device: `libserialport` or `termios`.
        public var openedWith: String {
            switch self {
            case .pseudoTerminal: return "termios"
            case .uart: return "libserialport"
            }
        }
    }

    public let path: String
    public let kind: Kind
    public private(set) var baudRate: Int
    private var descriptor: CInt
    private var port: OpaquePointer?

    /// Opens `path` raw 8N1 at `baudRate`, through libserialport if it knows the device, with
    /// termios if it is a pseudo-terminal.
    /// - Throws: ``SerialDeviceError`` that says what to do.
    public init(path: String, baudRate: Int) throws(SerialDeviceError) {
        guard TermiosSpeed.constant(for: baudRate) != nil else { throw .unsupportedBaudRate(baudRate) }
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == EACCES { throw .permissionDenied(path: path) }
            throw .notFound(path: path, availablePorts: SerialPortInfo.available())
        }
        guard info.st_mode & S_IFMT == S_IFCHR else {
            throw .notACharacterDevice(path: path, kind: Self.fileKind(mode: info.st_mode))
        }
        self.path = path
        self.baudRate = baudRate
        if let known = Self.lookUpWithLibSerialPort(Self.resolvedPath(path)) {
            kind = .uart
            (port, descriptor) = try Self.openWithLibSerialPort(known, path: path, baudRate: baudRate)
        } else if Self.isPseudoTerminalReplica(rdev: UInt64(info.st_rdev)) {
            kind = .pseudoTerminal
            descriptor = try Self.openWithTermios(path: path, baudRate: baudRate)
            port = nil
        } else {
            // libserialport only knows devices with a /sys/class/tty entry.
            throw .notATerminal(path: path)
        }
    }

    deinit { close() }

    /// Every rate ``init(path:baudRate:)`` and ``setBaudRate(_:)`` accept, ascending.
    public static var supportedBaudRates: [Int] { TermiosSpeed.supportedRates }

    /// Changes the line speed of the open device (the link's BAUD switch, §8.8 of the protocol).
    ///
    /// Waits first until everything written has left at the old speed (`tcdrain`; at once on a
    /// pseudo-terminal), as `TCSADRAIN` would: the caller has already handed those bytes to the
    /// kernel. Applies to every descriptor of the device, the channel's `dup` included.
    /// - Throws: ``SerialDeviceError/unsupportedBaudRate(_:)`` or
    ///   ``SerialDeviceError/configurationFailed(path:detail:)``.
    public func setBaudRate(_ rate: Int) throws(SerialDeviceError) {
        guard let speed = TermiosSpeed.constant(for: rate) else { throw .unsupportedBaudRate(rate) }
        guard descriptor >= 0 else { throw .configurationFailed(path: path, detail: "the device is closed") }
        _ = tcdrain(descriptor)
        if let port {
            guard sp_set_baudrate(port, CInt(rate)) == SP_OK else {
                throw .configurationFailed(path: path, detail: "setting \(rate) baud: \(Self.lastLibSerialPortError())")
            }
        } else {
            var settings = termios()
            guard tcgetattr(descriptor, &settings) == 0 else {
                throw .configurationFailed(path: path, detail: "tcgetattr: \(String(cString: strerror(errno)))")
            }
            cfsetispeed(&settings, speed)
            cfsetospeed(&settings, speed)
            guard tcsetattr(descriptor, TCSADRAIN, &settings) == 0 else {
                throw .configurationFailed(path: path, detail: "tcsetattr: \(String(cString: strerror(errno)))")
            }
        }
        baudRate = rate
    }

    /// A duplicate of the device's descriptor for SwiftNIO's `NIOPipeBootstrap`, which takes
    /// ownership of it (sets `O_NONBLOCK`, closes it with the channel).
    public func takeDescriptorForChannel() throws(SerialDeviceError) -> CInt {
        let copy = dup(descriptor)
        guard copy >= 0 else {
            throw .configurationFailed(path: path, detail: "dup failed: \(String(cString: strerror(errno)))")
        }
        return copy
    }

    /// Closes the device. Safe to call twice.
    public func close() {
        if let port {
            sp_close(port)
            sp_free_port(port)
            self.port = nil
            descriptor = -1
        } else if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
    }

    // MARK: - Modem lines

    /// Sets DTR and RTS: `true` asserts a line (its pin goes low on an RS-232-style UART).
    ///
    /// The lines change one after the other, RTS deasserted first and asserted last, so that on
    /// the esptool auto-reset circuit of USB boards (RTS drives EN, DTR drives GPIO0; see
    /// `ModemLineResetControl`) no intermediate state releases EN while GPIO0 is held low, which
    /// would start the ROM bootloader instead of the firmware.
    ///
    /// - Throws: ``SerialDeviceError/modemLinesUnsupported(path:detail:)`` for a pseudo-terminal,
    ///   ``SerialDeviceError/modemLinesFailed(path:detail:)`` when the driver refuses.
    public func setModemLines(dtr: Bool, rts: Bool) throws(SerialDeviceError) {
        if !rts { try setLine(.rts, asserted: false) }
        try setLine(.dtr, asserted: dtr)
        if rts { try setLine(.rts, asserted: true) }
    }

    private enum ModemLine: String {
        case dtr = "DTR"
        case rts = "RTS"
    }

    private func setLine(_ line: ModemLine, asserted: Bool) throws(SerialDeviceError) {
        if let port {
            let result: sp_return
            switch line {
            case .dtr: result = sp_set_dtr(port, asserted ? SP_DTR_ON : SP_DTR_OFF)
            case .rts: result = sp_set_rts(port, asserted ? SP_RTS_ON : SP_RTS_OFF)
            }
            guard result == SP_OK else {
                throw .modemLinesFailed(
                    path: path, detail: "setting \(line.rawValue): \(Self.lastLibSerialPortError())")
            }
            return
        }
        guard descriptor >= 0 else { throw .modemLinesFailed(path: path, detail: "the device is closed") }
        // A pseudo-terminal: the ioctl a UART would accept, so the refusal comes from the kernel.
        var bits = CInt(line == .dtr ? TIOCM_DTR : TIOCM_RTS)
        guard ioctl(descriptor, UInt(asserted ? TIOCMBIS : TIOCMBIC), &bits) == 0 else {
            let code = errno
            let detail = "setting \(line.rawValue): \(String(cString: strerror(code)))"
            if code == ENOTTY || code == EINVAL { throw .modemLinesUnsupported(path: path, detail: detail) }
            throw .modemLinesFailed(path: path, detail: detail)
        }
    }

    // MARK: - Opening

    /// Unix98 PTY replicas (`/dev/pts/N`) have majors 136–143 (Documentation/admin-guide/devices.txt).
    static func isPseudoTerminalReplica(rdev: UInt64) -> Bool {
        let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~UInt64(0xfff))
        return (136...143).contains(major)
    }

    private static func fileKind(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "directory"
        case S_IFREG: return "regular file"
        case S_IFBLK: return "block device"
        case S_IFIFO: return "FIFO"
        case S_IFSOCK: return "socket"
        default: return "special file"
        }
    }

    private static func openWithTermios(path: String, baudRate: Int) throws(SerialDeviceError) -> CInt {
        let fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == EACCES { throw .permissionDenied(path: path) }
            throw .configurationFailed(path: path, detail: String(cString: strerror(errno)))
        }
        guard isatty(fd) == 1 else {
            _ = Glibc.close(fd)
            throw .notATerminal(path: path)
        }
        do {
            try configureRaw(fd: fd, path: path, baudRate: baudRate)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// Raw mode, 8N1, no flow control, reads return as soon as a byte is there.
    static func configureRaw(fd: CInt, path: String, baudRate: Int) throws(SerialDeviceError) {
        var settings = termios()
        guard tcgetattr(fd, &settings) == 0 else {
            throw .configurationFailed(path: path, detail: "tcgetattr: \(String(cString: strerror(errno)))")
        }
        cfmakeraw(&settings)
        settings.c_cflag |= tcflag_t(CLOCAL) | tcflag_t(CREAD)
        settings.c_cflag &= ~(tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
        withUnsafeMutableBytes(of: &settings.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        let speed = TermiosSpeed.constant(for: baudRate)!
        cfsetispeed(&settings, speed)
        cfsetospeed(&settings, speed)
        // TCSAFLUSH also drops input queued before we opened: stale bytes from a previous run.
        guard tcsetattr(fd, TCSAFLUSH, &settings) == 0 else {
            throw .configurationFailed(path: path, detail: "tcsetattr: \(String(cString: strerror(errno)))")
        }
    }

    /// The path with symbolic links resolved (`/dev/serial0` → `/dev/ttyAMA0`), or `path` itself.
    static func resolvedPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// libserialport's handle for `path`, if it knows the device as a serial port.
    private static func lookUpWithLibSerialPort(_ path: String) -> OpaquePointer? {
        var portPointer: OpaquePointer?
        guard sp_get_port_by_name(path, &portPointer) == SP_OK else { return nil }
        return portPointer
    }

    private static func lastLibSerialPortError() -> String {
        sp_last_error_message().map { pointer in
            defer { sp_free_error_message(pointer) }
            return String(cString: pointer)
        } ?? "unknown error"
    }

    private static func openWithLibSerialPort(
        _ port: OpaquePointer,
        path: String,
        baudRate: Int
    ) throws(SerialDeviceError) -> (OpaquePointer, CInt) {
        func fail(_ step: String) -> SerialDeviceError {
            let message = lastLibSerialPortError()
            if message.contains("Permission denied") { return .permissionDenied(path: path) }
            if message.contains("Resource temporarily unavailable") || message.contains("busy") {
                return .busy(path: path, detail: message)
            }
            return .configurationFailed(path: path, detail: "\(step): \(message)")
        }
        guard sp_open(port, SP_MODE_READ_WRITE) == SP_OK else {
            let error = fail("open")
            sp_free_port(port)
            throw error
        }
        guard sp_set_baudrate(port, CInt(baudRate)) == SP_OK,
            sp_set_bits(port, 8) == SP_OK,
            sp_set_parity(port, SP_PARITY_NONE) == SP_OK,
            sp_set_stopbits(port, 1) == SP_OK,
            sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE) == SP_OK
        else {
            let error = fail("configure")
            sp_close(port)
            sp_free_port(port)
            throw error
        }
        var fd: CInt = -1
        guard sp_get_port_handle(port, &fd) == SP_OK, fd >= 0 else {
            let error = fail("get handle")
            sp_close(port)
            sp_free_port(port)
            throw error
        }
        return (port, fd)
    }
}
