import NIOCore

/// Splits the byte stream from the line into frames, following the receiver rules of §2 and §3.
///
/// The decoder never throws: the line carries boot logs and noise (§1), so garbage is expected and
/// is reported as ``Output/discarded(_:)`` for the session to count, one per discarded chunk. Empty
/// chunks (two delimiters in a row) are skipped silently.
///
/// It holds at most ``maximumEncodedSize`` bytes of an unfinished chunk: a chunk that grows past the
/// bound is reported as ``LinkFrameError/oversize(maximumEncodedSize:)`` at once and then dropped as
/// it arrives, up to the next delimiter (§2 rule 2).
///
/// Use it with `ByteToMessageHandler` or `NIOSingleStepByteToMessageProcessor`.
public struct LinkFrameDecoder: NIOSingleStepByteToMessageDecoder, Sendable {
    /// What the decoder produces for each non-empty chunk.
    public enum Output: Hashable, Sendable {
        /// A frame that passed every check.
        case frame(LinkFrame)
        /// A chunk that was discarded, and why.
        case discarded(LinkFrameError)
    }

    /// Each call yields a frame or a discarded chunk.
    public typealias InboundOut = Output

    /// The largest body (header, payload and CRC) accepted: the `max_body` this side announces in its
    /// HELLO (§3). Longer chunks are discarded as oversize.
    ///
    /// It may be changed between calls; the new bound applies to the chunk being collected.
    public var maximumBodySize: Int {
        didSet {
            precondition(self.maximumBodySize >= LinkProtocol.minimumBodySize, "maximumBodySize below a minimal body")
        }
    }

    /// The longest chunk accepted: the COBS-encoded size of a ``maximumBodySize`` body.
    public var maximumEncodedSize: Int {
        COBS.maximumEncodedLength(bodyLength: self.maximumBodySize)
    }

    /// Whether an oversize chunk is being dropped up to its delimiter.
    private var isDiscarding = false

    /// How many readable bytes at the front of the buffer are already known to hold no delimiter, so
    /// that a chunk arriving in many small reads is searched once, not once per read.
    private var searchedBytes = 0

    /// A decoder accepting bodies of up to `maximumBodySize` bytes.
    ///
    /// - Parameter maximumBodySize: the `max_body` this side announces in its HELLO; at least 512 by
    ///   the spec (§3), though smaller values down to a minimal body are allowed for tests.
    public init(maximumBodySize: Int = LinkProtocol.minimumMaximumBodySize) {
        precondition(maximumBodySize >= LinkProtocol.minimumBodySize, "maximumBodySize below a minimal body")
        self.maximumBodySize = maximumBodySize
    }

    /// Yields the next frame or discarded chunk, or `nil` when the buffer ends inside a chunk.
    ///
    /// Consumes every byte it looks at except the unfinished chunk at the end, which stays in the
    /// buffer (at most ``maximumEncodedSize`` bytes) until more data arrives.
    public mutating func decode(buffer: inout ByteBuffer) -> Output? {
        while true {
            let readable = buffer.readableBytes
            // `min` only guards against a buffer that shrank behind the decoder's back.
            let searchFrom = self.isDiscarding ? 0 : min(self.searchedBytes, readable)
            let delimiter = buffer.withUnsafeReadableBytes { bytes in
                bytes[searchFrom...].firstIndex(of: 0)
            }

            guard let delimiter else {
                if self.isDiscarding {
                    // Still inside the oversize chunk: drop what arrived, keep nothing.
                    buffer.moveReaderIndex(forwardBy: readable)
                    return nil
                }
                if readable > self.maximumEncodedSize {
                    // Report now rather than at the delimiter, so nothing past the bound is held.
                    buffer.moveReaderIndex(forwardBy: readable)
                    self.searchedBytes = 0
                    self.isDiscarding = true
                    return .discarded(.oversize(maximumEncodedSize: self.maximumEncodedSize))
                }
                self.searchedBytes = readable
                return nil
            }

            self.searchedBytes = 0
            if self.isDiscarding {
                // The delimiter ending the oversize chunk, which was reported already.
                buffer.moveReaderIndex(forwardBy: delimiter + 1)
                self.isDiscarding = false
                continue
            }
            if delimiter == 0 {
                // An empty chunk: two delimiters in a row (§2 rule 1).
                buffer.moveReaderIndex(forwardBy: 1)
                continue
            }

            let chunk = buffer.readSlice(length: delimiter)!
            buffer.moveReaderIndex(forwardBy: 1)
            return self.decodeChunk(chunk)
        }
    }

    /// Like ``decode(buffer:)``, then reports a chunk the stream ended in as a framing error
    /// (``LinkFrameError/FramingFailure/unterminated(length:)``) and starts afresh.
    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) -> Output? {
        if let output = self.decode(buffer: &buffer) {
            return output
        }
        // Whatever is left was never closed by a delimiter, so it cannot be a frame (§2 rule 1).
        let leftover = buffer.readableBytes
        buffer.moveReaderIndex(forwardBy: leftover)
        let wasDiscarding = self.isDiscarding
        self.isDiscarding = false
        self.searchedBytes = 0
        if leftover == 0 || wasDiscarding {
            return nil
        }
        return .discarded(.framing(.unterminated(length: leftover)))
    }

    private func decodeChunk(_ chunk: ByteBuffer) -> Output {
        if chunk.readableBytes > self.maximumEncodedSize {
            // A whole chunk arrived in one read, or the bound was lowered meanwhile.
            return .discarded(.oversize(maximumEncodedSize: self.maximumEncodedSize))
        }
        var body = ByteBuffer()
        do {
            try COBS.decode(chunk, into: &body)
        } catch {
            return .discarded(.framing(.cobs(error)))
        }
        // Decoding drops at least one code byte, but a chunk of short runs can still stand for a few
        // bytes more than maximumBodySize; the receiver does not accept such a body either.
        if body.readableBytes > self.maximumBodySize {
            return .discarded(.oversize(maximumEncodedSize: self.maximumEncodedSize))
        }
        do {
            return .frame(try LinkFrame(body: body))
        } catch {
            return .discarded(error)
        }
    }
}
