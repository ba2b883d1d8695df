/// Why a GPIO line could not be used. Each description says what to do.
public enum GPIOError: Error, CustomStringConvertible, Equatable {
    case rootMissing(root: String)
    case exportFailed(line: Int, root: String, detail: String)
    case permissionDenied(path: String)
    case ioFailed(path: String, detail: String)
    case unexpectedValue(path: String, value: String)
    /// A line name that is neither a number nor `CHIP:OFFSET`.
    case invalidLineName(String)
    /// No chip has this directory name or label.
    case unknownChip(name: String, root: String, chips: [GPIOChip])
    /// Several chips carry this label.
    case ambiguousChip(label: String, root: String, chips: [GPIOChip])
    /// The chip has fewer lines than the offset asks for.
    case offsetOutOfRange(offset: Int, chip: GPIOChip)
    /// A plain number that no chip covers (typically a BCM number on a Raspberry Pi kernel 6.6+).
    case lineOutsideChips(line: Int, root: String, chips: [GPIOChip])
    /// RESET and READY resolved to the same line.
    case resetAndReadyShareALine(line: Int)

    public var description: String {
        switch self {
        case .rootMissing(let root):
            return "GPIO sysfs directory \(root) does not exist: enable the sysfs GPIO interface in the kernel "
                + "or pass --gpio-root"
        case .exportFailed(let line, let root, let detail):
            return "could not export GPIO \(line) under \(root) (\(detail)): check the line number "
                + "(on Raspberry Pi kernels 6.6+ sysfs numbers start at the gpiochip's base: give the line as "
                + "CHIP:OFFSET, e.g. pinctrl-bcm2711:17)"
        case .permissionDenied(let path):
            return "permission denied on \(path): run mqttbridged as root or as a user in the 'gpio' group"
        case .ioFailed(let path, let detail):
            return "GPIO I/O on \(path) failed: \(detail)"
        case .unexpectedValue(let path, let value):
            return "GPIO value file \(path) holds '\(value)', expected 0 or 1"
        case .invalidLineName(let text):
            return "'\(text)' is not a GPIO line: give a sysfs number (17) or CHIP:OFFSET, where CHIP is a "
                + "gpiochip's label or directory name (pinctrl-bcm2711:17, pinctrl-rp1:17, gpiochip512:17)"
        case .unknownChip(let name, let root, let chips):
            guard !chips.isEmpty else {
                return "no gpiochip named or labelled '\(name)' under \(root): there are no gpiochip directories "
                    + "there; check --gpio-root (the kernel's is /sys/class/gpio)"
            }
            return "no gpiochip named or labelled '\(name)' under \(root); chips found: \(Self.joined(chips)): "
                + "use one of those labels or names before the colon"
        case .ambiguousChip(let label, let root, let chips):
            return "several gpiochips under \(root) are labelled '\(label)' (\(Self.joined(chips))): "
                + "name the one you mean by its directory, e.g. \(chips[0].name):OFFSET"
        case .offsetOutOfRange(let offset, let chip):
            return "line offset \(offset) is out of range for \(chip), which has \(chip.lineCount) lines "
                + "(offsets 0-\(max(chip.lineCount - 1, 0))): check the pin number"
        case .lineOutsideChips(let line, let root, let chips):
            // The SoC's pin controller carries the header pins (pinctrl-bcm2711, pinctrl-rp1).
            let likely = chips.first { $0.label.hasPrefix("pinctrl-") } ?? chips.first
            let example = likely.map { "\($0.label.isEmpty ? $0.name : $0.label):\(line)" } ?? "CHIP:\(line)"
            return "GPIO \(line) belongs to no gpiochip under \(root) (chips found: \(Self.joined(chips))): "
                + "on Raspberry Pi kernels 6.6+ sysfs numbers start at the chip's base, so give the line as "
                + "CHIP:OFFSET, e.g. \(example)"
        case .resetAndReadyShareALine(let line):
            return "--reset-gpio and --ready-gpio both name GPIO \(line): give READY its own line, "
                + "or --ready-gpio none when it is not wired"
        }
    }

    private static func joined(_ chips: [GPIOChip]) -> String {
        chips.map(\.description).joined(separator: ", ")
    }
}
