import Testing

@testable import BridgeSim

@Suite struct ControlCommandTests {
    @Test func parsesEveryCommand() throws {
        #expect(try ControlCommand.parse("cut 2") == .cut(seconds: 2))
        #expect(try ControlCommand.parse("cut 0.25") == .cut(seconds: 0.25))
        #expect(try ControlCommand.parse("cut 0") == .cut(seconds: 0))
        #expect(try ControlCommand.parse("hang 1.5") == .hang(seconds: 1.5))
        #expect(try ControlCommand.parse("noise 100") == .noise(count: 100, target: .both))
        #expect(try ControlCommand.parse("noise 7 to-host") == .noise(count: 7, target: .toHost))
        #expect(try ControlCommand.parse("noise 7 to-esp") == .noise(count: 7, target: .toESP))
        #expect(try ControlCommand.parse("noise 7 both") == .noise(count: 7, target: .both))
        #expect(try ControlCommand.parse("reboot") == .reboot)
        #expect(try ControlCommand.parse("wifi down") == .wifi(up: false))
        #expect(try ControlCommand.parse("wifi up") == .wifi(up: true))
        #expect(try ControlCommand.parse("ber 1e-4") == .bitErrorRate(1e-4))
        #expect(try ControlCommand.parse("ber 0") == .bitErrorRate(0))
        #expect(try ControlCommand.parse("ber 0.001") == .bitErrorRate(0.001))
        #expect(try ControlCommand.parse("baud 921600") == .baud(921_600))
        #expect(try ControlCommand.parse("baud off") == .baud(nil))
        #expect(try ControlCommand.parse("line-limit 460800") == .lineLimit(460_800))
        #expect(try ControlCommand.parse("line-limit off") == .lineLimit(nil))
        #expect(try ControlCommand.parse("stats") == .stats)
        #expect(try ControlCommand.parse("help") == .help)
    }

    @Test func toleratesExtraWhitespaceAndCR() throws {
        #expect(try ControlCommand.parse("  cut\t3  ") == .cut(seconds: 3))
        #expect(try ControlCommand.parse("stats\r") == .stats)
    }

    @Test func noiseTargetsMapToDirections() {
        #expect(NoiseTarget.toHost.directions == [.espToHost])
        #expect(NoiseTarget.toESP.directions == [.hostToESP])
        #expect(Set(NoiseTarget.both.directions) == [.hostToESP, .espToHost])
    }

    @Test(arguments: [
        ("", ControlCommandError.empty),
        ("   ", .empty),
        ("cutt 1", .unknownCommand("cutt")),
        ("CUT 1", .unknownCommand("CUT")),
        ("cut", .missingArgument(command: "cut", usage: "cut SECONDS")),
        ("hang", .missingArgument(command: "hang", usage: "hang SECONDS")),
        ("cut 1 2", .unexpectedArgument(command: "cut", argument: "2", usage: "cut SECONDS")),
        ("cut abc", .invalidNumber(command: "cut", argument: "abc", usage: "cut SECONDS")),
        ("cut nan", .invalidNumber(command: "cut", argument: "nan", usage: "cut SECONDS")),
        ("cut inf", .invalidNumber(command: "cut", argument: "inf", usage: "cut SECONDS")),
        ("cut 0x10", .invalidNumber(command: "cut", argument: "0x10", usage: "cut SECONDS")),
        ("cut -1", .invalidNumber(command: "cut", argument: "-1", usage: "cut SECONDS")),
        ("cut 100000", .outOfRange(command: "cut", argument: "100000", accepted: "0 to 86400 seconds")),
        ("hang 1e9", .outOfRange(command: "hang", argument: "1e9", accepted: "0 to 86400 seconds")),
        ("noise", .missingArgument(command: "noise", usage: "noise COUNT [to-host|to-esp|both]")),
        ("noise 1.5", .invalidNumber(command: "noise", argument: "1.5", usage: "noise COUNT [to-host|to-esp|both]")),
        ("noise -3", .invalidNumber(command: "noise", argument: "-3", usage: "noise COUNT [to-host|to-esp|both]")),
        ("noise 0", .outOfRange(command: "noise", argument: "0", accepted: "1 to 1000000 bytes")),
        ("noise 2000000", .outOfRange(command: "noise", argument: "2000000", accepted: "1 to 1000000 bytes")),
        (
            "noise 5 sideways",
            .invalidChoice(command: "noise", argument: "sideways", accepted: "to-host, to-esp or both")
        ),
        (
            "noise 5 both more",
            .unexpectedArgument(command: "noise", argument: "more", usage: "noise COUNT [to-host|to-esp|both]")
        ),
        ("reboot now", .unexpectedArgument(command: "reboot", argument: "now", usage: "reboot")),
        ("stats all", .unexpectedArgument(command: "stats", argument: "all", usage: "stats")),
        ("wifi", .missingArgument(command: "wifi", usage: "wifi up|down")),
        ("wifi off", .invalidChoice(command: "wifi", argument: "off", accepted: "up or down")),
        ("ber", .missingArgument(command: "ber", usage: "ber RATE")),
        ("ber 2", .outOfRange(command: "ber", argument: "2", accepted: "a probability from 0 to 1, e.g. 1e-4")),
        ("ber x", .invalidNumber(command: "ber", argument: "x", usage: "ber RATE")),
        ("baud", .missingArgument(command: "baud", usage: "baud RATE|off")),
        ("baud fast", .invalidNumber(command: "baud", argument: "fast", usage: "baud RATE|off")),
        ("line-limit", .missingArgument(command: "line-limit", usage: "line-limit RATE|off")),
        ("line-limit 1 2", .unexpectedArgument(command: "line-limit", argument: "2", usage: "line-limit RATE|off")),
    ])
    func refusesBadInput(line: String, expected: ControlCommandError) {
        #expect(throws: expected) { try ControlCommand.parse(line) }
    }

    @Test func refusesAnUnsupportedBaudRateListingTheAcceptedOnes() {
        do {
            _ = try ControlCommand.parse("baud 12345")
            Issue.record("baud 12345 was accepted")
        } catch {
            guard case .outOfRange(let command, let argument, let accepted) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(command == "baud" && argument == "12345")
            #expect(accepted.hasPrefix("off or one of "))
            #expect(accepted.contains("115200") && accepted.contains("921600"))
        }
    }

    @Test func errorsSayWhatIsWrongAndWhatIsAccepted() {
        let unknown = ControlCommandError.unknownCommand("cutt").description
        #expect(unknown.contains("unknown command \"cutt\""))
        for command in [
            "cut T", "noise N", "hang T", "reboot", "wifi up|down", "ber X", "baud N|off", "line-limit N|off", "stats",
        ] {
            #expect(unknown.contains(command))
        }
        #expect(
            ControlCommandError.invalidNumber(command: "cut", argument: "abc", usage: "cut SECONDS").description
                == "cut: \"abc\" is not a decimal number; usage: cut SECONDS")
        #expect(
            ControlCommandError.outOfRange(command: "ber", argument: "2", accepted: "0 to 1").description
                == "ber: 2 is out of range; accepted: 0 to 1")
    }
}
