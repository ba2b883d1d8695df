import BridgeGPIO
import Logging
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

/// Everything that defines one simulated board.
public struct SimulatedBoardConfiguration: Sendable {
    /// Where the symlink to the host side's PTY replica goes (the daemon's `--device`).
    public var linkPath: String
    /// The fake sysfs GPIO directory (the daemon's `--gpio-root`).
    public var gpioRoot: String
    /// GPIO number of RESET (host output → ESP RST pin, active low).
    public var resetLine: Int = GPIODefaults.resetLine
    /// GPIO number of READY (ESP output → host: firmware running).
    public var readyLine: Int = GPIODefaults.readyLine
    /// The MicroPython Unix port executable.
    public var micropython: String
    /// The directory holding the firmware's `main.py`.
    public var firmwareDirectory: String
    /// MicroPython heap size, e.g. `36k`.
    public var heapSize: String = "36k"
    /// The firmware's persistent storage (its "flash"); `nil` means a fresh temporary directory
    /// that is removed again on stop.
    public var stateDirectory: String?
    /// The WiFi network the simulated radio "sees" (`BRIDGE_SIM_SSID`).
    public var ssid: String = "mqttbridge-sim"
    /// That network's passphrase (`BRIDGE_SIM_PSK`).
    public var psk: String = ""
    /// That network's DNS server, `a.b.c.d[:port]` (`BRIDGE_DNS`), which the firmware asks for an
    /// NTP server given by name: esp-sim's own `BRIDGE_DNS`, else the host's first IPv4
    /// `nameserver` (the simulated board's network is the host's); `nil` leaves the firmware's
    /// default.
    public var dnsServer: String? = Self.hostDNSServer()
    /// How often RESET's value is read. A RESET pulse must stay low at least twice this long to
    /// be seen for certain.
    public var resetPollMilliseconds: Int = 5
    /// How long a board whose firmware died stays down before it boots again.
    public var rebootDelayMilliseconds: Int = 500
    /// Bytes the wire holds for a receiver that does not read (beyond the kernel's PTY buffer)
    /// before it drops them as a UART overrun would.
    public var receiverBufferLimit: Int = 64 * 1024
    /// More stages on the wire, per direction, after the board's own (line cut, speed mismatch,
    /// bit errors, the frozen firmware's FIFO), which do nothing until asked to.
    public var wireStages: [WireDirection: [any WireStage]] = [:]
    /// The speed both ends of the wire start at, and the ESP returns to after every reset. Given,
    /// the wire is paced at the speeds the two ends set and garbles bytes while they differ;
    /// `nil` (the default): an ideal wire, as fast as the PTYs, both ends at 115200 for show.
    public var baud: Int?
    /// The fastest rate the line carries: bytes sent faster arrive garbled (`nil`: no limit).
    /// Only a paced wire (`baud`) looks at speeds at all.
    public var lineLimit: Int?
    /// The probability that a bit is flipped, in each direction independently (0: none).
    public var bitErrorRate: Double = 0
    /// Seeds every random choice of the wire's faults (bit errors, garbled and noise bytes), so
    /// that a run can be replayed. Boot noise stays random: it does not depend on the seed.
    public var seed = UInt64.random(in: UInt64.min...UInt64.max)

    static func hostDNSServer() -> String? {
        if let value = getenv("BRIDGE_DNS") { return String(cString: value) }
        guard let data = FileManager.default.contents(atPath: "/etc/resolv.conf") else { return nil }
        return firstIPv4Nameserver(in: String(decoding: data, as: UTF8.self))
    }

