import BridgeGPIO
import NIOCore

/// READY, the firmware's "I am serving the link" output (firmware-protocol.md §6): the daemon
/// watches it to notice an ESP that stopped (crash, brown-out, a reset it did not make) before
/// the link timeout would, and to say why a reset brought no HELLO.
extension Bridge {
    /// How often READY is read. sysfs edge interrupts would need `poll(POLLPRI)` on the value file,
    /// which a fake sysfs tree cannot raise; one small read four times a second costs nothing.
    static let readyPollInterval: TimeAmount = .milliseconds(250)

    /// Starts reading READY, once; without a READY line there is nothing to watch.
    func startWatchingReady() {
        guard let readyLine, readyWatch == nil else { return }
        status.esp.ready = "unknown"
        scheduleReadyRead(readyLine, in: .zero)
    }

    func stopWatchingReady() {
        readyWatch?.cancel()
        readyWatch = nil
    }

    private func scheduleReadyRead(_ line: SysfsGPIOLine, in delay: TimeAmount) {
        readyWatch = eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            readReady(line)
            if readyWatch != nil { scheduleReadyRead(line, in: Self.readyPollInterval) }
        }
    }

    private func readReady(_ line: SysfsGPIOLine) {
        let level: Bool
        do {
            level = try line.read()
        } catch {
            if status.esp.ready != "unreadable" {
                logger.error("cannot read the ESP's READY line: \(error)")
                status.esp.ready = "unreadable"
                publishStatus()
            }
            readyLevel = nil
            return
        }
        let previous = readyLevel
        readyLevel = level
        status.esp.ready = level ? "high" : "low"
        guard previous != level else { return }
        publishStatus()
        if level {
            logger.debug("READY rose: the firmware is up")
        } else if previous == true {
            readyFell()
        }
    }

    /// READY went low without our reset: the firmware stopped serving. It may be rebooting by
    /// itself (its boot HELLO then restarts the handshake), or dead; wait for HELLO as after a
    /// reset, so a silent ESP goes up the reset ladder.
    private func readyFell() {
        switch linkState {
        case .resetting, .awaitingHello, .deviceLost, .starting:
            // Our own reset holds READY low (and may be seen a poll late, once HELLO is awaited);
            // without a device or a session there is no link to lose.
            return
        default:
            break
        }
        status.esp.readyDrops += 1
        logger.warning(
            "READY fell: the ESP stopped serving the link (crash, brown-out or an outside reset); waiting for it to boot"
        )
        endLinkForRestart()
        awaitHello()
    }

    /// What the log says about READY when no HELLO came: whether the firmware started at all.
    var readyHint: String {
        guard readyLine != nil else { return "" }
        switch readyLevel {
        case .some(false):
            return "; READY stayed low: the firmware did not start (is the bridge firmware flashed? "
                + "GPIO0 held low starts the ROM bootloader instead)"
        case .some(true):
            return "; READY is high, so the firmware runs: its HELLO did not arrive (check ESP TX → host RX "
                + "and the baud rate)"
        case .none:
            return ""
        }
    }
}
