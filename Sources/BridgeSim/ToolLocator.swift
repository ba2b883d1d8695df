/// Finds the two things esp-sim runs but does not contain: the firmware and the MicroPython Unix
/// port. Kept apart from the board so the search rules are easy to read and to test.
public enum ToolLocator {
    /// The firmware directory (the one holding `main.py`):
    /// 1. `explicit` (`--firmware DIR`) if given;
    /// 2. else `$MQTTBRIDGE_FIRMWARE` if set;
    /// 3. else the first `firmware/main.py` found walking up from `currentDirectory`;
    /// 4. else the same walk from the executable's directory (so `.build/debug/esp-sim` finds the
    ///    checkout's firmware wherever it is started from).
    /// An explicitly named directory without `main.py` is an error rather than a fall-through:
    /// silently running some other firmware would be worse than stopping.
    public static func firmwareDirectory(
        explicit: String?,
        environment: [String: String],
        currentDirectory: String,
        executablePath: String?
    ) throws(SimulatorError) -> String {
        if let explicit {
            return try checkedFirmware(explicit, source: "--firmware")
        }
        if let fromEnvironment = environment["MQTTBRIDGE_FIRMWARE"], !fromEnvironment.isEmpty {
            return try checkedFirmware(fromEnvironment, source: "MQTTBRIDGE_FIRMWARE")
        }
        var starts = [currentDirectory]
        if let executablePath { starts.append(POSIX.directoryName(executablePath)) }
        for start in starts {
            var directory = start
            while true {
                let candidate = directory == "/" ? "/firmware" : "\(directory)/firmware"
                if POSIX.isRegularFile("\(candidate)/main.py") { return candidate }
                if directory == "/" || directory == "." { break }
                directory = POSIX.directoryName(directory)
            }
        }
        throw .firmwareNotFound(
            "firmware not found: no firmware/main.py in \(starts.joined(separator: " or ")) or any directory above")
    }

    private static func checkedFirmware(_ directory: String, source: String) throws(SimulatorError) -> String {
        let absolute = POSIX.absolutePath(directory)
        guard POSIX.isRegularFile("\(absolute)/main.py") else {
            throw .firmwareNotFound("firmware not found: \(source) names \(absolute), which has no main.py")
        }
        return absolute
    }

    /// The MicroPython executable: `explicit` (`--micropython PATH`; a bare name is looked up on
    /// `PATH` like a shell would) or else `micropython` on `searchPath`.
    public static func micropython(explicit: String?, searchPath: String?) throws(SimulatorError) -> String {
        let name = explicit ?? "micropython"
        if name.contains("/") {
            let absolute = POSIX.absolutePath(name)
            guard POSIX.isExecutableFile(absolute) else {
                throw .micropythonNotFound("micropython not found: --micropython \(absolute) is not an executable file")
            }
            return absolute
        }
        for directory in (searchPath ?? "").split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(directory)/\(name)"
            if POSIX.isExecutableFile(candidate) { return POSIX.absolutePath(candidate) }
        }
        throw .micropythonNotFound("\(name) not found on PATH")
    }

    /// This process's executable, from `/proc/self/exe` (`argv[0]` may be relative or a bare name).
    public static func executablePath() -> String? {
        POSIX.readLink("/proc/self/exe")
    }
}
