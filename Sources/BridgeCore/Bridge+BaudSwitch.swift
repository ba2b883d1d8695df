import BridgeLink
import BridgeSerial
import Logging
import NIOCore

/// The line-rate switch (§8.8): after CONFIG_ACK the host asks for the fastest rate both sides
/// allow, switches when the ESP acknowledges BAUD, confirms with PING, and returns to the start
/// rate when no PONG comes within a second, or when the line goes silent at the new rate later.
/// The ESP returns to the start rate by itself after 2 s without a good frame, so the two meet
/// there without a reset.
extension Bridge {
    /// The host's rule for a silent line at a switched rate: a little longer than the ESP's 2 s,
    /// so that after a cut the ESP is back at the start rate first.
    static let hostSilenceBeforeFallback: TimeAmount = .milliseconds(2500)

    /// After CONFIG_ACK: ask for a faster line when both sides allow one and this session has not
    /// tried yet; otherwise start serving at once.
    func startBaudSwitchOrRun() {
        guard baudSwitch == .notTried, let hello = peerHello, let session,
            let rate = BaudSwitch.targetRate(
                startRate: configuration.baudRate, hostMaximum: configuration.maximumBaudRate,
                peerMaximum: Int(hello.maximumBaudRate), supportedRates: SerialDevice.supportedBaudRates)
        else {
            enterRunning()
            return
        }
        // Nothing else is sent until the switch is over: frames written at the old rate after the
        // ESP switched would arrive garbled.
        linkState = .switchingBaud
        // BAUD is the session's next sequenced frame: the host switches once the ESP has acknowledged it.
        baudSwitch = .awaitingAcknowledgement(rate: rate, frame: session.acceptedCount + 1)
        send(.baud(LinkBaud(rate: UInt32(rate))))
        logger.info("asking the ESP to switch the line from \(configuration.baudRate) to \(rate) baud")
    }

    /// After every valid frame from the ESP: the acknowledgement of BAUD switches the host; any
    /// frame at the start rate ends a fallback.
    func heardDuringBaudSwitch() {
        switch baudSwitch {
        case .awaitingAcknowledgement(let rate, let frame):
            guard let session, session.acknowledgedCount >= frame else { return }
            let token = "baud \(rate)"
            baudSwitch = .confirming(rate: rate, token: token)
            changeLineRate(to: rate) { [self] in
                guard baudSwitch == .confirming(rate: rate, token: token) else { return }
                send(.ping(LinkPing(token: ByteBuffer(string: token))))
                baudTimer = eventLoop.assumeIsolated().scheduleTask(in: BaudSwitch.confirmationTimeout) { [self] in
                    baudNotConfirmed(rate: rate)
                }
            }
        case .fallingBack:
            baudTimer?.cancel()
            baudTimer = nil
            baudSwitch = .finished
            logger.info("the ESP answers at \(configuration.baudRate) baud again")
            if linkState == .switchingBaud { enterRunning() }
        case .notTried, .confirming, .finished:
            break
        }
    }

    /// A PONG: the one carrying the switch's token confirms the new rate.
    func receivedPong(_ pong: LinkPong) {
        guard case .confirming(let rate, let token) = baudSwitch, pong.token == ByteBuffer(string: token) else {
            return
        }
        baudTimer?.cancel()
        baudTimer = nil
        baudSwitch = .finished
        logger.info("the line runs at \(rate) baud (PONG received at the new rate)")
        if linkState == .switchingBaud { enterRunning() }
    }

    private func baudNotConfirmed(rate: Int) {
        guard case .confirming(rate, _) = baudSwitch else { return }
        status.link.baudFallbacks += 1
        let start = configuration.baudRate
        logger.warning(
            "no PONG within 1 s at \(rate) baud: back to \(start) baud, where the ESP returns by itself within 2 s; no other attempt until the next link session"
        )
        fallBack()
    }

    /// When the line has been silent too long at a switched rate; `nil` when that rule is off.
    var lineSilenceDeadline: NIODeadline? {
        guard baudSwitch == .finished, status.link.baudRate != configuration.baudRate, let session else { return nil }
        return session.lastHeard + Self.hostSilenceBeforeFallback
    }

    /// Nothing heard at the switched rate for a while: the ESP has probably gone back (§8.8).
    func lineWentSilent() {
        status.link.baudFallbacks += 1
        let (rate, start) = (status.link.baudRate, configuration.baudRate)
        logger.warning(
            "nothing heard from the ESP for 2.5 s at \(rate) baud: back to \(start) baud, where the ESP returns by itself after 2 s of silence"
        )
        fallBack()
    }

    /// The link timeout counts from the last frame heard, but not during the time the ESP needs
    /// to come back to the start rate after a fallback.
    var livenessReference: NIODeadline {
        let heard = session?.lastHeard ?? .now()
        guard case .fallingBack(let since) = baudSwitch else { return heard }
        return max(heard, since + BaudSwitch.silenceBeforeFallback)
    }

    /// A reset or a new device: the ESP starts at the start rate (§1), so the host does too.
    func returnToStartRate() {
        baudTimer?.cancel()
        baudTimer = nil
        baudSwitch = .notTried
        changeLineRate(to: configuration.baudRate)
    }

    private func fallBack() {
        baudTimer?.cancel()
        baudSwitch = .fallingBack(since: .now())
        changeLineRate(to: configuration.baudRate) { [self] in probeAtStartRate() }
    }

    /// PING at the start rate until the ESP is heard there (§8.8: "sends PING again").
    private func probeAtStartRate() {
        guard case .fallingBack = baudSwitch else { return }
        send(.ping(LinkPing(token: ByteBuffer(string: "baud \(configuration.baudRate)"))))
        baudTimer = eventLoop.assumeIsolated().scheduleTask(in: BaudSwitch.fallbackProbeInterval) { [self] in
            probeAtStartRate()
        }
    }

    /// Sets the device to `rate` once everything already written has reached it (those bytes go
    /// at the old rate, as `TCSADRAIN` would have them), then runs `next`.
    func changeLineRate(to rate: Int, then next: @escaping () -> Void = {}) {
        let apply = { [self] in
            if let device = serialDevice?.device, device.baudRate != rate {
                do {
                    try device.setBaudRate(rate)
                    logger.debug("\(configuration.device) now at \(rate) baud")
                } catch {
                    logger.error("cannot set \(configuration.device) to \(rate) baud: \(error)")
                }
            }
            let current = serialDevice?.device?.baudRate ?? configuration.baudRate
            if status.link.baudRate != current {
                status.link.baudRate = current
                publishStatus()
            }
            next()
        }
        guard let pending = lastWrite else {
            apply()
            return
        }
        pending.assumeIsolated().whenComplete { _ in apply() }
    }
}
