import Foundation

/// JSON for the `$bridge/…` topics: sorted keys so that a change shows as a small diff in a log.
public enum StatusEncoding {
    public static func json(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding plain structs of strings and numbers cannot fail.
        return Array((try? encoder.encode(value)) ?? Data())
    }

    public static func decode(_ bytes: [UInt8]) throws -> BridgeStatus {
        try JSONDecoder().decode(BridgeStatus.self, from: Data(bytes))
    }
}
