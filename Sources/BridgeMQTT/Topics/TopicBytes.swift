/// The bytes topic syntax gives meaning to.
enum TopicByte {
    static let separator = UInt8(ascii: "/")
    static let singleLevel = UInt8(ascii: "+")
    static let multiLevel = UInt8(ascii: "#")
    static let dollar = UInt8(ascii: "$")
}

/// Runs `body` over a string's UTF-8 bytes without copying them when the string is native (always, on Linux).
@inline(__always)
func withUTF8Bytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = string.utf8.withContiguousStorageIfAvailable(body) {
        return result
    }
    // Bridged, non-contiguous strings (Foundation on Darwin) take one copy.
    return Array(string.utf8).withUnsafeBufferPointer(body)
}

/// Byte-for-byte equality of two strings' UTF-8, unlike `==`, which treats canonically equivalent strings as equal.
func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
    // `utf8.count` is O(1) for native strings, so different lengths cost nothing.
    lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8)
}
