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
    /// How often RESET's value is read. A RESET pulse must stay low at least twice this long to
    /// be seen for certain.
    public var resetPollMilliseconds: Int = 5
    /// How long a board whose firmware died stays down before it boots again.
    public var rebootDelayMilliseconds: Int = 500
    /// Bytes the wire holds for a receiver that does not read (beyond the kernel's PTY buffer)
    /// before it drops them as a UART overrun would.
    public var receiverBufferLimit: Int = 64 * 1024
    /// Fault stages on the wire, per direction (none: a perfect, infinitely fast wire).
    public var wireStages: [WireDirection: [any WireStage]] = [:]

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
public final class SimulatedBoard: Sendable {
    private struct Shared {
        var firmwarePID: pid_t?
        var stopping = false
        var stopped = false
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

    private let host: PseudoTerminal
    private let esp: PseudoTerminal
    private let launch: FirmwareLaunch
    private let removeStateDirectoryOnStop: Bool
    private let logger: Logger
    private let output: @Sendable (String) -> Void
    private let shared = NIOLockedValueBox(Shared())
    private let supervisor = NIOLockedValueBox<SimThread?>(nil)

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

        host = try PseudoTerminal()
        esp = try PseudoTerminal()
        hostReplicaPath = host.replicaPath
        espReplicaPath = esp.replicaPath
        wire = try Wire(
            host: host, esp: esp, stages: configuration.wireStages,
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
            ]
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
    /// between running, held in reset and rebooting.
    private func supervise(_ firstFirmware: FirmwareProcess) {
        var phase = Phase.running(firstFirmware)
        let line = "gpio\(configuration.resetLine)"
        while !shared.withLockedValue({ $0.stopping }) {
            POSIX.sleep(milliseconds: configuration.resetPollMilliseconds)
            // nil (unreadable for a moment) changes nothing.
            let level = gpio.resetPinLevel()
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
                }
            case .heldInReset:
                if level == true {
                    logger.info("RESET released (\(line) high): booting")
                    phase = bootOrRetry(.external)
                }
            case .rebooting(let at, let cause):
                if level == false {
                    logger.info("RESET asserted (\(line) low) while rebooting: ESP held in reset")
                    phase = .heldInReset
                } else if POSIX.monotonicNanoseconds() >= at {
                    phase = bootOrRetry(cause)
                }
            }
        }
        if case .running(let firmware) = phase {
            let ended = firmware.kill()
            logger.info("firmware pid \(firmware.pid) stopped (\(ended))")
        }
        powerDown()
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
        let noise = BootNoise.generate(cause: cause)
        wire.inject(noise, .espToHost)
        // Whatever reached the ESP's UART before this boot is gone on a real chip, and its UART
        // starts again at 115200 raw, whatever the last run set.
        esp.discardUnreadInput()
        esp.restoreLineSettings()
        wire.setReceiverListening(true, .hostToESP)
        let firmware = try FirmwareProcess(launch: launch, resetCause: cause, output: output)
        shared.withLockedValue { $0.firmwarePID = firmware.pid }
        logger.info(
            "firmware booted: pid \(firmware.pid), reset cause \(cause.rawValue) (\(cause)), \(noise.count) bytes of boot noise sent to the host"
        )
        return firmware
    }

    /// The chip is not running (held in reset, rebooting, or stopped): it hears nothing, its
    /// UART buffer is empty, READY reads 0.
    private func powerDown() {
        shared.withLockedValue { $0.firmwarePID = nil }
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
