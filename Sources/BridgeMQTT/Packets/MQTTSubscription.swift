/// One entry of a SUBSCRIBE: a topic filter and the highest QoS the client wants for it (MQTT 3.1.1 §3.8.3).
public struct MQTTSubscription: Sendable, Hashable {
    /// A valid topic filter: the decoder refuses SUBSCRIBEs with invalid ones and the encoder will not write them.
    /// Make a ``TopicFilter`` from it to match topics.
    public var filter: String
    /// The maximum QoS the client will accept for matching messages; the server may grant less.
    public var qos: MQTTQoS

    public init(filter: String, qos: MQTTQoS = .atMostOnce) {
        self.filter = filter
        self.qos = qos
    }
}
