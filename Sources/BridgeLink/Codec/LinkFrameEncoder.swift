import NIOCore

/// Writes frames to the line, each as COBS(body) and a delimiter, with an extra leading delimiter
/// when the line has been quiet (§2).
///
/// The sender rule: a frame gets a `0x00` before it when nothing was written for
/// ``idleInterval`` (20 ms) or more, and always the first frame, so that garbage already on the
/// line (noise, a boot log) is terminated and does not spoil it. Frames written back to back need
/// none: the delimiter that ends one starts the next.
///
/// "Written" is measured when a frame is encoded, not when its last bit leaves the UART. That errs
/// towards an extra delimiter after a long frame, which the receiver skips as an empty chunk, and
/// never towards a missing one.
///
/// The encoder keeps the time of the last write, so it is a class; like the `MessageToByteHandler`
/// that holds it, it belongs to one channel and is not `Sendable`.
public final class LinkFrameEncoder: MessageToByteEncoder {
    /// The encoder writes frames.
    public typealias OutboundIn = LinkFrame

    /// The silence after which a frame gets a leading delimiter.
    public let idleInterval: TimeAmount

    private let now: @Sendable () -> NIODeadline
    private var lastWrite: NIODeadline?

    /// An encoder that has written nothing yet, so its first frame gets a leading delimiter.
    ///
    /// - Parameters:
    ///   - idleInterval: the silence after which a frame gets a leading delimiter; 20 ms by §2.
    ///   - now: the clock; tests inject a manual one.
    public init(
        idleInterval: TimeAmount = LinkProtocol.delimiterIdleInterval,
        now: @escaping @Sendable () -> NIODeadline = { NIODeadline.now() }
    ) {
        self.idleInterval = idleInterval
        self.now = now
    }

    /// Appends `frame` to `out` as COBS(body) and a delimiter, with a leading delimiter when the
    /// line has been quiet for ``idleInterval`` or this is the first frame.
    public func encode(data frame: LinkFrame, out: inout ByteBuffer) {
        let now = self.now()
        let leadingDelimiter: Bool
        if let lastWrite = self.lastWrite {
            leadingDelimiter = now - lastWrite >= self.idleInterval
        } else {
            leadingDelimiter = true
        }
        self.lastWrite = now
        frame.encode(into: &out, leadingDelimiter: leadingDelimiter)
    }
}

@available(*, unavailable)
extension LinkFrameEncoder: Sendable {}
