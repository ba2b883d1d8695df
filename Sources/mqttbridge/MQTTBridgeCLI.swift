import ArgumentParser

@main
struct MQTTBridgeCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqttbridge",
        abstract: "Publish, subscribe and see the state of mqttbridged over its local socket.",
        subcommands: [Publish.self, Subscribe.self, Status.self]
    )
}

/// Options every subcommand shares.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("socket"), help: "mqttbridged's socket (or set MQTTBRIDGE_SOCKET).")
    var socketPath: String?

    @Option(name: [.customShort("i"), .customLong("id")], help: "MQTT client id (default: mqttbridge-cli-PID).")
    var clientID: String?

    @Option(help: "Seconds to wait for the daemon's answers.")
    var timeout = 30

    var resolvedSocketPath: String {
        socketPath ?? environment("MQTTBRIDGE_SOCKET") ?? "/run/mqttbridge/mqtt.sock"
    }
}
