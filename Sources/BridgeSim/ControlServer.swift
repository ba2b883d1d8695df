import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A line-oriented Unix stream socket: each line a client sends is handed to `handler`, and the
/// handler's answer goes back as one line. The commands themselves (`ControlCommand`) and what
/// they do (`SimulatedBoard.control`) live elsewhere; this is only the socket.
///
/// Any number of clients may be connected, one after the other or at once; each gets the answers
/// to its own lines, in order. Blank lines are ignored, a trailing CR is dropped (`socat` with
/// `crlf`), a line longer than `maximumLineLength` gets an error and the connection is closed.
/// The handler runs on the server's own thread, so a slow command holds up the others: commands
/// must not block (the board's only schedule things).
public final class ControlServer: Sendable {
    /// The longest line accepted, in bytes.
    public static let maximumLineLength = 4096

    /// The socket's path.
    public let path: String
    private let listener: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let logger: Logger
    private let stopping = NIOLockedValueBox(false)
    private let thread = NIOLockedValueBox<SimThread?>(nil)

    /// Creates the socket at `path` (replacing a stale socket nobody listens on) and listens;
    /// clients that connect wait until `start(handler:)`. Binding comes first so that a bad path
    /// is refused before anything else is set up.
    public init(path: String, logger: Logger) throws(SimulatorError) {
        let path = POSIX.absolutePath(path)
        self.path = path
        self.logger = logger

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw .controlSocket(
                path: path,
                reason:
                    "the path is \(pathBytes.count) bytes, a Unix socket's is at most \(capacity - 1): choose a shorter one"
            )
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        try Self.removeStaleSocket(path, address: address)

        #if canImport(Glibc)
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw .posix("cannot create the control socket") }
        POSIX.setCloseOnExec(fd)
        POSIX.setNonBlocking(fd)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let error = SimulatorError.posix(
                "cannot listen on the control socket \(path)", hint: "check that its directory exists and is writable")
            close(fd)
            throw error
        }
        listener = fd

        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            close(fd)
            unlink(path)
            throw .posix("cannot create the control server's wake-up pipe", hint: "too many open files?")
        }
        for pipeEnd in fds {
            POSIX.setCloseOnExec(pipeEnd)
            POSIX.setNonBlocking(pipeEnd)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    /// Creates the socket, as `init(path:logger:)`, and starts serving at once with `handler`.
    public convenience init(
        path: String, logger: Logger, handler: @escaping @Sendable (String) -> String
    ) throws(SimulatorError) {
        try self.init(path: path, logger: logger)
        do {
            try start(handler: handler)
        } catch {
            stop()
            throw error
        }
    }

    /// Starts answering clients, on a thread of the server's own. Call once.
    /// - Parameter handler: turns one line (without its line ending) into one answer line
    ///   (without its line ending).
    public func start(handler: @escaping @Sendable (String) -> String) throws(SimulatorError) {
        let started = try SimThread(name: "control") { [self] in serve(handler) }
        thread.withLockedValue { $0 = started }
    }

    deinit {
        close(listener)
        close(wakeRead)
        close(wakeWrite)
    }

    /// Stops serving, closes every connection and removes the socket file. Safe to call twice,
    /// and before `start`.
    public func stop() {
        let already = stopping.withLockedValue { stopping in
            defer { stopping = true }
            return stopping
        }
        if already { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        thread.withLockedValue { $0 }?.join()
        unlink(path)
    }

    /// A socket file left by an esp-sim that died is in the way of `bind`; one that still
    /// answers belongs to a live esp-sim and must not be taken over; anything else is not ours.
    private static func removeStaleSocket(_ path: String, address: sockaddr_un) throws(SimulatorError) {
        guard let mode = POSIX.lstatMode(path) else { return }
        guard mode == S_IFSOCK else {
            throw .controlSocket(path: path, reason: "exists and is not a socket; remove it or choose another path")
        }
        #if canImport(Glibc)
            let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let probe = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard probe >= 0 else { throw .posix("cannot create a socket") }
        defer { close(probe) }
        var address = address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 {
            throw .controlSocket(
                path: path, reason: "another process is listening on it; stop it or choose another path")
        }
        unlink(path)
    }

    // MARK: - The server's thread

    private struct Client {
        let fd: Int32
        var buffer: [UInt8] = []
    }

    private func serve(_ handler: @Sendable (String) -> String) {
        var clients: [Client] = []
        defer { for client in clients { close(client.fd) } }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !stopping.withLockedValue({ $0 }) {
            var fds =
                [
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                ] + clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno != EINTR { POSIX.sleep(milliseconds: 10) }
                continue
            }
            if fds[1].revents != 0 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    POSIX.setCloseOnExec(fd)
                    POSIX.setNonBlocking(fd)
                    clients.append(Client(fd: fd))
                }
            }
            var closed: Set<Int32> = []
            for (index, pollEntry) in fds.enumerated().dropFirst(2) where pollEntry.revents != 0 {
                let clientIndex = index - 2
                let fd = clients[clientIndex].fd
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if count > 0 { clients[clientIndex].buffer += chunk[0..<count] }
                // At end of input an unterminated last line still counts (`printf stats | socat`).
                if count <= 0 && !clients[clientIndex].buffer.isEmpty { clients[clientIndex].buffer.append(0x0A) }
                if !answerLines(of: &clients[clientIndex], handler) || count <= 0 { closed.insert(fd) }
            }
            for fd in closed { close(fd) }
            clients.removeAll { closed.contains($0.fd) }
        }
    }

    /// Answers every complete line in the client's buffer; `false` when the client is to be
    /// dropped (it sent an overlong line or does not take its answers).
    private func answerLines(of client: inout Client, _ handler: (String) -> String) -> Bool {
        while let newline = client.buffer.firstIndex(of: 0x0A) {
            let text = String(decoding: client.buffer[..<newline], as: UTF8.self).trimmingWhitespace()
            client.buffer.removeFirst(newline + 1)
            if text.isEmpty { continue }
            guard reply(handler(text), to: client.fd) else { return false }
        }
        if client.buffer.count > Self.maximumLineLength {
            _ = reply(
                "error: line longer than \(Self.maximumLineLength) bytes; send one command per line", to: client.fd)
            return false
        }
        return true
    }

    /// Writes `answer` and a newline. Answers are short and the socket's buffer large, so a
    /// write that cannot complete at once means a client that stopped reading: it is dropped
    /// rather than allowed to hold up the server.
    private func reply(_ answer: String, to fd: Int32) -> Bool {
        var bytes = Array((answer + "\n").utf8)[...]
        // No SIGPIPE for a client that hung up: an error return is enough.
        #if os(Linux)
            let flags = Int32(MSG_NOSIGNAL)
        #else
            let flags: Int32 = 0
        #endif
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, flags) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                logger.warning("control: a client does not read its answers; closing its connection")
                return false
            }
            bytes = bytes.dropFirst(written)
        }
        return true
    }
}
