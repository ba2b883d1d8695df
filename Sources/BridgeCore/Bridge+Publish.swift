import BridgeLink
import BridgeMQTT
import Logging
import NIOCore

/// Publishes to the ESP in version 2: topic ids (§8.7) and fragments (§8.6).
extension Bridge {
    /// Resets what lives for one link session: topic ids both ways, a half-joined message, the
    /// line-rate switch (§8.1, §8.7, §8.8).
    func startLinkFeatures() {
        topicIDs = TopicIDAssigner(
            capacity: Int(peerHello?.maximumTopics ?? 0),
            maximumTopicLength: LinkProtocol.maximumRegisteredTopicLength)
        publishesSentWithTopicID.removeAll()
        espTopics.removeAll()
        reassembler.reset()
        baudTimer?.cancel()
        baudTimer = nil
        baudSwitch = .notTried
        status.link.topicIDs = 0
        status.link.espTopicIDs = 0
    }

    /// Why a local publish can never reach the broker through the link, or `nil` when it can.
    func publishRefusal(topic: String, payloadLength: Int) -> String? {
        if payloadLength > configuration.maximumMessageSize {
            return "a \(payloadLength)-byte message to '\(topic)' is larger than the largest the bridge carries, "
                + "\(configuration.maximumMessageSize) bytes (--max-message-size)"
        }
        let longestTopic = LinkFragmenter.maximumTopicLength(maximumBody: peerMaximumBody)
        if topic.utf8.count > longestTopic {
            return "the topic '\(topic)' (\(topic.utf8.count) bytes) does not fit a link frame of the ESP "
                + "(topics of at most \(longestTopic) bytes)"
        }
        return nil
    }

    /// Sends a publish to the ESP: with a topic id when the policy gives it one (after a REGISTER
    /// when the id is new), and in fragments when it is larger than the ESP's frames.
    /// - Returns: `false` when it cannot be sent at all (the caller refused such ones already).
    @discardableResult
    func sendPublish(_ publish: LinkPublish, flush: Bool = true) -> Bool {
        var publish = publish
        switch topicIDs.choose(for: publish.topic) {
        case .name:
            break
        case .id(let id):
            publish.topicID = id
        case .register(let id):
            // Sequenced, so the ESP has it before the PUBLISH that uses it (§8.7).
            send(.register(LinkRegister(topicID: id, topic: publish.topic)), flush: false)
            status.link.topicRegistrations += 1
            status.link.topicIDs = topicIDs.count
            logger.debug("topic id \(id) registered for '\(publish.topic)'")
            publish.topicID = id
        }
        let frames: [LinkFrame]
        do {
            frames = try LinkFragmenter.frames(for: publish, maximumBody: peerMaximumBody)
        } catch {
            logger.error("cannot send a publish to '\(publish.topic)' to the ESP: \(error)")
            return false
        }
        if publish.messageID != 0, publish.topicID != nil {
            publishesSentWithTopicID[publish.messageID] = publish.topic
        }
        if frames.count > 1 { status.link.fragmentsOut += frames.count }
        sendSequenced(frames, flush: flush)
        return true
    }
}
