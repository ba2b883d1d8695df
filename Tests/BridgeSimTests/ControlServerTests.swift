import Logging
import Testing

@testable import BridgeSim

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A connected client of a control socket, with blocking reads.
private struct Client {
    let fd: Int32

    init(path: String) throws {
        #if canImport(Glibc)
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8) + [0])
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(result == 0, "cannot connect to \(path)")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads until `count` lines have arrived (or the server closes).
    func lines(_ count: Int) -> [String] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while received.filter({ $0 == 0x0A }).count < count {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got <= 0 { break }
            received += buffer[0..<got]
        }
        return String(decoding: received, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func close() { closeDescriptor(fd) }
}

/// `close(2)`, out of reach of `Client.close` by name.
private func closeDescriptor(_ fd: Int32) {
    close(fd)
}

/// A fresh directory for the socket.
private func temporaryDirectory() -> String {
    var template = Array("/tmp/esp-sim-test.XXXXXX".utf8CString)
    _ = mkdtemp(&template)
    return String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

@Suite struct ControlServerTests {
    private let logger = Logger(label: "test")

    @Test func answersEachLineOfEachClientInOrder() throws {
        let directory = temporaryDirectory()
        let path = "\(directory)/control.sock"
        let server = try ControlServer(path: path, logger: logger) { line in
            do {
                return "ok \(try ControlCommand.parse(line))"
            } catch {
                return "error: \(error)"
            }
        }
        defer {
            server.stop()
            rmdir(directory)
        }

        let first = try Client(path: path)
        first.send("stats\n\ncut 1.5\r\nbogus\n")
        let answers = first.lines(3)
        #expect(answers.count == 3)
        #expect(answers[0] == "ok stats")
        #expect(answers[1] == "ok cut(seconds: 1.5)")
        #expect(answers[2].hasPrefix("error: unknown command \"bogus\""))

        // A second client at the same time, and a line that arrives in pieces.
        let second = try Client(path: path)
        second.send("wifi ")
        second.send("down\n")
        #expect(second.lines(1) == ["ok wifi(up: false)"])
        first.close()
        second.close()

        // A last line without a newline is still answered when the client stops sending.
        let third = try Client(path: path)
        third.send("reboot")
        shutdown(third.fd, Int32(SHUT_WR))
        #expect(third.lines(1) == ["ok reboot"])
        third.close()
    }

    @Test func refusesAnOverlongLine() throws {
        let directory = temporaryDirectory()
        let path = "\(directory)/c.sock"
        let server = try ControlServer(path: path, logger: logger) { _ in "ok" }
        defer {
            server.stop()
            rmdir(directory)
        }
        let client = try Client(path: path)
        client.send(String(repeating: "x", count: ControlServer.maximumLineLength + 10))
        let answer = client.lines(1)
        #expect(answer.first?.hasPrefix("error: line longer than") == true)
        client.close()
    }

    @Test func replacesAStaleSocketButNotALiveOneOrAFile() throws {
        let directory = temporaryDirectory()
        let path = "\(directory)/c.sock"
        defer { rmdir(directory) }

        let first = try ControlServer(path: path, logger: logger) { _ in "ok" }
        #expect(throws: SimulatorError.self) { try ControlServer(path: path, logger: logger) { _ in "ok" } }
        first.stop()
        #expect(POSIX.lstatMode(path) == nil, "stop removes the socket")

        // A socket file nobody listens on (left by a killed esp-sim) is taken over.
        #if canImport(Glibc)
            let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let stale = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(stale)
        #expect(POSIX.lstatMode(path) == S_IFSOCK)
        let second = try ControlServer(path: path, logger: logger) { _ in "ok" }
        second.stop()

        // A regular file is not ours to remove.
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        close(fd)
        #expect(throws: SimulatorError.self) { try ControlServer(path: path, logger: logger) { _ in "ok" } }
        unlink(path)

        let long = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: SimulatorError.self) { try ControlServer(path: long, logger: logger) { _ in "ok" } }
    }
}