    /// The address of the first `nameserver` line with an IPv4 address in resolv.conf's `text`.
    static func firstIPv4Nameserver(in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { continue }
            let parts = words[1].split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) { return String(words[1]) }
        }
        return nil
    }

    public init(linkPath: String, gpioRoot: String, micropython: String, firmwareDirectory: String) {
        self.linkPath = linkPath
        self.gpioRoot = gpioRoot
        self.micropython = micropython
        self.firmwareDirectory = firmwareDirectory
    }

    /// Checks the heap size the way MicroPython parses `-X heapsize=`: digits with an optional
    /// `k`/`K`/`m`/`M` suffix. Catching it here gives a clear error instead of a firmware that
    /// exits at once and reboots forever.
    static func validateHeapSize(_ size: String) throws(SimulatorError) {
        var digits = Substring(size)
        if let last = digits.last, "kKmM".contains(last) { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), Int(digits).map({ $0 > 0 }) == true
        else {
            throw .invalidHeapSize(size)
        }
    }
}

/// A simulated ESP8266 running the bridge firmware, as the daemon sees it: a serial device (a PTY
/// behind `linkPath`) and two GPIO lines (files under `gpioRoot`).
///
/// Parts: two `PseudoTerminal`s joined by a `Wire`, a `FakeGPIOTree`, and a supervisor thread
/// that plays the chip: it watches RESET, kills and restarts the `FirmwareProcess`, drives READY
/// low while the firmware is not running, and puts `BootNoise` on the wire at every boot.
///
/// Boots, always preceded by boot noise towards the host:
/// - at start: reset cause 0 (power-on);
/// - when RESET returns high after being low: reset cause 6 (external);
/// - `rebootDelayMilliseconds` after the firmware exited by itself: reset cause 2 (exception).
/// While the firmware is not running, bytes from the host are discarded (a chip in reset receives
/// nothing) and READY reads 0; the firmware itself drives READY to 1 once it is up.
///
/// The wire's faults and the firmware's fate can be changed while it runs with `control(_:)`
/// (esp-sim's control socket: line cuts, noise, bit errors, speeds, freezing and rebooting the
/// firmware, WiFi loss); docs/esp-sim.md describes the commands.
public final class SimulatedBoard: Sendable {
    /// What the simulated chip is doing, as the control socket reports it.
    public enum FirmwareState: String, Sendable {
        /// The firmware runs.
        case running
        /// The firmware is stopped by a `hang` command (SIGSTOP), not reset.
        case frozen
        /// RESET is low.
        case heldInReset = "held-in-reset"
        /// The firmware died or was rebooted and is about to start again.
        case rebooting
        /// The board is stopped.
        case stopped
    }

    struct Shared {
        var firmwarePID: pid_t?
        var state = FirmwareState.running
        var stopping = false
        var stopped = false
        /// Boots since power-on, the first included.
        var boots = 0
        /// The speed the ESP's UART returns to at every boot.
        var startBaud: Int
        /// Requests from the control socket for the supervisor, which alone touches the process.
        var hangUntil: UInt64?
        var rebootRequested = false
        var noiseRandom: SeededRandom
        var noise: [WireDirection: UInt64] = [:]
        var bootNoise: UInt64 = 0
    }

    /// The configuration the board was started with (paths made absolute).
    public let configuration: SimulatedBoardConfiguration
    /// The replica path the daemon opens through `linkPath`.
    public let hostReplicaPath: String
    /// The replica path the firmware opens (`BRIDGE_UART`).
    public let espReplicaPath: String
    /// The firmware's state directory (`BRIDGE_STATE_DIR`).
    public let stateDirectory: String
    /// The simulated wire, for its statistics.
    public let wire: Wire
    /// The fake GPIO tree.
    public let gpio: FakeGPIOTree

    let host: PseudoTerminal
    let esp: PseudoTerminal
    private let launch: FirmwareLaunch
    private let removeStateDirectoryOnStop: Bool
    let logger: Logger
    private let output: @Sendable (String) -> Void
    let shared: NIOLockedValueBox<Shared>
    private let supervisor = NIOLockedValueBox<SimThread?>(nil)

    /// The speeds of both ends, and whether the wire goes by them.
    let speeds: LineSpeeds
    let lineCut = LineCut()
    let garbler: SpeedMismatchGarbler
    let bitErrors: [WireDirection: BitErrorInjector]
    let frozenFIFO: FrozenReceiverFIFO

    /// The running firmware's process id; `nil` while the board is in reset or rebooting.
    public var firmwarePID: pid_t? { shared.withLockedValue { $0.firmwarePID } }

