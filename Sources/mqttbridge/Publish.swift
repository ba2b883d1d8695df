import ArgumentParser
import BridgeMQTT
import NIOCore

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pub", abstract: "Publish one message through the bridge.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .shortAndLong, help: "Topic to publish to.")
    var topic: String

    @Option(name: [.customShort("m"), .customLong("message")], help: "The message.")
    var message: String

    @Option(name: .shortAndLong, help: "Quality of service: 0 or 1.")
    var qos = 0

    @Flag(name: [.customShort("r"), .customLong("retain")], help: "Ask the broker to retain the message.")
    var retain = false

    func validate() throws {
        guard qos == 0 || qos == 1 else { throw ValidationError("-q must be 0 or 1") }
        do {
            try TopicName.validate(topic)
        } catch {
            throw ValidationError("-t '\(topic)' is not a valid topic name: \(error)")
        }
    }

    func run() async throws {
        let client = LocalMQTTClient(options: connection)
        let publish = MQTTPublish(
            topic: topic, payload: ByteBuffer(string: message), qos: qos == 1 ? .atLeastOnce : .atMostOnce,
            retain: retain, packetId: qos == 1 ? 1 : nil)
        try await withTimeout(seconds: connection.timeout, "the broker did not acknowledge the message") {
            try await client.withSession { inbound, outbound in
                try await outbound.write(.publish(publish))
                guard publish.qos == .atLeastOnce else { return }
                while true {
                    if case .pubAck = try await client.next(&inbound) { return }
                }
            }
        }
    }
}
