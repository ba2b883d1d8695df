/// Why the spool cannot be used, worded for the person who has to fix it.
public enum SpoolError: Error, CustomStringConvertible, Sendable {
    case directory(path: String, detail: String)
    /// Another process (a second mqttbridged) holds the spool's lock.
    case locked(path: String)
    case database(path: String, operation: String, message: String)

    public var description: String {
        switch self {
        case .directory(let path, let detail):
            return "cannot use the spool directory \(path): \(detail); create it writable for the daemon, "
                + "or choose another with --spool DIR (--no-spool keeps messages in memory only)"
        case .locked(let path):
            return "the spool \(path) is in use by another process (another mqttbridged?); "
                + "give each daemon its own --spool DIR"
        case .database(let path, let operation, let message):
            return "spool database \(path): \(operation): \(message)"
        }
    }
}
