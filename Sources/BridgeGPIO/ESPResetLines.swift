/// The lines between the host and the ESP8266: RESET (host output to the ESP's RST pin, active low)
/// and READY (the firmware's output, high while it runs).
public struct ESPResetLines: Sendable {
    public let reset: SysfsGPIOLine
    public let ready: SysfsGPIOLine?

    /// How long RESET is held low: the ESP8266 needs about 100 µs; a long pulse also rides out
    /// slow RC circuits on some boards.
    public static let pulseWidth: Duration = .milliseconds(100)

    /// Claims the lines. RESET starts high so claiming it does not reset a running ESP.
    public init(root: String, resetLine: Int, readyLine: Int?) throws(GPIOError) {
        reset = try SysfsGPIOLine(root: root, number: resetLine, direction: .output, initialLevel: true)
        ready = try readyLine.map { (line: Int) throws(GPIOError) -> SysfsGPIOLine in
            try SysfsGPIOLine(root: root, number: line, direction: .input)
        }
    }

    /// Holds the ESP in reset (`true`) or lets it run.
    public func holdInReset(_ held: Bool) throws(GPIOError) {
        try reset.write(!held)
    }

    /// Whether the firmware says it is running; `nil` without a READY line.
    public func isReady() throws(GPIOError) -> Bool? {
        try ready?.read()
    }
}
