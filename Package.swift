// swift-tools-version: 6.0
// mqttbridge: MQTT for a WiFi-less Linux host through an ESP8266 on its UART.
// Dependencies point one way: pure protocol modules → devices → core → executables.
import PackageDescription

let package = Package(
    name: "mqttbridge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mqttbridged", targets: ["mqttbridged"]),
        .executable(name: "mqttbridge", targets: ["mqttbridge"]),
        .executable(name: "esp-sim", targets: ["esp-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // C library wrapper: only BridgeSerial imports it.
        .systemLibrary(
            name: "CLibSerialPort",
            pkgConfig: "libserialport",
            providers: [.apt(["libserialport-dev"])]
        ),
        // Debian's libsqlite3: only BridgeSpool imports it.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The durable outbound queue: accepted qos 1/2 publishes on disk until the broker has them.
        .target(
            name: "BridgeSpool",
            dependencies: [
                "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The link protocol (firmware-protocol.md): frames, messages, codec. No I/O.
        .target(
            name: "BridgeLink",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // MQTT 3.1.1 packets, codec and topic filters. No I/O.
        .target(
            name: "BridgeMQTT",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // Serial devices: termios for pseudo-terminals, libserialport for real UARTs.
        .target(
            name: "BridgeSerial",
            dependencies: [
                "CLibSerialPort",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // sysfs GPIO lines and the ESP reset controller.
        .target(
            name: "BridgeGPIO",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        // The daemon: ESP session, router, local MQTT server, status.
        .target(
            name: "BridgeCore",
            dependencies: [
                "BridgeLink", "BridgeMQTT", "BridgeSerial", "BridgeGPIO", "BridgeSpool",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        // The simulated board: firmware under MicroPython behind a simulated wire.
        .target(
            name: "BridgeSim",
            dependencies: [
                "BridgeGPIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "mqttbridged",
            dependencies: [
                "BridgeCore",
                "BridgeSerial",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "mqttbridge",
            dependencies: [
                "BridgeMQTT",
                "BridgeCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "esp-sim",
            dependencies: [
                "BridgeSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Fuzz targets: scripts/fuzz builds them with libFuzzer (-sanitize=fuzzer -DFUZZING); the ordinary build
        // makes them replay inputs from files, so a crash reproduces without the sanitizers.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/FuzzSupport"),
        .executableTarget(
            name: "FuzzLink",
            dependencies: ["BridgeLink", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzLink"
        ),
        .executableTarget(
            name: "FuzzMQTT",
            dependencies: ["BridgeMQTT", "FuzzSupport", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzMQTT"
        ),
        .testTarget(name: "BridgeLinkTests", dependencies: ["BridgeLink"]),
        .testTarget(
            name: "BridgeMQTTTests", dependencies: ["BridgeMQTT", .product(name: "NIOTestUtils", package: "swift-nio")]),
        .testTarget(name: "BridgeGPIOTests", dependencies: ["BridgeGPIO"]),
        .testTarget(name: "BridgeSerialTests", dependencies: ["BridgeSerial"]),
        .testTarget(name: "BridgeCoreTests", dependencies: ["BridgeCore"]),
        .testTarget(name: "BridgeSimTests", dependencies: ["BridgeSim"]),
        .testTarget(name: "BridgeSpoolTests", dependencies: ["BridgeSpool"]),
    ],
    swiftLanguageModes: [.v6]
)
