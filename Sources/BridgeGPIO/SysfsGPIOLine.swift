#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One GPIO line driven through the kernel's sysfs interface (`/sys/class/gpio`), or through a fake
/// tree with the same files for tests and `esp-sim`.
///
/// sysfs is used rather than the GPIO character device because it needs no library and the test
/// harness can stand in for it with plain files.
///
/// ## Active-low lines
///
/// ``read()`` and ``write(_:)`` speak of the line as *active* (`true`) or inactive. For an
/// active-high line active is the high level; for an active-low line (``activeLow``) it is the
/// low level. The inversion is done here, in software, and the sysfs `active_low` attribute is
/// pinned to 0 when the line is claimed, rather than set to 1 for the kernel to invert:
///
/// - `active_low` is kernel state that outlives the process: a previous run or another tool may
///   have left it at 1, so it has to be written either way; pinning it to 0 makes the result the
///   same whatever was there before.
/// - The kernel applies `active_low` to `value` but not to the `high`/`low` written to
///   `direction` (those are raw levels), so with `active_low` at 1 the glitch-free initial level
///   and later values would be in two different senses. With it at 0 every file the daemon writes
///   holds the electrical level, which is also what `cat value` and a meter on the pin show.
/// - Fake trees (esp-sim, the tests) need not emulate the inversion.
public struct SysfsGPIOLine: Sendable {
    public enum Direction: String, Sendable {
        case input = "in"
        case output = "out"
    }

    public let root: String
    /// The global sysfs number (`gpioN`), already resolved from chip and offset: see ``GPIOLineName``.
    public let number: Int
    /// Whether the line is active when low.
    public let activeLow: Bool
    public var directory: String { "\(root)/gpio\(number)" }
    private var valuePath: String { "\(directory)/value" }

    /// Exports the line if needed, sets its direction and pins `active_low` to 0.
    ///
    /// Writing the line number to `export` makes the kernel create `gpioN/`; udev then fixes the
    /// files' owner and mode. Until both are done the attribute writes fail, so they are retried
    /// every 20 ms until `exportTimeout` has passed (raspberrypi/linux#553).
    ///
    /// - Parameters:
    ///   - activeLow: the line is active when low (see the type's discussion).
    ///   - initiallyActive: for an output, whether it starts active. The level is written together
    ///     with the direction (`high`/`low`), so the line never glitches, and again to `value` for
    ///     fake trees, which do not apply a direction's level.
    ///   - exportTimeout: how long to wait for the kernel and udev after export.
    /// - Throws: ``GPIOError`` that says what to do.
    public init(
        root: String,
        number: Int,
        direction: Direction,
        activeLow: Bool = false,
        initiallyActive: Bool = false,
        exportTimeout: Duration = .seconds(2)
    ) throws(GPIOError) {
        self.root = root
        self.number = number
        self.activeLow = activeLow
        guard SysfsFile.exists(root) else { throw .rootMissing(root: root) }
        if !SysfsFile.exists(directory) {
            try SysfsFile.write("\(number)\n", to: "\(root)/export")
        }
        let initialLevel = initiallyActive != activeLow
        let directionValue: String
        switch direction {
        case .input: directionValue = "in"
        case .output: directionValue = initialLevel ? "high" : "low"
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: exportTimeout)
        while true {
            do {
                try SysfsFile.write(directionValue + "\n", to: "\(directory)/direction")
                try pinActiveLowAttribute()
                break
            } catch {
                if clock.now >= deadline {
                    throw .exportFailed(line: number, root: root, detail: error.description)
                }
                usleep(20_000)
            }
        }
        if direction == .output {
            try writeLevel(initialLevel)
        }
    }

    /// Reads the line: `true` when it is active.
    public func read() throws(GPIOError) -> Bool {
        try readLevel() != activeLow
    }

    /// Drives an output line active (`true`) or inactive.
    public func write(_ active: Bool) throws(GPIOError) {
        try writeLevel(active != activeLow)
    }

    /// The electrical level: `true` for high.
    public func readLevel() throws(GPIOError) -> Bool {
        let text = try SysfsFile.read(valuePath)
        switch text {
        case "0": return false
        case "1": return true
        default: throw .unexpectedValue(path: valuePath, value: text)
        }
    }

    private func writeLevel(_ high: Bool) throws(GPIOError) {
        try SysfsFile.write(high ? "1\n" : "0\n", to: valuePath)
    }

    /// Every kernel line has `active_low`; a fake tree without the file has no inversion to undo.
    private func pinActiveLowAttribute() throws(GPIOError) {
        let path = "\(directory)/active_low"
        guard SysfsFile.exists(path) || !SysfsFile.exists(directory) else { return }
        try SysfsFile.write("0\n", to: path)
    }
}
