import NIOCore

/// Reading the primitive field types of MQTT 3.1.1 §1.5 off a packet body.
///
/// Each read names the packet type and field, so a short or malformed body produces an error that says where.
extension ByteBuffer {
    mutating func readMQTTByte(_ type: MQTTPacketType, _ field: MQTTField) throws(MQTTDecodeError) -> UInt8 {
        guard let value = self.readInteger(as: UInt8.self) else { throw .truncated(type, field: field) }
        return value
    }

    mutating func readMQTTUInt16(_ type: MQTTPacketType, _ field: MQTTField) throws(MQTTDecodeError) -> UInt16 {
        guard let value = self.readInteger(as: UInt16.self) else { throw .truncated(type, field: field) }
        return value
    }

    /// Reads a packet identifier and rejects 0, which no packet may carry (MQTT-2.3.1-1).
    mutating func readPacketIdentifier(_ type: MQTTPacketType) throws(MQTTDecodeError) -> UInt16 {
        let id = try self.readMQTTUInt16(type, .packetIdentifier)
        guard id != 0 else { throw .zeroPacketIdentifier(type) }
        return id
    }

    /// Reads a length-prefixed UTF-8 string (§1.5.3), rejecting ill-formed UTF-8 and U+0000.
    mutating func readMQTTString(_ type: MQTTPacketType, _ field: MQTTField) throws(MQTTDecodeError) -> String {
        let length = Int(try self.readMQTTUInt16(type, field))
        guard self.readableBytes >= length else { throw .truncated(type, field: field) }
        let problem = self.withUnsafeReadableBytes { utf8Problem(in: UnsafeRawBufferPointer(rebasing: $0[..<length])) }
        switch problem {
        case .illFormed: throw .invalidUTF8(type, field: field)
        case .nullCharacter: throw .nullCharacter(type, field: field)
        case nil: break
        }
        // Validated above, so `readString` (which repairs rather than rejects) cannot alter the bytes.
        return self.readString(length: length)!
    }

    /// Reads length-prefixed binary data (§3.1.3.4: will message, password) as a slice of this buffer.
    mutating func readMQTTBinary(_ type: MQTTPacketType, _ field: MQTTField) throws(MQTTDecodeError) -> ByteBuffer {
        let length = Int(try self.readMQTTUInt16(type, field))
        guard let data = self.readSlice(length: length) else { throw .truncated(type, field: field) }
        return data
    }

    /// Throws unless the body has been read to its end.
    func expectFullyRead(_ type: MQTTPacketType) throws(MQTTDecodeError) {
        guard self.readableBytes == 0 else { throw .trailingBytes(type, count: self.readableBytes) }
    }
}

/// Writing the primitive field types. Lengths are checked by the `encodedLength` helpers before anything is written.
extension ByteBuffer {
    mutating func writeMQTTString(_ string: String) {
        self.writeInteger(UInt16(truncatingIfNeeded: string.utf8.count))
        self.writeString(string)
    }

    mutating func writeMQTTBinary(_ data: ByteBuffer) {
        self.writeInteger(UInt16(truncatingIfNeeded: data.readableBytes))
        self.writeImmutableBuffer(data)
    }
}

/// Encoded sizes of fields, validating them on the way so that writing cannot fail halfway through a packet.
enum MQTTFieldLength {
    /// The largest string or binary field: its length prefix is 16 bits.
    static let maximum = Int(UInt16.max)

    /// Bytes a UTF-8 string field takes, length prefix included.
    static func string(_ string: String, _ type: MQTTPacketType, _ field: MQTTField) throws(MQTTEncodeError) -> Int {
        let count = string.utf8.count
        guard count <= maximum else { throw .fieldTooLong(type, field: field, byteCount: count) }
        guard !string.utf8.contains(0) else { throw .nullCharacter(type, field: field) }
        return 2 + count
    }

    /// Bytes a binary field takes, length prefix included.
    static func binary(_ data: ByteBuffer, _ type: MQTTPacketType, _ field: MQTTField) throws(MQTTEncodeError) -> Int {
        let count = data.readableBytes
        guard count <= maximum else { throw .fieldTooLong(type, field: field, byteCount: count) }
        return 2 + count
    }

    /// Bytes a topic name takes, length prefix included; it must be a valid topic name.
    static func topicName(_ name: String, _ type: MQTTPacketType) throws(MQTTEncodeError) -> Int {
        do {
            try TopicName.validate(name)
        } catch {
            throw .invalidTopicName(type, name, error)
        }
        return 2 + name.utf8.count
    }

    /// Bytes a topic filter takes, length prefix included; it must be a valid topic filter.
    static func topicFilter(_ filter: String, _ type: MQTTPacketType) throws(MQTTEncodeError) -> Int {
        do {
            _ = try TopicFilter(filter)
        } catch {
            throw .invalidTopicFilter(type, filter, error)
        }
        return 2 + filter.utf8.count
    }

    /// Checks a packet identifier is non-zero; returns its size.
    static func packetIdentifier(_ id: UInt16, _ type: MQTTPacketType) throws(MQTTEncodeError) -> Int {
        guard id != 0 else { throw .zeroPacketIdentifier(type) }
        return 2
    }
}
