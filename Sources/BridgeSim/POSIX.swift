#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small wrappers around the system calls the simulator repeats, so the interesting files read as
/// logic rather than errno plumbing.
enum POSIX {
    /// Marks `fd` close-on-exec so the firmware child never inherits the simulator's descriptors
    /// (an inherited PTY master would keep the wire "connected" after esp-sim dies).
    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    /// Puts `fd` in non-blocking mode; the relay relies on `poll` and never blocks in `read`/`write`.
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    /// Reads a small file (a sysfs-style attribute) whole; `nil` if it cannot be opened or read.
    /// Opened anew every time on purpose: the daemon may replace the file, and a held descriptor
    /// would keep reading the old inode.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Writes `text` into the file at `path` *in place*: one `pwrite` at offset 0, then a
    /// truncate to the new length. Unlike `O_TRUNC` + write there is no moment at which a reader
    /// sees an empty file, and unlike write-and-rename a reader that keeps the file open (as
    /// sysfs users do) sees the change.
    static func writeFileInPlace(_ path: String, _ text: String) throws(SimulatorError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw .posix("cannot open \(path) for writing", hint: "check that the --gpio-root directory is writable")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw .posix("cannot write \(path)") }
        guard ftruncate(fd, off_t(bytes.count)) == 0 else { throw .posix("cannot truncate \(path)") }
    }

    /// Creates `path` and its missing parents (like `mkdir -p`).
    static func makeDirectories(_ path: String) throws(SimulatorError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .posix("cannot create directory \(prefix)", hint: "choose a writable location")
            }
            prefix += "/"
        }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw .system(operation: "cannot use \(path) as a directory", errno: ENOTDIR, hint: "choose another path")
        }
    }

    /// Whether something exists at `path` (without following a final symlink).
    static func lstatMode(_ path: String) -> mode_t? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return info.st_mode & S_IFMT
    }

    /// Whether `path` is a regular file that this process may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// Whether `path` is an existing regular file.
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The target of the symlink at `path`, or `nil` if it is not a readable symlink.
    static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The text of a NUL-terminated C string held in an array.
    static func string(fromCString buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The process's current directory.
    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return string(fromCString: buffer)
    }

    /// `path` made absolute against the current directory (symlinks are left alone: the caller
    /// asked for that name, not its target).
    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let base = currentDirectory()
        return base == "/" ? "/" + path : base + "/" + path
    }

    /// The directory part of `path` (`"."` when there is none).
    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Current value of a monotonic clock in nanoseconds; used for all simulator deadlines so a
    /// wall-clock jump cannot reboot the board early or late.
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Sends SIGKILL to the process group led by `pid` (and to `pid` itself should it have left
    /// the group).
    static func killProcessGroup(_ pid: pid_t) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
    }

    /// Sleeps for `milliseconds`, resuming after signals.
    static func sleep(milliseconds: Int) {
        sleep(nanoseconds: UInt64(max(0, milliseconds)) * 1_000_000)
    }

    /// Sleeps for `nanoseconds`, resuming after signals.
    static func sleep(nanoseconds: UInt64) {
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
