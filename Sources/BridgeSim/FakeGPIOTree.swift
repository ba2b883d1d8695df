/// A stand-in for `/sys/class/gpio` made of ordinary files, holding the board's RESET and READY
/// lines.
///
/// Layout (what the daemon's sysfs code expects under its `--gpio-root`):
///
/// ```
/// DIR/export, DIR/unexport                  empty; writes to them are accepted and ignored
/// DIR/gpiochip0/{base,label,ngpio}          one chip with base 0, so chip+offset resolves to N
/// DIR/gpio<RESET>/{direction,value,active_low,edge}   "out", "1", "0", "none"
/// DIR/gpio<READY>/{direction,value,active_low,edge}   "in",  "0", "0", "none"
/// ```
///
/// Values end in a newline as real sysfs attributes do. The lines exist from the start, so an
/// `export` is a no-op. Unlike sysfs, writing `high`/`low` to `direction` does not set the value,
/// and `poll(POLLPRI)` edge notification does not exist (regular files are always readable):
/// read `value` periodically or watch it with inotify.
public struct FakeGPIOTree: Sendable {
    /// The directory standing in for `/sys/class/gpio`.
    public let root: String
    /// Line number of RESET (host output, active low at the ESP's RST pin).
    public let resetLine: Int
    /// Line number of READY (ESP output, high while the firmware runs).
    public let readyLine: Int

    /// Describes the tree; nothing is written until `create()`.
    public init(root: String, resetLine: Int, readyLine: Int) {
        self.root = root
        self.resetLine = resetLine
        self.readyLine = readyLine
    }

    /// The directory of line `number`, e.g. `DIR/gpio17`.
    public func lineDirectory(_ number: Int) -> String { "\(root)/gpio\(number)" }
    /// The `value` file of RESET.
    public var resetValuePath: String { "\(lineDirectory(resetLine))/value" }
    /// The `value` file of READY.
    public var readyValuePath: String { "\(lineDirectory(readyLine))/value" }

    /// Creates (or resets to power-on state) the tree: RESET released, READY low.
    public func create() throws(SimulatorError) {
        try POSIX.makeDirectories(root)
        try POSIX.writeFileInPlace("\(root)/export", "")
        try POSIX.writeFileInPlace("\(root)/unexport", "")
        let chip = "\(root)/gpiochip0"
        try POSIX.makeDirectories(chip)
        try POSIX.writeFileInPlace("\(chip)/base", "0\n")
        try POSIX.writeFileInPlace("\(chip)/label", "esp-sim\n")
        try POSIX.writeFileInPlace("\(chip)/ngpio", "\(max(resetLine, readyLine) + 1)\n")
        try createLine(resetLine, direction: "out", value: 1)
        try createLine(readyLine, direction: "in", value: 0)
    }

    private func createLine(_ number: Int, direction: String, value: Int) throws(SimulatorError) {
        let directory = lineDirectory(number)
        try POSIX.makeDirectories(directory)
        try POSIX.writeFileInPlace("\(directory)/direction", direction + "\n")
        try POSIX.writeFileInPlace("\(directory)/value", "\(value)\n")
        try POSIX.writeFileInPlace("\(directory)/active_low", "0\n")
        try POSIX.writeFileInPlace("\(directory)/edge", "none\n")
    }

    /// The electrical level at the ESP's RST pin: `true` = high (running), `false` = low (held in
    /// reset). `value` is the logical level, inverted when the daemon set `active_low` to 1, as
    /// sysfs does. `nil` when `value` cannot be read or parsed right now: a writer that truncates
    /// before writing leaves the file empty for a moment, and that must not count as a reset.
    public func resetPinLevel() -> Bool? {
        guard let value = Self.parseBit(POSIX.readSmallFile(resetValuePath)) else { return nil }
        let activeLow = Self.parseBit(POSIX.readSmallFile("\(lineDirectory(resetLine))/active_low")) ?? false
        return value != activeLow
    }

    /// Drives READY low, as the ESP's pin reads while the chip is in reset or rebooting.
    public func setReadyLow() throws(SimulatorError) {
        try POSIX.writeFileInPlace(readyValuePath, "0\n")
    }

    /// `"0"`/`"1"` (with optional whitespace) as a bit; anything else is `nil`.
    static func parseBit(_ text: String?) -> Bool? {
        switch text?.trimmingWhitespace() {
        case "0": return false
        case "1": return true
        default: return nil
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, CRs and LFs (no Foundation here).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
