#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Small-file access for sysfs attributes (and the fake trees that stand in for them): whole
/// reads and writes with one system call each, errors mapped to ``GPIOError``.
enum SysfsFile {
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func write(_ text: String, to path: String) throws(GPIOError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(for: path) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw error(for: path) }
    }

    static func read(_ path: String) throws(GPIOError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw error(for: path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw error(for: path) }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingWhitespace()
    }

    /// The names in a directory, without `.` and `..`; empty when it cannot be read.
    static func entries(of directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `errno` after a failed call on `path`, as the error a user can act on.
    static func error(for path: String) -> GPIOError {
        let code = errno
        if code == EACCES || code == EPERM { return .permissionDenied(path: path) }
        return .ioFailed(path: path, detail: String(cString: strerror(code)))
    }
}

extension String {
    /// The string without leading and trailing whitespace (sysfs values end in a newline).
    func trimmingWhitespace() -> String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
