import BridgeLink
import Foundation
import NIOCore

/// The ESP's clock as of its last STATS.
struct ESPClock {
    /// The ESP's Unix time in milliseconds when it made the STATS.
    var unixMilliseconds: Int64
    /// When that STATS arrived here.
    var receivedAt: NIODeadline
    /// The ESP's Unix time in milliseconds when it last synced; `nil` when it has not since it started.
    var lastSync: Int64?

    /// The ESP's Unix time in milliseconds at `now`: the STATS's, and the host's monotonic time since.
    func unixMilliseconds(at now: NIODeadline) -> Int64 {
        unixMilliseconds + (now - receivedAt).nanoseconds / 1_000_000
    }
}

/// The ESP's clock (firmware-protocol.md §5.15). The host has no network of its own, so the time the
/// ESP gets by NTP is its only wall-clock time: STATS carries it, the status and `$bridge/time` show
/// it, and the log says when the host's own clock is off.
extension Bridge {
    /// The host clock's offset from the ESP's beyond which the log says so, once, until it is back
    /// within ``hostClockAgreesWithin``.
    static let hostClockOffLimit = 2.0
    static let hostClockAgreesWithin = 1.0

    /// The time status before the ESP says anything: waiting for its time, or off.
    var initialTimeStatus: BridgeStatus.Time {
        var time = BridgeStatus.Time()
        if let server = configuration.ntpServer {
            time.state = "not-synced"
            time.server = server.description
        }
        return time
    }

    /// The ESP started afresh (a HELLO): it has no time until it syncs.
    func resetTime(for hello: LinkHello) {
        espClock = nil
        status.time = initialTimeStatus
        guard let server = configuration.ntpServer, !hello.capabilities.contains(.ntp) else { return }
        status.time.state = "unsupported"
        logger.warning(
            "the firmware '\(hello.software)' has no NTP (HELLO capabilities): the ESP gets no time from \(server)")
    }

    /// The ESP's heap, uptime and clock.
    func receivedStats(_ stats: LinkStats) {
        status.esp.freeHeap = Int(stats.freeHeap)
        status.esp.uptime = Int(stats.uptime)
        guard let clock = stats.clock, let server = configuration.ntpServer, status.time.state != "unsupported"
        else { return }
        let before = status.time
        let key = StatusTopic.time.changeKey(of: status)
        status.time.syncFailures = Int(clock.syncFailures)
        status.time.reason = clock.syncResult.isFailure ? clock.syncResult.description : ""
        if let esp = stats.unixMilliseconds {
            let lastSync = clock.lastSync == 0 ? nil : Int64(clock.lastSync) * 1000
            espClock = ESPClock(unixMilliseconds: esp, receivedAt: .now(), lastSync: lastSync)
            let offset = Double(esp - Self.hostUnixMilliseconds()) / 1000
            status.time.state = "synced"
            status.time.lastSync = lastSync.map { Self.iso8601($0, milliseconds: false) } ?? ""
            status.time.hostOffsetSeconds = (offset * 1000).rounded() / 1000
            logSync(before: before, server: server, esp: esp, offset: offset)
            checkHostClock(offset: offset)
        } else {
            espClock = nil
            status.time.state = "not-synced"
            status.time.lastSync = ""
            status.time.hostOffsetSeconds = nil
        }
        if status.time.syncFailures > before.syncFailures {
            let message =
                "the ESP could not get the time from \(server): \(status.time.reason) "
                + "(\(status.time.syncFailures) failed attempts since it started); it tries again by itself, "
                + "after 10 s doubling to 10 min"
            // The first failure after a success or a start is news; the next ones are not.
            if before.reason.isEmpty { logger.warning("\(message)") } else { logger.debug("\(message)") }
        }
        if StatusTopic.time.changeKey(of: status) != key { publishStatus() }
    }

    /// Fills in what moves with the clock: the ESP's time now and the time since its last sync.
    func addClock(to time: inout BridgeStatus.Time) {
        guard let espClock else { return }
        let now = espClock.unixMilliseconds(at: .now())
        time.time = Self.iso8601(now, milliseconds: true)
        if let lastSync = espClock.lastSync {
            time.secondsSinceSync = Int(max(now - lastSync, 0) / 1000)
        }
    }

    private func logSync(before: BridgeStatus.Time, server: BridgeConfiguration.NTPServer, esp: Int64, offset: Double) {
        let offsetText = Self.seconds(offset)
        if before.state != "synced" {
            let time = Self.iso8601(esp, milliseconds: true)
            logger.info(
                "the ESP has the time from \(server): \(time); the host clock is \(offsetText) s off (ESP − host)")
        } else if status.time.lastSync != before.lastSync {
            if before.reason.isEmpty {
                logger.debug("the ESP synced its clock with \(server); the host clock is \(offsetText) s off")
            } else {
                let failures = status.time.syncFailures
                logger.info(
                    "the ESP has the time from \(server) again, after \(failures) failed attempts since it started")
            }
        }
    }

    /// Says so when the host's clock is off by more than ``hostClockOffLimit``, once, and when it
    /// agrees again.
    private func checkHostClock(offset: Double) {
        if abs(offset) > Self.hostClockOffLimit, !hostClockOffReported {
            hostClockOffReported = true
            let message =
                "the host clock is \(String(format: "%.3f", abs(offset))) s \(offset > 0 ? "behind" : "ahead of") "
                + "the ESP's NTP time (ESP − host = \(Self.seconds(offset)) s): set it, e.g. from $bridge/time"
            logger.warning("\(message)")
        } else if abs(offset) < Self.hostClockAgreesWithin, hostClockOffReported {
            hostClockOffReported = false
            logger.info("the host clock agrees with the ESP's NTP time again (\(Self.seconds(offset)) s off)")
        }
    }

    static func hostUnixMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// `2026-11-27T10:15:32.120Z` (UTC), or without the milliseconds.
    static func iso8601(_ unixMilliseconds: Int64, milliseconds: Bool) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions =
            milliseconds ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(unixMilliseconds) / 1000))
    }

    /// Seconds with a sign and milliseconds: `+0.004`, `-3600.250`.
    static func seconds(_ value: Double) -> String {
        String(format: "%+.3f", value)
    }
}
