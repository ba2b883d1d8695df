import NIOCore

/// Any MQTT 3.1.1 control packet: what the decoder produces and the encoder consumes.
public enum MQTTPacket: Sendable, Equatable {
    case connect(MQTTConnect)
    case connAck(MQTTConnAck)
    case publish(MQTTPublish)
    case pubAck(MQTTPubAck)
    case pubRec(MQTTPubRec)
    case pubRel(MQTTPubRel)
    case pubComp(MQTTPubComp)
    case subscribe(MQTTSubscribe)
    case subAck(MQTTSubAck)
    case unsubscribe(MQTTUnsubscribe)
    case unsubAck(MQTTUnsubAck)
    /// PINGREQ: keep-alive probe from the client; nothing but a fixed header (§3.12).
    case pingReq
    /// PINGRESP: the server's answer to PINGREQ (§3.13).
    case pingResp
    /// DISCONNECT: the client's clean goodbye; the server then discards the will (§3.14).
    case disconnect

    /// The control packet type.
    public var type: MQTTPacketType {
        switch self {
        case .connect: .connect
        case .connAck: .connAck
        case .publish: .publish
        case .pubAck: .pubAck
        case .pubRec: .pubRec
        case .pubRel: .pubRel
        case .pubComp: .pubComp
        case .subscribe: .subscribe
        case .subAck: .subAck
        case .unsubscribe: .unsubscribe
        case .unsubAck: .unsubAck
        case .pingReq: .pingReq
        case .pingResp: .pingResp
        case .disconnect: .disconnect
        }
    }

    /// Appends the packet's wire form to a buffer.
    ///
    /// - Parameter buffer: Receives the whole packet; left untouched if the packet cannot be encoded.
    /// - Throws: ``MQTTEncodeError`` if the packet would be malformed (a wildcard in a PUBLISH topic, a QoS 1 PUBLISH
    ///   without packet identifier, a string over 65535 bytes, …).
    public func write(into buffer: inout ByteBuffer) throws(MQTTEncodeError) {
        switch self {
        case .connect(let packet): try packet.write(into: &buffer)
        case .connAck(let packet): try packet.write(into: &buffer)
        case .publish(let packet): try packet.write(into: &buffer)
        case .pubAck(let packet): try packet.write(into: &buffer)
        case .pubRec(let packet): try packet.write(into: &buffer)
        case .pubRel(let packet): try packet.write(into: &buffer)
        case .pubComp(let packet): try packet.write(into: &buffer)
        case .subscribe(let packet): try packet.write(into: &buffer)
        case .subAck(let packet): try packet.write(into: &buffer)
        case .unsubscribe(let packet): try packet.write(into: &buffer)
        case .unsubAck(let packet): try packet.write(into: &buffer)
        case .pingReq, .pingResp, .disconnect:
            buffer.writeInteger(self.type.rawValue << 4)
            buffer.writeInteger(UInt8(0))
        }
    }

    /// Decodes one packet from the front of a buffer, if the whole packet is there.
    ///
    /// - Parameters:
    ///   - buffer: Bytes received so far. On success the reader index moves past the packet; when `nil` is returned
    ///     it does not move.
    ///   - maximumPacketSize: The largest packet accepted, fixed header included. Checked as soon as the fixed header
    ///     is readable, so an oversized packet is refused before it is buffered.
    /// - Returns: The packet, or `nil` if more bytes are needed.
    /// - Throws: ``MQTTDecodeError`` if the bytes are not a valid MQTT 3.1.1 packet. The stream cannot be resynchronised
    ///   after that: close the connection.
    public static func decode(
        from buffer: inout ByteBuffer,
        maximumPacketSize: Int = MQTTPacketDecoder.defaultMaximumPacketSize
    ) throws(MQTTDecodeError) -> MQTTPacket? {
        // Phase 1: frame.
        guard let header = try MQTTFixedHeader.peek(in: buffer) else { return nil }
        guard header.packetLength <= maximumPacketSize else {
            throw .packetTooLarge(size: header.packetLength, maximum: maximumPacketSize)
        }
        guard buffer.readableBytes >= header.packetLength else { return nil }
        buffer.moveReaderIndex(forwardBy: header.length)
        var body = buffer.readSlice(length: header.remainingLength)!
        // Phase 2: the typed packet from exactly its own bytes.
        let packet = try decode(header: header, body: &body)
        try body.expectFullyRead(header.type)
        return packet
    }

    private static func decode(header: MQTTFixedHeader, body: inout ByteBuffer) throws(MQTTDecodeError) -> MQTTPacket {
        let flags = header.flags
        switch header.type {
        case .connect: return .connect(try .decode(body: &body, flags: flags))
        case .connAck: return .connAck(try .decode(body: &body, flags: flags))
        case .publish: return .publish(try .decode(body: &body, flags: flags))
        case .pubAck: return .pubAck(try .decode(body: &body, flags: flags))
        case .pubRec: return .pubRec(try .decode(body: &body, flags: flags))
        case .pubRel: return .pubRel(try .decode(body: &body, flags: flags))
        case .pubComp: return .pubComp(try .decode(body: &body, flags: flags))
        case .subscribe: return .subscribe(try .decode(body: &body, flags: flags))
        case .subAck: return .subAck(try .decode(body: &body, flags: flags))
        case .unsubscribe: return .unsubscribe(try .decode(body: &body, flags: flags))
        case .unsubAck: return .unsubAck(try .decode(body: &body, flags: flags))
        // The fixed header already checked that these have no body.
        case .pingReq: return .pingReq
        case .pingResp: return .pingResp
        case .disconnect: return .disconnect
        }
    }
}

extension MQTTPacket: CustomStringConvertible {
    /// A one-line summary for logs. Payloads and passwords appear only as byte counts.
    public var description: String {
        switch self {
        case .connect(let p):
            "CONNECT client=\(p.clientIdentifier) clean=\(p.cleanSession) keepAlive=\(p.keepAlive)"
                + (p.will.map { " will=\($0.topic)" } ?? "") + (p.username.map { " user=\($0)" } ?? "")
        case .connAck(let p): "CONNACK \(p.returnCode) sessionPresent=\(p.sessionPresent)"
        case .publish(let p):
            "PUBLISH topic=\(p.topic) \(p.qos)" + (p.packetId.map { " id=\($0)" } ?? "")
                + (p.retain ? " retain" : "") + (p.dup ? " dup" : "") + " payload=\(p.payload.readableBytes) bytes"
        case .pubAck(let p): "PUBACK id=\(p.packetId)"
        case .pubRec(let p): "PUBREC id=\(p.packetId)"
        case .pubRel(let p): "PUBREL id=\(p.packetId)"
        case .pubComp(let p): "PUBCOMP id=\(p.packetId)"
        case .subscribe(let p):
            "SUBSCRIBE id=\(p.packetId) "
                + p.subscriptions.map { "\($0.filter)@\($0.qos.rawValue)" }.joined(separator: " ")
        case .subAck(let p): "SUBACK id=\(p.packetId) " + p.returnCodes.map(\.description).joined(separator: ", ")
        case .unsubscribe(let p): "UNSUBSCRIBE id=\(p.packetId) " + p.filters.joined(separator: " ")
        case .unsubAck(let p): "UNSUBACK id=\(p.packetId)"
        case .pingReq: "PINGREQ"
        case .pingResp: "PINGRESP"
        case .disconnect: "DISCONNECT"
        }
    }
}
