import ArgumentParser
import BridgeGPIO
import BridgeSim
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `esp-sim`: a simulated ESP8266 running the bridge firmware under the MicroPython Unix port,
/// behind a simulated UART (pseudo-terminals) and a fake sysfs GPIO tree. All the logic lives in
/// BridgeSim; this file parses the command line, prints the ready line and waits for a signal.
@main
struct ESPSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esp-sim",
        abstract: "Simulate an ESP8266 running the mqttbridge firmware, for tests without hardware.",
        discussion: """
            Point mqttbridged at it with `--device PATH --gpio-root DIR`. esp-sim prints one line \
            starting with "esp-sim ready:" on stdout once the link exists and the firmware is \
            starting, logs to stderr (firmware output as lines starting with "firmware: "), and \
            runs until SIGINT or SIGTERM.

            Without --baud the wire is ideal (as fast as the pseudo-terminals). With it, the wire \
            runs at the speeds the two ends set (10 bit-times per byte), garbles bytes while they \
            differ, and --ber adds bit errors. --control opens a socket for faults at run time \
            (cut, noise, hang, reboot, wifi, ber, baud, line-limit, stats); see docs/esp-sim.md.
            """
    )

    @Option(
        name: .long, help: ArgumentHelp("Symlink to create to the host side of the simulated UART.", valueName: "path"))
    var link: String

    @Option(
        name: .customLong("gpio-root"),
        help: ArgumentHelp("Directory for the fake sysfs GPIO tree (created if missing).", valueName: "dir"))
    var gpioRoot: String

    @Option(
        name: .long, help: ArgumentHelp("MicroPython heap size (an ESP8266 has about 36k free).", valueName: "size"))
    var heap: String = "36k"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Firmware directory holding main.py (default: $MQTTBRIDGE_FIRMWARE, else firmware/ found above the current directory or the executable).",
            valueName: "dir"))
    var firmware: String?

    @Option(
        name: .long,
        help: ArgumentHelp("MicroPython Unix port executable (default: micropython on PATH).", valueName: "path"))
    var micropython: String?

    @Option(
        name: .customLong("reset-gpio"),
        help: ArgumentHelp("GPIO number of RESET (host output, ESP RST).", valueName: "n"))
    var resetGPIO: Int = GPIODefaults.resetLine

    @Option(name: .customLong("ready-gpio"), help: ArgumentHelp("GPIO number of READY (ESP output).", valueName: "n"))
    var readyGPIO: Int = GPIODefaults.readyLine

    @Option(
        name: .customLong("state-dir"),
        help: ArgumentHelp(
            "The firmware's persistent state directory (default: a fresh temporary directory, removed on exit).",
            valueName: "dir"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("SSID of the simulated WiFi network.", valueName: "name"))
    var ssid: String = "mqttbridge-sim"

    @Option(name: .long, help: ArgumentHelp("Passphrase of the simulated WiFi network.", valueName: "pass"))
    var psk: String = ""

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Pace the wire like a UART: both ends start at this speed (the ESP again after every reset); the wire follows the speeds the two ends set and garbles bytes while they differ. Default: an ideal, unpaced wire.",
            valueName: "n"))
    var baud: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The fastest rate the line carries (a long cable, a slow level shifter): bytes sent faster arrive garbled even when both ends agree. Needs --baud. Default: no limit.",
            valueName: "n"))
    var lineLimit: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Bit error rate: the probability that each bit is flipped, both directions independently, e.g. 1e-4.",
            valueName: "x"))
    var ber: Double = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seed of the wire's faults (bit errors, garbled and noise bytes), to replay a run. Default: random, logged at start.",
            valueName: "n"))
    var seed: UInt64?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Unix socket taking control commands, one per line (cut, noise, hang, reboot, wifi, ber, baud, line-limit, stats, help).",
            valueName: "path"))
    var control: String?

    func validate() throws {
        guard resetGPIO >= 0, readyGPIO >= 0 else { throw ValidationError("GPIO numbers must not be negative") }
        guard resetGPIO != readyGPIO else {
            throw ValidationError("--reset-gpio and --ready-gpio are both \(resetGPIO); give them different numbers")
        }
        if let baud, !BaudRate.supported.contains(baud) {
            throw ValidationError(
                "--baud \(baud) is not supported: use one of \(BaudRate.supported.map(String.init).joined(separator: ", "))"
            )
        }
        if let lineLimit {
            guard baud != nil else {
                throw ValidationError("--line-limit needs --baud: only a paced wire looks at speeds")
            }
            guard BaudRate.supported.contains(lineLimit) else {
                throw ValidationError(
                    "--line-limit \(lineLimit) is not supported: use one of \(BaudRate.supported.map(String.init).joined(separator: ", "))"
                )
            }
        }
        guard ber.isFinite, ber >= 0, ber <= 1 else {
            throw ValidationError("--ber \(ber) is not a probability: give a number from 0 to 1, e.g. 1e-4")
        }
    }

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "esp-sim")

        // Block the stop signals before any thread exists, so every thread inherits the mask and
        // they are delivered only to the sigwait below (no async-signal-safety puzzles). The
        // firmware gets a clean mask back at spawn.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGINT)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
        // Writing to a pipe whose reader went away must be an error, not death.
        signal(SIGPIPE, SIG_IGN)

        let board: SimulatedBoard
        var controlServer: ControlServer?
        do {
            let environment = Self.environment()
            let firmwareDirectory = try ToolLocator.firmwareDirectory(
                explicit: firmware,
                environment: environment,
                currentDirectory: Self.currentDirectory(),
                executablePath: ToolLocator.executablePath()
            )
            let micropythonPath = try ToolLocator.micropython(explicit: micropython, searchPath: environment["PATH"])
            // Bound before the board exists, so a bad --control fails before the firmware boots;
            // it answers once the board is up.
            controlServer = try control.map { path throws(SimulatorError) in
                try ControlServer(path: path, logger: logger)
            }
            var configuration = SimulatedBoardConfiguration(
                linkPath: link,
                gpioRoot: gpioRoot,
                micropython: micropythonPath,
                firmwareDirectory: firmwareDirectory
            )
            configuration.heapSize = heap
            configuration.resetLine = resetGPIO
            configuration.readyLine = readyGPIO
            configuration.stateDirectory = stateDir
            configuration.ssid = ssid
            configuration.psk = psk
            configuration.baud = baud
            configuration.bitErrorRate = ber
            configuration.lineLimit = lineLimit
            if let seed { configuration.seed = seed }
            board = try SimulatedBoard.start(
                configuration, logger: logger,
                firmwareOutput: { line in
                    Self.writeAll(2, "firmware: \(line)\n")
                })
            do {
                try controlServer?.start { [board] line in board.control(line) }
            } catch {
                board.stop()
                throw error
            }
        } catch {
            controlServer?.stop()
            Self.writeAll(2, "esp-sim: error: \(error)\n")
            throw ExitCode.failure
        }

        let config = board.configuration
        // One line, written with a single write(2): scripts wait for it and parse key=value.
        let controlField = controlServer.map { " control=\($0.path)" } ?? ""
        Self.writeAll(
            1,
            "esp-sim ready: link=\(config.linkPath) gpio-root=\(config.gpioRoot) reset=\(config.resetLine) ready=\(config.readyLine) firmware-pid=\(board.firmwarePID.map(String.init) ?? "none")\(controlField)\n"
        )

        var received: Int32 = 0
        while sigwait(&stopSignals, &received) != 0 {}
        logger.info("received \(received == SIGINT ? "SIGINT" : "SIGTERM"), stopping")
        controlServer?.stop()
        board.stop()
    }

    /// The process environment as a dictionary (read once at start).
    private static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "/" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `text` to `fd` completely, bypassing stdio buffering.
    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
