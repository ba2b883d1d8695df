/// A GPIO controller as sysfs shows it: `ROOT/gpiochipN/{base,label,ngpio}`.
///
/// In `/sys/class/gpio` a chip's directory is named after its base (`gpiochip512` holds lines
/// 512…), which is not the number of its character device (`/dev/gpiochip0`). Labels are stable
/// across kernels: `pinctrl-bcm2835` (Pi 1–3), `pinctrl-bcm2711` (Pi 4), `pinctrl-rp1` (Pi 5).
public struct GPIOChip: Sendable, Equatable, CustomStringConvertible {
    /// The directory name under the sysfs root, e.g. `gpiochip512`.
    public var name: String
    /// What the driver calls the chip, e.g. `pinctrl-bcm2711`.
    public var label: String
    /// The global sysfs number of the chip's line 0.
    public var base: Int
    /// How many lines the chip has.
    public var lineCount: Int

    public init(name: String, label: String, base: Int, lineCount: Int) {
        self.name = name
        self.label = label
        self.base = base
        self.lineCount = lineCount
    }

    /// The global sysfs numbers of the chip's lines.
    public var numbers: Range<Int> { base..<(base + lineCount) }

    /// `gpiochip512 "pinctrl-bcm2711" (lines 512-569)`.
    public var description: String {
        let lines = lineCount > 0 ? "lines \(base)-\(base + lineCount - 1)" : "no lines"
        return "\(name) \"\(label)\" (\(lines))"
    }

    /// The chips under a sysfs GPIO root, by base; empty when there are none or the root is missing.
    /// A chip directory whose `base` or `ngpio` cannot be read or parsed is left out.
    public static func list(root: String) -> [GPIOChip] {
        SysfsFile.entries(of: root)
            .filter { $0.hasPrefix("gpiochip") }
            .compactMap { name -> GPIOChip? in
                let directory = "\(root)/\(name)"
                guard let baseText = try? SysfsFile.read("\(directory)/base"), let base = Int(baseText),
                    let countText = try? SysfsFile.read("\(directory)/ngpio"), let count = Int(countText)
                else { return nil }
                let label = (try? SysfsFile.read("\(directory)/label")) ?? ""
                return GPIOChip(name: name, label: label, base: base, lineCount: count)
            }
            .sorted { ($0.base, $0.name) < ($1.base, $1.name) }
    }
}
