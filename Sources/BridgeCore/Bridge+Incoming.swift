import BridgeLink
import BridgeMQTT
import Logging
import NIOCore

/// Messages from the broker in version 2: fragments joined (§8.6) and the ESP's topic ids (§8.7).
extension Bridge {
    /// A MESSAGE frame: joined with its fragments, its topic id resolved, then routed.
    func receivedMessageFrame(_ frame: LinkFrame) {
        let continuing = reassembler.isInsideMessage
        let step: MessageReassembler.Step
        do {
            step = try reassembler.receive(frame)
        } catch {
            rejectedFrame(error)
            return
        }
        switch step {
        case .complete(var message):
            if let id = message.topicID {
                guard let topic = espTopics[id] else {
                    // §8.7: an unknown MESSAGE topic id is answered ERROR malformed.
                    status.traffic.droppedFromBroker += 1
                    rejectedFrame(.malformed(.message, "topic id \(id) is not registered"))
                    return
                }
                message.topic = topic
                message.topicID = nil
            }
            if continuing { status.link.fragmentsIn += 1 }
            received(.incoming(message))
        case .incomplete:
            status.link.fragmentsIn += 1
        case .refused(let reason):
            status.traffic.droppedFromBroker += 1
            logger.error("message from the broker refused: \(reason)")
        case .skipped:
            break
        }
    }

    /// Any other sequenced frame: a fragmented message still open can never be finished.
    func messageInterrupted() {
        guard let reason = reassembler.interrupt() else { return }
        status.traffic.droppedFromBroker += 1
        logger.error("message from the broker dropped: \(reason)")
    }

    /// REGISTER from the ESP: `topic_id` stands for `topic` in its MESSAGE frames from now on.
    func receivedTopicRegistration(_ register: LinkRegister) {
        guard register.topicID <= UInt16(Self.hostMaximumTopics) else {
            rejectedFrame(
                .malformed(
                    .registerFromESP,
                    "topic_id \(register.topicID) is above the max_topics \(Self.hostMaximumTopics) the host announced")
            )
            return
        }
        guard (try? TopicName(register.topic)) != nil else {
            espTopics[register.topicID] = nil
            rejectedFrame(.malformed(.registerFromESP, "'\(register.topic)' is not a valid topic name"))
            return
        }
        espTopics[register.topicID] = register.topic
        status.link.espTopicIDs = espTopics.count
        logger.debug("the ESP registered topic id \(register.topicID) for '\(register.topic)'")
    }
}
