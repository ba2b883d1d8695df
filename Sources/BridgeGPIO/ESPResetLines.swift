/// The lines between the host and the ESP8266: RESET (host output to the ESP's RST pin) and READY
/// (the firmware's output, active while it runs).
///
/// Each line has a polarity. Wired straight to the ESP's RST pin, RESET is active low (the
/// default); through an inverting transistor it is active high. READY is active high unless an
/// inverting level shifter or opto-coupler sits in between.
public struct ESPResetLines: Sendable {
    public let reset: SysfsGPIOLine
    public let ready: SysfsGPIOLine?

    /// How long RESET is held active: the ESP8266 needs about 100 µs; a long pulse also rides out
    /// slow RC circuits on some boards.
    public static let pulseWidth: Duration = .milliseconds(100)

    /// Claims the lines by their global sysfs numbers (see ``GPIOLineName/resolve(root:)``).
    /// RESET starts inactive so claiming it does not reset a running ESP.
    /// - Throws: ``GPIOError`` that says what to do.
    public init(
        root: String,
        resetLine: Int,
        resetActiveLow: Bool = true,
        readyLine: Int?,
        readyActiveLow: Bool = false,
        exportTimeout: Duration = .seconds(2)
    ) throws(GPIOError) {
        guard readyLine != resetLine else { throw .resetAndReadyShareALine(line: resetLine) }
        reset = try SysfsGPIOLine(
            root: root, number: resetLine, direction: .output, activeLow: resetActiveLow, initiallyActive: false,
            exportTimeout: exportTimeout)
        ready = try readyLine.map { (line: Int) throws(GPIOError) -> SysfsGPIOLine in
            try SysfsGPIOLine(
                root: root, number: line, direction: .input, activeLow: readyActiveLow, exportTimeout: exportTimeout)
        }
    }

    /// Holds the ESP in reset (`true`) or lets it run.
    public func holdInReset(_ held: Bool) throws(GPIOError) {
        try reset.write(held)
    }

    /// Whether the firmware says it is running; `nil` without a READY line.
    public func isReady() throws(GPIOError) -> Bool? {
        try ready?.read()
    }
}
