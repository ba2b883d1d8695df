/// Which way a `noise` command sends its bytes.
public enum NoiseTarget: String, Sendable, Equatable, CaseIterable {
    /// Toward the host (the daemon reads them).
    case toHost = "to-host"
    /// Toward the ESP (the firmware reads them).
    case toESP = "to-esp"
    /// Both ways, the same number each way.
    case both

    /// The directions of the wire this covers.
    public var directions: [WireDirection] {
        switch self {
        case .toHost: return [.espToHost]
        case .toESP: return [.hostToESP]
        case .both: return [.hostToESP, .espToHost]
        }
    }
}

/// One command of esp-sim's control socket (docs/esp-sim.md), parsed from one line.
public enum ControlCommand: Sendable, Equatable {
    /// `cut T`: lose every byte in both directions for T seconds.
    case cut(seconds: Double)
    /// `noise N [to-host|to-esp|both]`: put N random bytes on the wire each way given.
    case noise(count: Int, target: NoiseTarget)
    /// `hang T`: freeze the firmware (SIGSTOP) for T seconds.
    case hang(seconds: Double)
    /// `reboot`: restart the firmware as after a crash (reset cause 2).
    case reboot
    /// `wifi up` / `wifi down`: the simulated access point in or out of reach.
    case wifi(up: Bool)
    /// `ber X`: the bit error rate of both directions.
    case bitErrorRate(Double)
    /// `baud N`: both ends to N baud, pacing on; `baud off`: an ideal wire again.
    case baud(Int?)
    /// `line-limit N`: bytes sent faster than N baud arrive garbled; `line-limit off`: no limit.
    case lineLimit(Int?)
    /// `stats`: the counters.
    case stats
    /// `help`: the list of commands.
    case help

    /// The longest duration `cut` and `hang` accept, in seconds (a day).
    public static let maximumSeconds = 86_400.0
    /// The most bytes one `noise` command injects per direction.
    public static let maximumNoise = 1_000_000

    /// Every command, as `help` and error messages list them.
    public static let summary =
        "cut T, noise N [to-host|to-esp|both], hang T, reboot, wifi up|down, ber X, baud N|off, line-limit N|off, "
        + "stats, help"

    /// Parses one line: a command word and its arguments, separated by spaces or tabs. Words are
    /// case-sensitive, numbers are decimal (`1.5`, `1e-4`).
    public static func parse(_ line: String) throws(ControlCommandError) -> ControlCommand {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).map(String.init)
        guard let name = words.first else { throw .empty }
        let arguments = Array(words.dropFirst())

        func expect(_ usage: String, count range: ClosedRange<Int>) throws(ControlCommandError) {
            if arguments.count < range.lowerBound { throw .missingArgument(command: name, usage: usage) }
            if arguments.count > range.upperBound {
                throw .unexpectedArgument(command: name, argument: arguments[range.upperBound], usage: usage)
            }
        }

