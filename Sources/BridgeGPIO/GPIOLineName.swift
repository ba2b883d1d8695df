/// A GPIO line as a user names it on the command line, before it is resolved to a sysfs number.
///
/// - `17`: a global sysfs number, used as is (`gpio17`).
/// - `CHIP:OFFSET`: line `OFFSET` of a chip, where `CHIP` is the chip's label
///   (`pinctrl-bcm2711:17`, `pinctrl-rp1:17`) or its sysfs directory name (`gpiochip512:17`).
///
/// Raspberry Pi kernels 6.6 and later number sysfs lines from the chip's base (512 on a Pi 4 or
/// 5, so BCM GPIO17 is `gpio529`), and writing the bare BCM number to `export` fails with EINVAL
/// (raspberrypi/linux#6084). `pinctrl-bcm2711:17` names the same pin on every kernel.
public enum GPIOLineName: Sendable, Equatable, CustomStringConvertible {
    case number(Int)
    case chip(String, offset: Int)

    /// Parses `17` or `CHIP:OFFSET`. The offset follows the last colon, so a label may contain colons.
    /// - Throws: ``GPIOError/invalidLineName(_:)`` with the accepted forms.
    public init(parsing text: String) throws(GPIOError) {
        if let number = Self.parseNumber(Substring(text)) {
            self = .number(number)
            return
        }
        guard let colon = text.lastIndex(of: ":") else { throw .invalidLineName(text) }
        let chip = text[..<colon]
        guard !chip.isEmpty, let offset = Self.parseNumber(text[text.index(after: colon)...]) else {
            throw .invalidLineName(text)
        }
        self = .chip(String(chip), offset: offset)
    }

    public var description: String {
        switch self {
        case .number(let number): return "\(number)"
        case .chip(let chip, let offset): return "\(chip):\(offset)"
        }
    }

    /// The global sysfs number of the line under `root`.
    ///
    /// A chip is looked up by directory name first (`gpiochip512`), then by label. A plain number is
    /// checked against the chips found, when there are any and the line is not exported yet, so a
    /// BCM number on a 6.6+ kernel fails with advice instead of the kernel's bare EINVAL.
    /// - Throws: ``GPIOError`` listing the chips that were found.
    public func resolve(root: String) throws(GPIOError) -> Int {
        switch self {
        case .number(let number):
            let chips = GPIOChip.list(root: root)
            if !chips.isEmpty, !chips.contains(where: { $0.numbers.contains(number) }),
                !SysfsFile.exists("\(root)/gpio\(number)")
            {
                throw .lineOutsideChips(line: number, root: root, chips: chips)
            }
            return number
        case .chip(let name, let offset):
            guard SysfsFile.exists(root) else { throw .rootMissing(root: root) }
            let chips = GPIOChip.list(root: root)
            var matches = chips.filter { $0.name == name }
            if matches.isEmpty { matches = chips.filter { $0.label == name } }
            guard let chip = matches.first else { throw .unknownChip(name: name, root: root, chips: chips) }
            guard matches.count == 1 else { throw .ambiguousChip(label: name, root: root, chips: matches) }
            guard offset < chip.lineCount else { throw .offsetOutOfRange(offset: offset, chip: chip) }
            return chip.base + offset
        }
    }

    private static func parseNumber(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}
