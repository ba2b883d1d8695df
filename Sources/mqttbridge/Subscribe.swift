import ArgumentParser
import BridgeMQTT
import NIOCore

struct Subscribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sub", abstract: "Print messages that match topic filters.")

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .shortAndLong, help: "Topic filter (+ and # allowed); repeat for several.")
    var topic: [String]

    @Option(name: [.customShort("C"), .customLong("count")], help: "Exit after this many messages.")
    var count: Int?

    @Option(name: .shortAndLong, help: "Subscription qos: 0 or 1.")
    var qos = 1

    @Flag(name: .shortAndLong, help: "Print the topic before each message.")
    var verbose = false

    func validate() throws {
        guard !topic.isEmpty else { throw ValidationError("give at least one -t FILTER") }
        for filter in topic {
            do {
                _ = try TopicFilter(filter)
            } catch {
                throw ValidationError("-t '\(filter)' is not a valid topic filter: \(error)")
            }
        }
        guard qos == 0 || qos == 1 else { throw ValidationError("-q must be 0 or 1") }
        if let count, count < 1 { throw ValidationError("-C must be at least 1") }
    }

    func run() async throws {
        let client = LocalMQTTClient(options: connection)
        let subscriptions = topic.map { MQTTSubscription(filter: $0, qos: qos == 1 ? .atLeastOnce : .atMostOnce) }
        try await client.withSession { inbound, outbound in
            try await outbound.write(.subscribe(MQTTSubscribe(packetId: 1, subscriptions: subscriptions)))
            var received = 0
            while count.map({ received < $0 }) ?? true {
                switch try await client.next(&inbound) {
                case .subAck(let ack):
                    if let index = ack.returnCodes.firstIndex(of: .failure) {
                        throw CLIError(description: "the subscription to '\(topic[index])' was refused")
                    }
                case .publish(let publish):
                    if let id = publish.packetId, publish.qos == .atLeastOnce {
                        try await outbound.write(.pubAck(MQTTPubAck(packetId: id)))
                    }
                    let text = String(buffer: publish.payload)
                    // Unbuffered, so that a pipe sees each message as it arrives.
                    writeLine(verbose ? "\(publish.topic) \(text)" : text)
                    received += 1
                default:
                    break
                }
            }
        }
    }
}
