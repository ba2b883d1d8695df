import BridgeMQTT
import FuzzSupport
import NIOCore

/// Fuzzes what a local client can send the daemon's MQTT server: a byte stream → ``MQTTPacketDecoder``, the
/// decoder of its pipeline; then the packets' topics through ``TopicFilter`` matching, as routing does.
///
/// An input is one control byte, then the stream:
/// - bits 0–5: the size of the reads the stream arrives in, 1 to 64 bytes;
/// - bits 6–7: the decoder's largest packet: the daemon's default, 64 bytes, 512 bytes, or the largest MQTT allows.
///
/// The invariants, any break of which traps:
/// - the decoder consumes nothing when it asks for more bytes, and what it yields (packets, then possibly an error)
///   does not depend on how the stream is cut into reads;
/// - a decoded packet encodes, to the very bytes it came from (but for the remaining length, which a sender may
///   write in more bytes than needed), and those decode to the same packet;
/// - every topic matches itself as a filter, and every filter matches a topic exactly when a plain level-by-level
///   reading of MQTT 3.1.1 §4.7 says it does.
@main
enum FuzzMQTT: FuzzTarget {
    static let maximumPacketSizes = [
        MQTTPacketDecoder.defaultMaximumPacketSize, 64, 512, MQTTPacketDecoder.specificationMaximumPacketSize,
    ]

    static func check(_ input: UnsafeRawBufferPointer) {
        var input = FuzzInput(input)
        let control = input.control()
        let readSize = 1 + Int(control & 0x3F)
        let maximumPacketSize = maximumPacketSizes[Int(control >> 6)]
        let stream = ByteBuffer(bytes: input.rest)

        let whole = decodeAtOnce(stream, maximumPacketSize: maximumPacketSize)
        let inReads = decode(stream, maximumPacketSize: maximumPacketSize, readSize: readSize)
        let packets = whole.packets.map(\.packet)
        invariant(
            inReads.packets == packets && inReads.error == whole.error,
            "reads of \(readSize) bytes gave \(inReads), one read \(packets), \(String(describing: whole.error))")

        var topics: [String] = []
        var filters: [String] = []
        for (packet, bytes) in whole.packets {
            checkRoundTrip(packet, from: bytes)
            switch packet {
            case .publish(let publish): topics.append(publish.topic)
            case .connect(let connect): topics += connect.will.map { [$0.topic] } ?? []
            case .subscribe(let subscribe): filters += subscribe.subscriptions.map(\.filter)
            case .unsubscribe(let unsubscribe): filters += unsubscribe.filters
            default: break
            }
        }
        checkMatching(topics: topics, filters: filters)
    }

    /// Decodes a stream that is all there, as one read; each packet comes with the bytes it was decoded from.
    static func decodeAtOnce(_ stream: ByteBuffer, maximumPacketSize: Int)
        -> (packets: [(packet: MQTTPacket, bytes: ByteBuffer)], error: MQTTDecodeError?)
    {
        var decoder = MQTTPacketDecoder(maximumPacketSize: maximumPacketSize)
        var buffer = stream
        var packets: [(packet: MQTTPacket, bytes: ByteBuffer)] = []
        do {
            while true {
                var bytes = buffer
                guard let packet = try decoder.decode(buffer: &buffer) else { break }
                packets.append((packet, bytes.readSlice(length: buffer.readerIndex - bytes.readerIndex)!))
            }
        } catch {
            return (packets, error as? MQTTDecodeError)
        }
        return (packets, nil)
    }

    /// Feeds the stream in reads of `readSize` bytes as `ByteToMessageHandler` does, up to the first error, after
    /// which the server closes the connection.
    static func decode(_ stream: ByteBuffer, maximumPacketSize: Int, readSize: Int)
        -> (packets: [MQTTPacket], error: MQTTDecodeError?)
    {
        var decoder = MQTTPacketDecoder(maximumPacketSize: maximumPacketSize)
        var unread = stream
        var buffer = ByteBuffer()
        var packets: [MQTTPacket] = []
        while unread.readableBytes > 0 {
            var read = unread.readSlice(length: min(readSize, unread.readableBytes))!
            buffer.writeBuffer(&read)
            do {
                while true {
                    let readerIndex = buffer.readerIndex
                    guard let packet = try decoder.decode(buffer: &buffer) else {
                        invariant(buffer.readerIndex == readerIndex, "the decoder consumed bytes and asked for more")
                        break
                    }
                    packets.append(packet)
                }
            } catch {
                return (packets, error as? MQTTDecodeError)
            }
            // Now and then, as ByteToMessageHandler does: the unread bytes move to the front of the buffer.
            if buffer.readerIndex >= 1024 { buffer.discardReadBytes() }
        }
        return (packets, nil)
    }

    static func checkRoundTrip(_ packet: MQTTPacket, from bytes: ByteBuffer) {
        var encoded = ByteBuffer()
        do {
            try packet.write(into: &encoded)
        } catch {
            invariant(false, "\(packet), decoded, does not encode: \(error)")
        }
        let original = Packet(bytes)
        let reencoded = Packet(encoded)
        invariant(
            original.firstByte == reencoded.firstByte && original.body.elementsEqual(reencoded.body),
            "\(packet) encodes to \(Array(encoded.readableBytesView)), decoded from \(Array(bytes.readableBytesView))")
        var again = encoded
        let decoded = try? MQTTPacket.decode(
            from: &again, maximumPacketSize: MQTTPacketDecoder.specificationMaximumPacketSize)
        invariant(decoded == packet && again.readableBytes == 0, "\(packet) encoded decodes to \(again)")
    }

    static func checkMatching(topics: [String], filters: [String]) {
        for topic in topics.prefix(8) {
            let itself = try? TopicFilter(topic)
            invariant(itself?.matches(topic) == true, "topic '\(topic)' does not match itself as a filter")
            for filter in filters.prefix(8) {
                guard let compiled = try? TopicFilter(filter) else {
                    invariant(false, "filter '\(filter)' was decoded but is not valid")
                    return
                }
                let expected = plainMatch(filter: filter, topic: topic)
                invariant(compiled.matches(topic) == expected, "'\(filter)' matches '\(topic)': \(!expected)")
            }
        }
    }

    /// MQTT 3.1.1 §4.7 read plainly: split both at `/`, `+` takes one level, `#` the rest including none, and a
    /// filter starting with a wildcard never matches a topic starting with `$`.
    static func plainMatch(filter: String, topic: String) -> Bool {
        let filterLevels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let topicLevels = topic.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        if filter.utf8.first == UInt8(ascii: "+") || filter.utf8.first == UInt8(ascii: "#"),
            topic.utf8.first == UInt8(ascii: "$")
        {
            return false
        }
        for (index, level) in filterLevels.enumerated() {
            if level.elementsEqual("#".utf8) { return true }
            guard index < topicLevels.count else { return false }
            if !level.elementsEqual("+".utf8) && !level.elementsEqual(topicLevels[index]) { return false }
        }
        return filterLevels.count == topicLevels.count
    }
}

/// A packet's bytes, split by its own reading of the fixed header (MQTT 3.1.1 §2.2).
private struct Packet {
    var firstByte: UInt8
    /// Everything after the remaining length.
    var body: ByteBufferView

    init(_ bytes: ByteBuffer) {
        var bytes = bytes
        self.firstByte = bytes.readInteger()!
        // The remaining length: 1 to 4 bytes, the last one without the continuation bit.
        while bytes.readInteger(as: UInt8.self)! & 0x80 != 0 {}
        self.body = bytes.readableBytesView
    }
}
