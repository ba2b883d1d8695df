import Foundation

/// JSON for `$bridge/status`: sorted keys so that a change shows as a small diff in a log.
public enum StatusEncoding {
    public static func json(_ status: BridgeStatus) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain structs of strings and integers cannot fail.
        return Array((try? encoder.encode(status)) ?? Data())
    }

    public static func decode(_ bytes: [UInt8]) throws -> BridgeStatus {
        try JSONDecoder().decode(BridgeStatus.self, from: Data(bytes))
    }
}
