import NIOCore

/// A message struct that lays itself out in a frame payload (§5). Internal: the public way in and out
/// is ``LinkMessage``.
protocol LinkPayloadCodable: Sendable {
    /// The frame type the message travels in.
    static var messageType: LinkMessageType { get }

    /// Reads the fields the message knows; bytes after them are left unread (§4 extensibility).
    init(from reader: inout LinkPayloadReader) throws(LinkMessageError)

    /// Writes the fields.
    func write(to writer: inout LinkPayloadWriter) throws(LinkMessageEncodingError)
}

/// Reads the data types of §4 from a payload, turning a short payload into a typed *malformed*
/// error that names the message and the field.
struct LinkPayloadReader {
    private(set) var buffer: ByteBuffer
    let type: LinkMessageType

    init(payload: ByteBuffer, type: LinkMessageType) {
        self.buffer = payload
        self.type = type
    }

    var remaining: Int { self.buffer.readableBytes }

    func malformed(_ detail: String) -> LinkMessageError {
        .malformed(self.type, detail)
    }

    private func missing(_ field: String, needs: Int) -> LinkMessageError {
        self.malformed("payload ends inside \(field): needs \(needs) bytes, \(self.remaining) left")
    }

    mutating func readU8(_ field: String) throws(LinkMessageError) -> UInt8 {
        guard let value = self.buffer.readInteger(as: UInt8.self) else {
            throw self.missing(field, needs: 1)
        }
        return value
    }

    mutating func readI8(_ field: String) throws(LinkMessageError) -> Int8 {
        Int8(bitPattern: try self.readU8(field))
    }

    mutating func readU16(_ field: String) throws(LinkMessageError) -> UInt16 {
        guard let value = self.buffer.readInteger(endianness: .big, as: UInt16.self) else {
            throw self.missing(field, needs: 2)
        }
        return value
    }

    mutating func readU32(_ field: String) throws(LinkMessageError) -> UInt32 {
        guard let value = self.buffer.readInteger(endianness: .big, as: UInt32.self) else {
            throw self.missing(field, needs: 4)
        }
        return value
    }

    /// A `u8` that must be `0` or `1`; anything else is out of range, so malformed (§7).
    mutating func readBool(_ field: String) throws(LinkMessageError) -> Bool {
        let value = try self.readU8(field)
        guard value <= 1 else {
            throw self.malformed("\(field) must be 0 or 1, got \(value)")
        }
        return value == 1
    }

    /// `str8`: a `u8` length and that many bytes of UTF-8.
    mutating func readStr8(_ field: String) throws(LinkMessageError) -> String {
        let length = Int(try self.readU8("length of \(field)"))
        return try self.readString(field, length: length)
    }

    /// `str16`: a `u16` length and that many bytes of UTF-8.
    mutating func readStr16(_ field: String) throws(LinkMessageError) -> String {
        let length = Int(try self.readU16("length of \(field)"))
        return try self.readString(field, length: length)
    }

    /// Invalid UTF-8 is repaired with U+FFFD rather than refused: the text is for logs and display,
    /// and topics come from a broker that has validated them already.
    private mutating func readString(_ field: String, length: Int) throws(LinkMessageError) -> String {
        guard let string = self.buffer.readString(length: length) else {
            throw self.missing(field, needs: length)
        }
        return string
    }

    /// The next `length` bytes as their own buffer.
    mutating func readBytes(_ field: String, length: Int) throws(LinkMessageError) -> ByteBuffer {
        guard let bytes = self.buffer.readSlice(length: length) else {
            throw self.missing(field, needs: length)
        }
        return bytes
    }

    /// `rest`: all remaining bytes, possibly none.
    mutating func readRest() -> ByteBuffer {
        self.buffer.readSlice(length: self.buffer.readableBytes)!
    }

    /// `rest` read as UTF-8 text.
    mutating func readRestString() -> String {
        self.buffer.readString(length: self.buffer.readableBytes)!
    }
}

/// Writes the data types of §4 into a payload, refusing values that do not fit their length
/// prefix rather than truncating them (§3).
struct LinkPayloadWriter {
    var buffer: ByteBuffer
    let type: LinkMessageType

    init(type: LinkMessageType) {
        self.buffer = ByteBuffer()
        self.type = type
    }

    mutating func writeU8(_ value: UInt8) {
        self.buffer.writeInteger(value)
    }

    mutating func writeI8(_ value: Int8) {
        self.buffer.writeInteger(UInt8(bitPattern: value))
    }

    mutating func writeU16(_ value: UInt16) {
        self.buffer.writeInteger(value, endianness: .big)
    }

    mutating func writeU32(_ value: UInt32) {
        self.buffer.writeInteger(value, endianness: .big)
    }

    mutating func writeBool(_ value: Bool) {
        self.buffer.writeInteger(value ? UInt8(1) : 0)
    }

    mutating func writeStr8(_ value: String, field: String) throws(LinkMessageEncodingError) {
        let length = try self.checkLength(value.utf8.count, maximum: Int(UInt8.max), field: field)
        self.buffer.writeInteger(UInt8(length))
        self.buffer.writeString(value)
    }

    mutating func writeStr16(_ value: String, field: String) throws(LinkMessageEncodingError) {
        let length = try self.checkLength(value.utf8.count, maximum: Int(UInt16.max), field: field)
        self.buffer.writeInteger(UInt16(length), endianness: .big)
        self.buffer.writeString(value)
    }

    /// `rest`: raw bytes with no length prefix.
    mutating func writeRest(_ value: ByteBuffer) {
        var value = value
        self.buffer.writeBuffer(&value)
    }

    /// `rest` as UTF-8 text.
    mutating func writeRest(_ value: String) {
        self.buffer.writeString(value)
    }

    func checkLength(_ length: Int, maximum: Int, field: String) throws(LinkMessageEncodingError) -> Int {
        guard length <= maximum else {
            throw .fieldTooLong(self.type, field: field, length: length, maximum: maximum)
        }
        return length
    }
}