    /// Builds the board and powers it on: PTYs, link symlink, GPIO tree, state directory, wire,
    /// and the first firmware run (reset cause 0). When this returns, the daemon can open
    /// `linkPath` and the firmware is starting.
    /// - Parameter firmwareOutput: receives each line the firmware prints.
    public static func start(
        _ configuration: SimulatedBoardConfiguration,
        logger: Logger,
        firmwareOutput: @escaping @Sendable (String) -> Void
    ) throws(SimulatorError) -> SimulatedBoard {
        let board = try SimulatedBoard(configuration, logger: logger, output: firmwareOutput)
        do {
            try board.powerOn()
        } catch {
            board.stop()
            throw error
        }
        return board
    }

    private init(
        _ configuration: SimulatedBoardConfiguration,
        logger: Logger,
        output: @escaping @Sendable (String) -> Void
    ) throws(SimulatorError) {
        try SimulatedBoardConfiguration.validateHeapSize(configuration.heapSize)
        if let baud = configuration.baud, BaudRate.constant(for: baud) == nil { throw .unsupportedBaudRate(baud) }
        guard configuration.bitErrorRate >= 0, configuration.bitErrorRate <= 1 else {
            throw .invalidBitErrorRate(configuration.bitErrorRate)
        }
        var configuration = configuration
        configuration.linkPath = POSIX.absolutePath(configuration.linkPath)
        configuration.gpioRoot = POSIX.absolutePath(configuration.gpioRoot)
        self.configuration = configuration
        self.logger = logger
        self.output = output

        // Refuse before creating anything, so a typo'd --link cannot leave litter behind.
        if let mode = POSIX.lstatMode(configuration.linkPath), mode != S_IFLNK {
            throw .linkPathOccupied(configuration.linkPath)
        }

        gpio = FakeGPIOTree(
            root: configuration.gpioRoot, resetLine: configuration.resetLine, readyLine: configuration.readyLine)
        try gpio.create()

        if let requested = configuration.stateDirectory {
            stateDirectory = POSIX.absolutePath(requested)
            try POSIX.makeDirectories(stateDirectory)
            removeStateDirectoryOnStop = false
        } else {
            let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            var template = Array("\(base)/esp-sim-state.XXXXXX".utf8CString)
            guard mkdtemp(&template) != nil else {
                throw .posix(
                    "cannot create a state directory in \(base)",
                    hint: "pass --state-dir DIR or set TMPDIR to a writable directory")
            }
            stateDirectory = POSIX.string(fromCString: template)
            removeStateDirectoryOnStop = true
        }

        let startBaud = configuration.baud ?? 115_200
        shared = NIOLockedValueBox(
            Shared(startBaud: startBaud, noiseRandom: SeededRandom(seed: configuration.seed, stream: 4)))
        let host = try PseudoTerminal(baud: startBaud)
        let esp = try PseudoTerminal(baud: startBaud)
        self.host = host
        self.esp = esp
        hostReplicaPath = host.replicaPath
        espReplicaPath = esp.replicaPath

        // The board's faults, all idle until configured or commanded. Order matters: a cut line
        // carries nothing to garble, and the frozen firmware's FIFO sees what survived the line.
        let speeds = LineSpeeds(host: host, esp: esp, tracking: configuration.baud != nil)
        self.speeds = speeds
        garbler = SpeedMismatchGarbler(random: SeededRandom(seed: configuration.seed, stream: 3)) { speeds.ends($0) }
        garbler.lineLimit = configuration.lineLimit
        bitErrors = [
            .hostToESP: BitErrorInjector(
                rate: configuration.bitErrorRate, random: SeededRandom(seed: configuration.seed, stream: 1)),
            .espToHost: BitErrorInjector(
                rate: configuration.bitErrorRate, random: SeededRandom(seed: configuration.seed, stream: 2)),
        ]
        let shared = shared
        frozenFIFO = FrozenReceiverFIFO(
            isFrozen: { shared.withLockedValue { $0.state == .frozen } }, unread: { esp.unreadInputCount })
        var stages: [WireDirection: [any WireStage]] = [:]
        for direction in WireDirection.allCases {
            stages[direction] =
                [lineCut, garbler, bitErrors[direction]!] + (direction == .hostToESP ? [frozenFIFO] : [])
                + (configuration.wireStages[direction] ?? [])
        }
        wire = try Wire(
            host: host, esp: esp, stages: stages, speeds: speeds,
            receiverBufferLimit: configuration.receiverBufferLimit, logger: logger)
        launch = FirmwareLaunch(
            micropython: configuration.micropython,
            heapSize: configuration.heapSize,
            firmwareDirectory: configuration.firmwareDirectory,
            environment: [
                "BRIDGE_UART": esp.replicaPath,
                "BRIDGE_GPIO_ROOT": configuration.gpioRoot,
                "BRIDGE_READY_GPIO": String(configuration.readyLine),
                "BRIDGE_STATE_DIR": stateDirectory,
                "BRIDGE_SIM_SSID": configuration.ssid,
                "BRIDGE_SIM_PSK": configuration.psk,
            ].merging(configuration.dnsServer.map { ["BRIDGE_DNS": $0] } ?? [:]) { first, _ in first }
        )
    }

