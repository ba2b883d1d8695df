import NIOCore

/// Joins MESSAGE fragments from the ESP into whole messages (§8.6), up to a size limit.
///
/// Feed it every MESSAGE frame the session delivers, in order, and call ``interrupt()`` for every
/// other sequenced frame. A message whose first fragment announces more than
/// ``maximumMessageSize`` bytes is refused before anything is buffered, and its remaining
/// fragments are skipped; so is a message whose fragments do not add up to its `total_length`
/// (the firmware ends one cut short with an empty last fragment), and one interrupted by another
/// sequenced frame. Nothing of a refused message is ever delivered.
///
/// A pure state machine, per link session: ``reset()`` at every new session.
public struct MessageReassembler: Sendable {
    /// What one MESSAGE frame amounted to.
    public enum Step: Hashable, Sendable {
        /// A whole message: delivered in one frame, or the last fragment of one.
        case complete(LinkIncoming)
        /// A fragment was taken; more are to come.
        case incomplete
        /// A message was given up, for the reason given (for the log). Its remaining fragments,
        /// if any, are skipped silently.
        case refused(String)
        /// A fragment of a message already refused.
        case skipped
    }

    private enum State: Sendable {
        case idle
        /// Joining a message: its fixed fields, and the payload so far in `joined`.
        case joining(LinkIncoming, expected: Int, joined: ByteBuffer)
        /// Dropping the fragments of a refused message up to its last one.
        case skipping
    }

    /// The largest message payload joined; a larger one is refused.
    public let maximumMessageSize: Int
    private var state: State = .idle

    /// - Parameter maximumMessageSize: the largest payload, in bytes, it will join.
    public init(maximumMessageSize: Int) {
        precondition(maximumMessageSize > 0)
        self.maximumMessageSize = maximumMessageSize
    }

    /// Whether a fragmented message is being joined or skipped.
    public var isInsideMessage: Bool {
        if case .idle = state { return false }
        return true
    }

    /// Forgets any message in progress, without a word: a new session starts (§8.1).
    public mutating func reset() {
        state = .idle
    }

    /// Another sequenced frame arrived. Fragments are consecutive (§8.6), so a message in progress
    /// can never be finished: returns why it was given up, or `nil` when none was in progress.
    public mutating func interrupt() -> String? {
        defer { state = .idle }
        switch state {
        case .idle:
            return nil
        case .joining(let message, let expected, let joined):
            return "a \(expected)-byte message on '\(message.topicDescription)' was cut off by another frame "
                + "after \(joined.readableBytes) bytes; dropped"
        case .skipping:
            return nil
        }
    }

    /// Takes the next MESSAGE frame.
    /// - Throws: ``LinkMessageError`` when a frame that starts a message does not decode; the
    ///   fragments that belong to it (when it has `MORE`) are then skipped.
    public mutating func receive(_ frame: LinkFrame) throws(LinkMessageError) -> Step {
        switch state {
        case .idle:
            return try start(frame)
        case .skipping:
            if !frame.more { state = .idle }
            return .skipped
        case .joining(let message, let expected, var joined):
            // Release the state's reference first, so that appending does not copy the buffer.
            state = .idle
            let received = joined.readableBytes + frame.payload.readableBytes
            guard received <= expected else {
                state = frame.more ? .skipping : .idle
                return .refused(
                    "a message on '\(message.topicDescription)' sent \(received) bytes, more than its total_length "
                        + "\(expected); dropped")
            }
            var part = frame.payload
            joined.writeBuffer(&part)
            guard !frame.more else {
                state = .joining(message, expected: expected, joined: joined)
                return .incomplete
            }
            guard received == expected else {
                return .refused(
                    "a \(expected)-byte message on '\(message.topicDescription)' ended after \(received) bytes "
                        + "(cut short by the ESP); dropped")
            }
            var whole = message
            whole.totalLength = nil
            whole.payload = joined
            return .complete(whole)
        }
    }

    private mutating func start(_ frame: LinkFrame) throws(LinkMessageError) -> Step {
        let decoded: LinkMessage
        do {
            decoded = try LinkMessage(frame: frame)
        } catch {
            state = frame.more ? .skipping : .idle
            throw error
        }
        guard case .incoming(let message) = decoded else { throw .unknownType(frame.type.rawValue) }
        guard let total = message.totalLength.map(Int.init) else {
            guard !frame.more else {
                state = .skipping
                return .refused(
                    "a fragmented message on '\(message.topicDescription)' has no total_length (§8.6); dropped")
            }
            return .complete(message)
        }
        let first = message.payload.readableBytes
        guard total <= maximumMessageSize else {
            state = frame.more ? .skipping : .idle
            return .refused(
                "a \(total)-byte message on '\(message.topicDescription)' is larger than the largest accepted, "
                    + "\(maximumMessageSize) bytes (--max-message-size); dropped")
        }
        guard frame.more else {
            guard total == first else {
                return .refused(
                    "a message on '\(message.topicDescription)' announces \(total) bytes and carries \(first); "
                        + "dropped")
            }
            var whole = message
            whole.totalLength = nil
            return .complete(whole)
        }
        guard total > first else {
            state = .skipping
            return .refused(
                "a message on '\(message.topicDescription)' announces \(total) bytes but its first fragment "
                    + "already carries \(first); dropped")
        }
        var joined = ByteBuffer()
        joined.reserveCapacity(total)
        var part = message.payload
        joined.writeBuffer(&part)
        var fields = message
        fields.payload = ByteBuffer()
        state = .joining(fields, expected: total, joined: joined)
        return .incomplete
    }
}

extension LinkIncoming {
    /// The topic for a log line: its name, or its id when it came as one.
    var topicDescription: String {
        topicID.map { "topic id \($0)" } ?? topic
    }
}