        switch name {
        case "cut", "hang":
            let usage = "\(name) SECONDS"
            try expect(usage, count: 1...1)
            let seconds = try number(arguments[0], command: name, usage: usage)
            guard seconds >= 0, seconds <= maximumSeconds else {
                throw .outOfRange(
                    command: name, argument: arguments[0], accepted: "0 to \(Int(maximumSeconds)) seconds")
            }
            return name == "cut" ? .cut(seconds: seconds) : .hang(seconds: seconds)
        case "noise":
            let usage = "noise COUNT [to-host|to-esp|both]"
            try expect(usage, count: 1...2)
            guard let count = Int(arguments[0]), arguments[0].allSatisfy(\.isASCIIDigit) else {
                throw .invalidNumber(command: name, argument: arguments[0], usage: usage)
            }
            guard count >= 1, count <= maximumNoise else {
                throw .outOfRange(command: name, argument: arguments[0], accepted: "1 to \(maximumNoise) bytes")
            }
            var target = NoiseTarget.both
            if arguments.count == 2 {
                guard let given = NoiseTarget(rawValue: arguments[1]) else {
                    throw .invalidChoice(command: name, argument: arguments[1], accepted: "to-host, to-esp or both")
                }
                target = given
            }
            return .noise(count: count, target: target)
        case "reboot", "stats", "help":
            try expect(name, count: 0...0)
            return name == "reboot" ? .reboot : name == "stats" ? .stats : .help
        case "wifi":
            let usage = "wifi up|down"
            try expect(usage, count: 1...1)
            switch arguments[0] {
            case "up": return .wifi(up: true)
            case "down": return .wifi(up: false)
            default: throw .invalidChoice(command: name, argument: arguments[0], accepted: "up or down")
            }
        case "ber":
            let usage = "ber RATE"
            try expect(usage, count: 1...1)
            let rate = try number(arguments[0], command: name, usage: usage)
            guard rate >= 0, rate <= 1 else {
                throw .outOfRange(
                    command: name, argument: arguments[0], accepted: "a probability from 0 to 1, e.g. 1e-4")
            }
            return .bitErrorRate(rate)
        case "baud", "line-limit":
            let usage = "\(name) RATE|off"
            try expect(usage, count: 1...1)
            if arguments[0] == "off" { return name == "baud" ? .baud(nil) : .lineLimit(nil) }
            guard let rate = Int(arguments[0]), arguments[0].allSatisfy(\.isASCIIDigit) else {
                throw .invalidNumber(command: name, argument: arguments[0], usage: usage)
            }
            guard BaudRate.supported.contains(rate) else {
                throw .outOfRange(
                    command: name, argument: arguments[0],
                    accepted: "off or one of " + BaudRate.supported.map(String.init).joined(separator: ", "))
            }
            return name == "baud" ? .baud(rate) : .lineLimit(rate)
        default:
            throw .unknownCommand(name)
        }
    }

    /// A plain decimal number: digits, an optional fraction and exponent. Swift's `Double(_:)`
    /// also takes `nan`, `inf` and hexadecimal, none of which a test script means.
    private static func number(_ text: String, command: String, usage: String) throws(ControlCommandError) -> Double {
        let allowed = text.allSatisfy {
            $0.isASCIIDigit || $0 == "." || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+"
        }
        guard allowed, text.first?.isASCIIDigit == true || text.first == ".", let value = Double(text),
            value.isFinite
        else {
            throw .invalidNumber(command: command, argument: text, usage: usage)
        }
        return value
    }
}

/// Why a control line is not a command. Each description says what is wrong and what is
/// accepted; the control socket sends it back as `error: DESCRIPTION`.
public enum ControlCommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The line holds no command.
    case empty
    /// The first word is not a command.
    case unknownCommand(String)
    /// A required argument is missing.
    case missingArgument(command: String, usage: String)
    /// There are more arguments than the command takes.
    case unexpectedArgument(command: String, argument: String, usage: String)
    /// An argument that should be a number is not one.
    case invalidNumber(command: String, argument: String, usage: String)
    /// A number outside the accepted range.
    case outOfRange(command: String, argument: String, accepted: String)
    /// A word that is not one of the accepted ones.
    case invalidChoice(command: String, argument: String, accepted: String)

    public var description: String {
        switch self {
        case .empty:
            return "empty command; commands: \(ControlCommand.summary)"
        case .unknownCommand(let name):
            return "unknown command \"\(name)\"; commands: \(ControlCommand.summary)"
        case .missingArgument(let command, let usage):
            return "\(command) needs an argument; usage: \(usage)"
        case .unexpectedArgument(let command, let argument, let usage):
            return "\(command) does not take \"\(argument)\"; usage: \(usage)"
        case .invalidNumber(let command, let argument, let usage):
            return "\(command): \"\(argument)\" is not a decimal number; usage: \(usage)"
        case .outOfRange(let command, let argument, let accepted):
            return "\(command): \(argument) is out of range; accepted: \(accepted)"
        case .invalidChoice(let command, let argument, let accepted):
            return "\(command): \"\(argument)\" is not accepted; accepted: \(accepted)"
        }
    }
}

extension Character {
    /// `0`…`9` only (`isNumber` also takes other scripts' digits and fractions).
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}