    private func powerOn() throws(SimulatorError) {
        try placeLink()
        try wire.start()
        logger.info(
            "board powered on",
            metadata: [
                "link": "\(configuration.linkPath) -> \(hostReplicaPath)",
                "esp-uart": "\(espReplicaPath)",
                "gpio-root": "\(configuration.gpioRoot)",
                "state-dir": "\(stateDirectory)",
                "firmware": "\(launch.arguments.joined(separator: " "))",
                "wire": "\(wireDescription)",
                "seed": "\(configuration.seed)",
            ])
        // The first boot runs here rather than on the supervisor thread so that a firmware that
        // cannot be started at all fails `start` with an error instead of a reboot loop, and so
        // the caller knows its pid.
        let firmware = try boot(.powerOn)
        do {
            let thread = try SimThread(name: "board") { [self] in supervise(firmware) }
            supervisor.withLockedValue { $0 = thread }
        } catch {
            firmware.kill()
            throw error
        }
    }

    /// Makes `linkPath` a symlink to the host replica, replacing an older symlink atomically
    /// (a daemon retrying its open never sees the path missing).
    private func placeLink() throws(SimulatorError) {
        let path = configuration.linkPath
        try POSIX.makeDirectories(POSIX.directoryName(path))
        if let mode = POSIX.lstatMode(path), mode != S_IFLNK { throw .linkPathOccupied(path) }
        let temporary = "\(path).esp-sim-\(getpid())"
        unlink(temporary)
        guard symlink(hostReplicaPath, temporary) == 0 else {
            throw .posix("cannot create symlink \(temporary)", hint: "check that the directory of --link is writable")
        }
        guard rename(temporary, path) == 0 else {
            let error = SimulatorError.posix(
                "cannot move symlink into place at \(path)", hint: "check that the directory of --link is writable")
            unlink(temporary)
            throw error
        }
    }

    /// The wire's settings in a few words, for the log.
    private var wireDescription: String {
        let pacing = configuration.baud.map { "paced, both ends start at \($0) baud" } ?? "ideal (not paced)"
        let errors = configuration.bitErrorRate > 0 ? ", bit error rate \(configuration.bitErrorRate)" : ""
        let limit = configuration.lineLimit.map { ", carries at most \($0) baud" } ?? ""
        return pacing + errors + limit
    }

    /// Stops the board: kills the firmware, stops the wire, removes the link symlink (if it is
    /// still ours) and a temporary state directory. Safe to call more than once.
    public func stop() {
        let alreadyStopped = shared.withLockedValue { state in
            defer {
                state.stopping = true
                state.stopped = true
            }
            return state.stopped
        }
        if alreadyStopped { return }
        // The supervisor kills the firmware on its way out; it is the only thread that touches
        // the firmware process once started.
        supervisor.withLockedValue { $0 }?.join()
        shared.withLockedValue { $0.state = .stopped }
        wire.stop()
        if POSIX.readLink(configuration.linkPath) == hostReplicaPath {
            unlink(configuration.linkPath)
        }
        if removeStateDirectoryOnStop {
            try? FileManager.default.removeItem(atPath: stateDirectory)
        }
        logger.info("board stopped")
    }

