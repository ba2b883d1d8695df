#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The control socket's commands, carried out on a running board (docs/esp-sim.md).
///
/// Every command returns at once: timed ones (`cut`, `hang`) set a deadline that the wire or the
/// supervisor honours, and `hang`/`reboot` are requests the supervisor carries out within
/// `resetPollMilliseconds`, because it alone may signal the firmware process.
extension SimulatedBoard {
    /// Carries out one line of the control protocol and returns the answer line: `ok …` or
    /// `error: …`. Logs what was done.
    public func control(_ line: String) -> String {
        let answer: String
        do {
            let command = try ControlCommand.parse(line)
            answer = execute(command)
            if case .stats = command {
                return answer  // polled by scripts: not worth a log line each time
            }
        } catch {
            answer = "error: \(error)"
        }
        logger.info("control: \(line) -> \(answer)")
        return answer
    }

    /// Carries out `command`; returns the answer line.
    public func execute(_ command: ControlCommand) -> String {
        let state = shared.withLockedValue { $0.state }
        if state == .stopped { return "error: the board is stopped" }
        switch command {
        case .cut(let seconds):
            lineCut.cut(seconds: seconds)
            return seconds > 0 ? "ok line cut for \(seconds) s" : "ok line whole again"

        case .noise(let count, let target):
            for direction in target.directions {
                let bytes = shared.withLockedValue { state in
                    state.noise[direction, default: 0] += UInt64(count)
                    return LineNoise.bytes(count, using: &state.noiseRandom)
                }
                wire.inject(bytes, direction)
            }
            return "ok \(count) noise bytes \(target.rawValue)"

        case .hang(let seconds):
            guard state == .running || state == .frozen else {
                return "error: the firmware is not running (\(state.rawValue)); hang needs a running firmware"
            }
            let until = POSIX.monotonicNanoseconds() + LineCut.nanoseconds(seconds)
            shared.withLockedValue { $0.hangUntil = until }
            if seconds == 0 { return state == .frozen ? "ok firmware thawed" : "ok firmware was not frozen" }
            return
                "ok firmware frozen for \(seconds) s; its UART keeps \(FrozenReceiverFIFO.capacity) bytes, the rest is lost"

        case .reboot:
            switch state {
            case .running, .frozen:
                shared.withLockedValue { $0.rebootRequested = true }
                return
                    "ok firmware rebooting as after a crash: reset cause \(ResetCause.exception.rawValue), boot noise, up in \(configuration.rebootDelayMilliseconds) ms"
            case .rebooting:
                return "ok firmware already rebooting"
            case .heldInReset, .stopped:
                return "error: the ESP is held in reset (RESET low); release RESET to boot it"
            }

        case .wifi(let up):
            let path = "\(stateDirectory)/wifi-down"
            if up {
                guard unlink(path) == 0 || errno == ENOENT else {
                    return "error: cannot remove \(path): \(String(cString: strerror(errno)))"
                }
                return "ok access point in reach: removed \(path); the firmware reconnects by itself"
            }
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return "error: cannot create \(path): \(String(cString: strerror(errno)))" }
            close(fd)
            return "ok access point out of reach: created \(path); the firmware sees it within 0.5 s"

        case .bitErrorRate(let rate):
            for injector in bitErrors.values { injector.rate = rate }
            return "ok bit error rate \(rate) each way"

        case .baud(let rate?):
            shared.withLockedValue { $0.startBaud = rate }
            let hostSet = host.setBaud(rate)
            let espSet = esp.setBaud(rate)
            speeds.invalidate()
            speeds.tracking = true
            guard hostSet && espSet else {
                return "error: cannot set the PTYs to \(rate) baud: \(String(cString: strerror(errno)))"
            }
            return "ok both ends at \(rate) baud (the ESP returns to it at every reset); wire paced"

        case .baud(nil):
            speeds.tracking = false
            return "ok wire not paced: an ideal wire, speeds ignored"

        case .lineLimit(let rate?):
            garbler.lineLimit = rate
            let paced = speeds.tracking ? "" : " (once the wire is paced: --baud or baud N)"
            return "ok the line carries at most \(rate) baud: bytes sent faster arrive garbled\(paced)"

        case .lineLimit(nil):
            garbler.lineLimit = nil
            return "ok no line limit: the line carries every rate"

        case .stats:
            return "ok " + statistics().map { "\($0.key)=\($0.value)" }.joined(separator: " ")

        case .help:
            return "ok commands: \(ControlCommand.summary)"
        }
    }

    /// The board's counters and settings as ordered key/value pairs (the `stats` answer).
    public func statistics() -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        let (noise, bootNoise, boots, startBaud, state) = shared.withLockedValue {
            ($0.noise, $0.bootNoise, $0.boots, $0.startBaud, $0.state)
        }
        let names: [(WireDirection, String)] = [(.hostToESP, "to-esp"), (.espToHost, "to-host")]
        for (direction, name) in names {
            let wireCounters = wire.statistics(direction)
            result += [
                ("\(name).delivered", "\(wireCounters.delivered)"),
                ("\(name).lost-to-cut", "\(lineCut.lost(direction))"),
                ("\(name).flipped-bits", "\(bitErrors[direction]!.flippedBits)"),
                ("\(name).noise", "\(noise[direction, default: 0])"),
                ("\(name).garbled", "\(garbler.garbled(direction))"),
                ("\(name).overrun", "\(wireCounters.overrun)"),
                ("\(name).discarded", "\(wireCounters.discarded)"),
            ]
        }
        let now = speeds.readNow()
        let cutLeft = lineCut.remainingNanoseconds
        let wifiDown = access("\(stateDirectory)/wifi-down", F_OK) == 0
        result += [
            ("to-host.boot-noise", "\(bootNoise)"),
            ("to-esp.fifo-dropped", "\(frozenFIFO.dropped)"),
            ("host-baud", now.host.map(String.init) ?? "unknown"),
            ("esp-baud", now.esp.map(String.init) ?? "unknown"),
            ("start-baud", "\(startBaud)"),
            ("paced", speeds.tracking ? "yes" : "no"),
            ("line-limit", garbler.lineLimit.map(String.init) ?? "none"),
            ("ber", "\(bitErrors[.hostToESP]!.rate)"),
            ("seed", "\(configuration.seed)"),
            ("cut-remaining", Self.seconds(cutLeft)),
            ("firmware", state.rawValue),
            ("firmware-restarts", "\(max(0, boots - 1))"),
            ("wifi", wifiDown ? "down" : "up"),
        ]
        return result
    }

    /// Nanoseconds as seconds with three decimals, e.g. `1.500`.
    static func seconds(_ nanoseconds: UInt64) -> String {
        let milliseconds = (nanoseconds + 500_000) / 1_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
