/// What is wrong with the bytes of an MQTT UTF-8 string.
enum UTF8Problem: Sendable {
    case illFormed
    case nullCharacter
}

/// Checks bytes against RFC 3629 (which excludes overlong forms, surrogates and code points above U+10FFFF) and
/// against MQTT's ban on U+0000, in one pass.
///
/// Hand-written rather than `String(validating:)` because that needs macOS 15 and would take a second pass for U+0000.
func utf8Problem(in bytes: UnsafeRawBufferPointer) -> UTF8Problem? {
    var index = 0
    let count = bytes.count
    while index < count {
        let lead = bytes[index]
        if lead < 0x80 {
            if lead == 0 { return .nullCharacter }
            index += 1
            continue
        }
        // The second byte's range is narrower after some lead bytes: that is where overlong encodings (E0, F0),
        // surrogates (ED) and code points past U+10FFFF (F4) are excluded (RFC 3629 §4).
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: return .illFormed
        }
        guard count - index >= length else { return .illFormed }
        let second = bytes[index + 1]
        guard second >= low && second <= high else { return .illFormed }
        var offset = 2
        while offset < length {
            guard bytes[index + offset] & 0xC0 == 0x80 else { return .illFormed }
            offset += 1
        }
        index += length
    }
    return nil
}
