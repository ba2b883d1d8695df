import Logging
import Testing

@testable import BridgeSim

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A wire between two real pseudo-terminals; the test plays both programs through the replicas
/// the simulator holds.
private struct WireRig {
    let host: PseudoTerminal
    let esp: PseudoTerminal
    let speeds: LineSpeeds
    let garbler: SpeedMismatchGarbler
    let wire: Wire

    init(baud: Int, tracking: Bool) throws {
        host = try PseudoTerminal(baud: baud)
        esp = try PseudoTerminal(baud: baud)
        speeds = LineSpeeds(host: host, esp: esp, tracking: tracking)
        let speeds = speeds
        garbler = SpeedMismatchGarbler(random: SeededRandom(seed: 1)) { speeds.ends($0) }
        wire = try Wire(
            host: host, esp: esp, stages: [.hostToESP: [garbler], .espToHost: [garbler]], speeds: speeds,
            logger: Logger(label: "test"))
        try wire.start()
    }

    /// Writes all of `bytes` as the program on `pty`'s replica would.
    func send(_ bytes: [UInt8], from pty: PseudoTerminal) {
        var rest = bytes[...]
        while !rest.isEmpty {
            let written = rest.withUnsafeBytes { write(pty.heldReplica, $0.baseAddress, $0.count) }
            if written > 0 { rest = rest.dropFirst(written) }
        }
    }

    /// Reads from `pty`'s replica until `count` bytes came or `seconds` passed; returns them and
    /// the seconds the last one took to come.
    func receive(_ count: Int, at pty: PseudoTerminal, within seconds: Double) -> (bytes: [UInt8], seconds: Double) {
        let start = POSIX.monotonicNanoseconds()
        let end = start + UInt64(seconds * 1e9)
        var bytes: [UInt8] = []
        var last = start
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < count && POSIX.monotonicNanoseconds() < end {
            var fds = [pollfd(fd: pty.heldReplica, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 20) > 0 else { continue }
            let got = buffer.withUnsafeMutableBytes { read(pty.heldReplica, $0.baseAddress, $0.count) }
            if got > 0 {
                bytes += buffer[0..<got]
                last = POSIX.monotonicNanoseconds()
            }
        }
        return (bytes, Double(last - start) / 1e9)
    }
}

@Suite(.serialized) struct WireTests {
    @Test func anUntrackedWireIsIdealAndFast() throws {
        let rig = try WireRig(baud: 115_200, tracking: false)
        defer { rig.wire.stop() }
        let data = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        rig.send(data, from: rig.host)
        let (received, seconds) = rig.receive(data.count, at: rig.esp, within: 5)
        #expect(received == data)
        // 20 000 bytes are 1.7 s of line at 115200; unpaced they cross at once.
        #expect(seconds < 1)
    }

    @Test func aPacedWireTakesTheLineTimeAndNeverLess() throws {
        let rig = try WireRig(baud: 115_200, tracking: true)
        defer { rig.wire.stop() }
        let data = (0..<2304).map { UInt8(truncatingIfNeeded: $0) }  // 200 ms at 115200
        rig.send(data, from: rig.esp)
        let (received, seconds) = rig.receive(data.count, at: rig.host, within: 5)
        #expect(received == data)
        #expect(seconds >= 0.199, "bytes came early: \(seconds) s")
        #expect(seconds < 0.6, "bytes came late: \(seconds) s (a loaded machine?)")
        #expect(rig.wire.statistics(.espToHost).delivered == 2304)
    }

    @Test func bytesWrittenBeforeASpeedChangeCrossAtTheOldSpeed() throws {
        // The firmware's BAUD switch: it writes its acknowledgement, then switches its UART
        // (TCSADRAIN). The host, still at the old speed, must read the acknowledgement intact;
        // what the ESP sends after the switch is garbage to it until it switches too.
        let rig = try WireRig(baud: 115_200, tracking: true)
        defer { rig.wire.stop() }
        let acknowledgement = Array("ACK: switching to 921600".utf8) + [0]
        rig.send(acknowledgement, from: rig.esp)
        #expect(rig.esp.setBaud(921_600))
        let (received, _) = rig.receive(acknowledgement.count, at: rig.host, within: 2)
        #expect(received == acknowledgement)
        #expect(rig.garbler.garbled(.espToHost) == 0)

        let after = [UInt8](repeating: 0x55, count: 200)
        rig.send(after, from: rig.esp)
        // All 200 cross (2 ms at 921600) before the host switches; roughly as many arrive.
        let deadline = POSIX.monotonicNanoseconds() + 2_000_000_000
        while rig.garbler.garbled(.espToHost) < 200 && POSIX.monotonicNanoseconds() < deadline {
            POSIX.sleep(milliseconds: 1)
        }
        #expect(rig.garbler.garbled(.espToHost) == 200)
        let (garbage, _) = rig.receive(Int.max, at: rig.host, within: 0.1)
        #expect(garbage.count > 150 && garbage.count < 250)
        #expect(garbage != Array(repeating: 0x55, count: garbage.count))

        // Once the host has switched too, the line is clean again, at 921600.
        #expect(rig.host.setBaud(921_600))
        POSIX.sleep(milliseconds: 5)
        let clean = Array("HELLO at 921600".utf8)
        rig.send(clean, from: rig.esp)
        let (received2, _) = rig.receive(clean.count, at: rig.host, within: 2)
        #expect(received2 == clean)
    }

    @Test func aHostThatSwitchesThenSendsAtOnceIsHeardAtTheNewSpeed() throws {
        // The other half of the BAUD switch: the ESP has switched; the host switches as the
        // acknowledgement arrives and sends PING straight away.
        let rig = try WireRig(baud: 115_200, tracking: true)
        defer { rig.wire.stop() }
        #expect(rig.esp.setBaud(921_600))
        POSIX.sleep(milliseconds: 5)
        let ping = Array("PING at 921600".utf8) + [0]
        #expect(rig.host.setBaud(921_600))
        rig.send(ping, from: rig.host)
        let (received, _) = rig.receive(ping.count, at: rig.esp, within: 2)
        #expect(received == ping)
        #expect(rig.garbler.garbled(.hostToESP) == 0)
    }

    @Test func aSenderAtTheWrongSpeedIsGarbage() throws {
        // Switched well before it writes (a quiet lane looks at the speeds every 20 ms), so the
        // benefit of the doubt does not apply: the ESP is at 115200 and hears garbage.
        let rig = try WireRig(baud: 115_200, tracking: true)
        defer { rig.wire.stop() }
        #expect(rig.host.setBaud(921_600))
        POSIX.sleep(milliseconds: 60)
        let frame = [UInt8](repeating: 0x41, count: 100)
        rig.send(frame, from: rig.host)
        let (received, _) = rig.receive(Int.max, at: rig.esp, within: 0.2)
        #expect(received != frame)
        #expect(rig.garbler.garbled(.hostToESP) == 100)
    }
}
