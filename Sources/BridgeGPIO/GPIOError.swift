/// Why a GPIO line could not be used. Each description says what to do.
public enum GPIOError: Error, CustomStringConvertible, Equatable {
    case rootMissing(root: String)
    case exportFailed(line: Int, root: String, detail: String)
    case permissionDenied(path: String)
    case ioFailed(path: String, detail: String)
    case unexpectedValue(path: String, value: String)

    public var description: String {
        switch self {
        case .rootMissing(let root):
            return "GPIO sysfs directory \(root) does not exist: enable the sysfs GPIO interface in the kernel "
                + "or pass --gpio-root"
        case .exportFailed(let line, let root, let detail):
            return "could not export GPIO \(line) under \(root) (\(detail)): check the line number "
                + "(on Raspberry Pi kernels 6.6+ sysfs numbers start at the gpiochip's base, e.g. 512 + BCM number)"
        case .permissionDenied(let path):
            return "permission denied on \(path): run mqttbridged as root or as a user in the 'gpio' group"
        case .ioFailed(let path, let detail):
            return "GPIO I/O on \(path) failed: \(detail)"
        case .unexpectedValue(let path, let value):
            return "GPIO value file \(path) holds '\(value)', expected 0 or 1"
        }
    }
}