    // MARK: - The chip

    private enum Phase {
        case running(FirmwareProcess)
        case heldInReset
        case rebooting(atNanoseconds: UInt64, cause: ResetCause)
    }

    /// The supervisor loop: samples RESET every `resetPollMilliseconds` and moves the board
    /// between running, held in reset and rebooting; carries out the control socket's `hang` and
    /// `reboot` requests (it alone touches the firmware process, so a request can never signal a
    /// process that has just been replaced).
    private func supervise(_ firstFirmware: FirmwareProcess) {
        var phase = Phase.running(firstFirmware)
        var frozenUntil: UInt64?
        let line = "gpio\(configuration.resetLine)"
        while !shared.withLockedValue({ $0.stopping }) {
            POSIX.sleep(milliseconds: configuration.resetPollMilliseconds)
            // nil (unreadable for a moment) changes nothing.
            let level = gpio.resetPinLevel()
            let (hangUntil, rebootRequested) = shared.withLockedValue { state in
                defer {
                    state.hangUntil = nil
                    state.rebootRequested = false
                }
                return (state.hangUntil, state.rebootRequested)
            }
            switch phase {
            case .running(let firmware):
                if level == false {
                    let ended = firmware.kill()
                    powerDown()
                    logger.info(
                        "RESET asserted (\(line) low): firmware pid \(firmware.pid) stopped (\(ended)), READY low, ESP held in reset"
                    )
                    phase = .heldInReset
                } else if let ended = firmware.checkExit() {
                    powerDown()
                    logger.warning(
                        "firmware pid \(firmware.pid) exited by itself (\(ended)); READY low, rebooting in \(configuration.rebootDelayMilliseconds) ms with reset cause \(ResetCause.exception.rawValue)"
                    )
                    phase = .rebooting(
                        atNanoseconds: deadline(configuration.rebootDelayMilliseconds), cause: .exception)
                } else if rebootRequested {
                    let ended = firmware.kill()
                    powerDown()
                    logger.warning(
                        "reboot requested: firmware pid \(firmware.pid) stopped (\(ended)) as if it had crashed; READY low, rebooting in \(configuration.rebootDelayMilliseconds) ms with reset cause \(ResetCause.exception.rawValue)"
                    )
                    phase = .rebooting(
                        atNanoseconds: deadline(configuration.rebootDelayMilliseconds), cause: .exception)
                } else {
                    frozenUntil = freezeOrThaw(firmware, frozenUntil: frozenUntil, request: hangUntil)
                }
            case .heldInReset:
                ignoreRequests(hang: hangUntil, reboot: rebootRequested)
                if level == true {
                    logger.info("RESET released (\(line) high): booting")
                    phase = bootOrRetry(.external)
                }
            case .rebooting(let at, let cause):
                ignoreRequests(hang: hangUntil, reboot: rebootRequested)
                if level == false {
                    logger.info("RESET asserted (\(line) low) while rebooting: ESP held in reset")
                    phase = .heldInReset
                } else if POSIX.monotonicNanoseconds() >= at {
                    phase = bootOrRetry(cause)
                }
            }
            // Publish what the chip is doing for the control socket and the frozen FIFO.
            let state: FirmwareState
            switch phase {
            case .running: state = frozenUntil == nil ? .running : .frozen
            case .heldInReset: state = .heldInReset
            case .rebooting: state = .rebooting
            }
            if state != .running && state != .frozen { frozenUntil = nil }
            shared.withLockedValue { $0.state = state }
        }
        if case .running(let firmware) = phase {
            let ended = firmware.kill()
            logger.info("firmware pid \(firmware.pid) stopped (\(ended))")
        }
        powerDown()
    }

