import NIOCore

/// Splits a PUBLISH too large for one frame into fragments (§8.6), host to ESP.
///
/// Sizes are those of sequenced frames (``LinkFrame/sequencedHeaderSize``), since the session adds
/// `seq`, `ack` and `credit` to every one. A publish that fits goes whole, in one frame without
/// `MORE`. Otherwise the first fragment holds all the fixed fields with `LENGTH` set and
/// `total_length`, and as much payload as fits; each further fragment is a PUBLISH frame whose
/// payload is the next part of the message; every fragment but the last has `MORE` set.
///
/// The frames must reach the session back to back: the ESP writes the MQTT packet as the fragments
/// come, and another sequenced frame between them ends its broker connection.
public enum LinkFragmenter {
    /// Why a publish cannot be sent at all, even in fragments.
    public enum Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        /// The fixed fields (mostly the topic) leave no room in a first fragment.
        case topicTooLong(topicLength: Int, maximumBody: Int)
        /// The payload is over what `total_length` (u32) can say.
        case payloadTooLarge(length: Int)
        /// A string does not fit its length prefix.
        case encoding(LinkMessageEncodingError)

        public var description: String {
            switch self {
            case .topicTooLong(let length, let maximumBody):
                return "a topic of \(length) bytes does not fit a link frame of at most \(maximumBody) bytes"
            case .payloadTooLarge(let length):
                return "a payload of \(length) bytes is over what total_length can say"
            case .encoding(let error):
                return "\(error)"
            }
        }
    }

    /// The frames that carry `publish` to a peer whose `max_body` is `maximumBody`, in order.
    /// The publish's ``LinkPublish/totalLength`` is ignored: this sets it when it fragments.
    public static func frames(for publish: LinkPublish, maximumBody: Int) throws(Refusal) -> [LinkFrame] {
        var whole = publish
        whole.totalLength = nil
        if whole.sequencedBodySize <= maximumBody {
            do {
                return [try LinkMessage.publish(whole).makeFrame()]
            } catch {
                throw .encoding(error)
            }
        }
        let totalLength = publish.payload.readableBytes
        guard totalLength <= Int(UInt32.max) else { throw .payloadTooLarge(length: totalLength) }
        // Header, fixed fields with total_length, CRC: what remains of the first frame is payload.
        var first = whole
        first.totalLength = UInt32(totalLength)
        let firstRoom = maximumBody - LinkFrame.sequencedHeaderSize - first.fixedFieldsSize - 4
        guard firstRoom >= 0 else {
            throw .topicTooLong(topicLength: publish.topic.utf8.count, maximumBody: maximumBody)
        }
        var payload = publish.payload
        first.payload = payload.readSlice(length: min(firstRoom, totalLength))!
        var firstFrame: LinkFrame
        do {
            firstFrame = try LinkMessage.publish(first).makeFrame()
        } catch {
            throw .encoding(error)
        }
        firstFrame.more = payload.readableBytes > 0
        var frames = [firstFrame]
        let room = maximumBody - LinkFrame.sequencedHeaderSize - 4
        while payload.readableBytes > 0 {
            let part = payload.readSlice(length: min(room, payload.readableBytes))!
            frames.append(LinkFrame(type: .publish, more: payload.readableBytes > 0, payload: part))
        }
        return frames
    }

    /// The largest topic (in bytes, sent by name) a peer with this `max_body` can take in a first
    /// fragment: anything longer is refused rather than sent.
    public static func maximumTopicLength(maximumBody: Int) -> Int {
        maximumBody - LinkFrame.sequencedHeaderSize - LinkPublish.fixedFieldsSize(topicLength: 0, withTotalLength: true)
            - 4
    }
}
