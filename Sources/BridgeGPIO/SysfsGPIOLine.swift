#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One GPIO line driven through the kernel's sysfs interface (`/sys/class/gpio`), or through a fake
/// tree with the same files for tests and `esp-sim`.
///
/// sysfs is used rather than the GPIO character device because it needs no library and the test
/// harness can stand in for it with plain files.
public struct SysfsGPIOLine: Sendable {
    public enum Direction: String, Sendable {
        case input = "in"
        case output = "out"
    }

    public let root: String
    public let number: Int
    public var directory: String { "\(root)/gpio\(number)" }
    private var valuePath: String { "\(directory)/value" }

    /// Exports the line if needed and sets its direction.
    ///
    /// - Parameters:
    ///   - initialLevel: for an output, the level it starts at; written together with the direction
    ///     ("high"/"low") so the line never glitches.
    ///   - exportTimeout: how long to wait for udev to create and permit `gpioN/` after export.
    public init(
        root: String,
        number: Int,
        direction: Direction,
        initialLevel: Bool = true,
        exportTimeout: Duration = .seconds(2)
    ) throws(GPIOError) {
        self.root = root
        self.number = number
        guard Self.exists(root) else { throw .rootMissing(root: root) }
        if !Self.exists(directory) {
            try Self.write("\(number)\n", to: "\(root)/export")
        }
        // udev creates the directory, then fixes its permissions: retry until both are done.
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: exportTimeout)
        let directionValue: String
        switch direction {
        case .input: directionValue = "in"
        case .output: directionValue = initialLevel ? "high" : "low"
        }
        while true {
            do {
                try Self.write(directionValue + "\n", to: "\(directory)/direction")
                break
            } catch {
                if clock.now >= deadline {
                    throw .exportFailed(line: number, root: root, detail: error.description)
                }
                usleep(20_000)
            }
        }
    }

    /// Reads the line: `true` for high.
    public func read() throws(GPIOError) -> Bool {
        let text = try Self.read(valuePath).trimmingWhitespace()
        switch text {
        case "0": return false
        case "1": return true
        default: throw .unexpectedValue(path: valuePath, value: text)
        }
    }

    /// Drives an output line high (`true`) or low.
    public func write(_ high: Bool) throws(GPIOError) {
        try Self.write(high ? "1\n" : "0\n", to: valuePath)
    }

    // MARK: - File access

    private static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    private static func write(_ text: String, to path: String) throws(GPIOError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(for: path) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw error(for: path) }
    }

    private static func read(_ path: String) throws(GPIOError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(for: path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw error(for: path) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    private static func error(for path: String) -> GPIOError {
        let code = errno
        if code == EACCES || code == EPERM { return .permissionDenied(path: path) }
        return .ioFailed(path: path, detail: String(cString: strerror(code)))
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