    /// The control socket checks that the firmware runs before it asks, but the chip may have
    /// moved on within the supervisor's step: say so rather than drop the request silently.
    private func ignoreRequests(hang: UInt64?, reboot: Bool) {
        if hang != nil { logger.warning("hang request ignored: the firmware stopped running meanwhile") }
        if reboot { logger.warning("reboot request ignored: the firmware stopped running meanwhile") }
    }

    /// Carries out a `hang` request and ends a hang whose time is up; returns when the firmware
    /// is to be thawed (`nil`: it is not frozen). SIGSTOP and SIGCONT go to the process group, as
    /// the kill at reset does.
    private func freezeOrThaw(_ firmware: FirmwareProcess, frozenUntil: UInt64?, request: UInt64?) -> UInt64? {
        var frozenUntil = frozenUntil
        let now = POSIX.monotonicNanoseconds()
        if let request {
            if request > now {
                if frozenUntil == nil {
                    kill(-firmware.pid, SIGSTOP)
                    shared.withLockedValue { $0.state = .frozen }
                    logger.warning(
                        "firmware pid \(firmware.pid) frozen (SIGSTOP) for \(Self.seconds(request - now)) s; READY stays as it is, bytes beyond its \(FrozenReceiverFIFO.capacity)-byte UART FIFO are lost"
                    )
                }
                frozenUntil = request
            } else if frozenUntil != nil {
                frozenUntil = now  // `hang 0`: thaw now
            }
        }
        if let until = frozenUntil, now >= until {
            kill(-firmware.pid, SIGCONT)
            shared.withLockedValue { $0.state = .running }
            logger.info(
                "firmware pid \(firmware.pid) thawed (SIGCONT); \(frozenFIFO.dropped) bytes lost to its full FIFO so far"
            )
            return nil
        }
        return frozenUntil
    }

    private func bootOrRetry(_ cause: ResetCause) -> Phase {
        do {
            return .running(try boot(cause))
        } catch {
            powerDown()
            logger.error("cannot boot the firmware: \(error); trying again in 2 s")
            return .rebooting(atNanoseconds: deadline(2000), cause: cause)
        }
    }

    /// One boot: the ROM's noise on the host's line, then the firmware.
    private func boot(_ cause: ResetCause) throws(SimulatorError) -> FirmwareProcess {
        // Whatever reached the ESP's UART before this boot is gone on a real chip, and its UART
        // starts again raw at the start speed, whatever the last run set. That comes first, so
        // that a paced wire sends the boot noise at the start speed (garbage to a host that had
        // switched to another one, as it should be).
        esp.discardUnreadInput()
        esp.restoreLineSettings(baud: shared.withLockedValue { $0.startBaud })
        speeds.invalidate()
        let noise = BootNoise.generate(cause: cause)
        wire.inject(noise, .espToHost)
        wire.setReceiverListening(true, .hostToESP)
        let firmware = try FirmwareProcess(launch: launch, resetCause: cause, output: output)
        shared.withLockedValue {
            $0.firmwarePID = firmware.pid
            $0.state = .running
            $0.boots += 1
            $0.bootNoise += UInt64(noise.count)
        }
        logger.info(
            "firmware booted: pid \(firmware.pid), reset cause \(cause.rawValue) (\(cause)), \(noise.count) bytes of boot noise sent to the host"
        )
        return firmware
    }

    /// The chip is not running (held in reset, rebooting, or stopped): it hears nothing, its
    /// UART buffer is empty, READY reads 0.
    private func powerDown() {
        shared.withLockedValue { state in
            state.firmwarePID = nil
            // Until the supervisor publishes the phase at the end of its step: not running.
            state.state = state.stopping ? .stopped : .rebooting
        }
        wire.setReceiverListening(false, .hostToESP)
        esp.discardUnreadInput()
        do {
            try gpio.setReadyLow()
        } catch {
            logger.error("cannot drive READY low: \(error)")
        }
    }

    private func deadline(_ milliseconds: Int) -> UInt64 {
        POSIX.monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
    }
}
