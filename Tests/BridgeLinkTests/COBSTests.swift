import BridgeLink
import NIOCore
import Testing

@Suite("COBS")
struct COBSTests {
    static func encode(_ body: [UInt8]) -> [UInt8] {
        var out = ByteBuffer()
        COBS.encode(ByteBuffer(bytes: body), into: &out)
        return out.bytes
    }

    /// The examples of the COBS paper and Wikipedia, with the shortest encoding of a full run.
    @Test(
        "known encodings",
        arguments: [
            ("", "01"),
            ("00", "01 01"),
            ("00 00", "01 01 01"),
            ("00 11 00", "01 02 11 01"),
            ("11 22 00 33", "03 11 22 02 33"),
            ("11 22 33 44", "05 11 22 33 44"),
            ("11 00 00 00", "02 11 01 01 01"),
        ]
    )
    func knownEncodings(body: String, encoded: String) throws {
        #expect(Self.encode(hexBytes(body)) == hexBytes(encoded))
        #expect(try COBS.decode(ByteBuffer(hex: encoded)).bytes == hexBytes(body))
    }

    @Test("long runs: 01…FE, 00 01…FE, 01…FF, 02…FF 00, 03…FF 00 01")
    func longRunEncodings() throws {
        let oneToFE = (1...0xFE).map { UInt8($0) }
        let cases: [(body: [UInt8], encoded: [UInt8])] = [
            (oneToFE, [0xFF] + oneToFE),
            ([0x00] + oneToFE, [0x01, 0xFF] + oneToFE),
            ((1...0xFF).map { UInt8($0) }, [0xFF] + oneToFE + [0x02, 0xFF]),
            ((2...0xFF).map { UInt8($0) } + [0x00], [0xFF] + (2...0xFF).map { UInt8($0) } + [0x01, 0x01]),
            ((3...0xFF).map { UInt8($0) } + [0x00, 0x01], [0xFE] + (3...0xFF).map { UInt8($0) } + [0x02, 0x01]),
        ]
        for (body, encoded) in cases {
            #expect(Self.encode(body) == encoded)
            #expect(try COBS.decode(ByteBuffer(bytes: encoded)).bytes == body)
        }
    }

    static let edgeBodies: [(String, [UInt8])] = {
        func run(_ count: Int) -> [UInt8] { (0..<count).map { UInt8($0 % 255 + 1) } }
        func withZeros(_ count: Int, every: Int) -> [UInt8] {
            (0..<count).map { $0 % every == every - 1 ? 0 : UInt8($0 % 255 + 1) }
        }
        var random = SplitMix64(seed: 0xC0B5)
        return [
            ("empty", []),
            ("one zero", [0]),
            ("all zeros, 2", [0, 0]),
            ("all zeros, 254", [UInt8](repeating: 0, count: 254)),
            ("all zeros, 1000", [UInt8](repeating: 0, count: 1000)),
            ("one byte", [0x42]),
            ("253 non-zero", run(253)),
            ("254 non-zero", run(254)),
            ("255 non-zero", run(255)),
            ("508 non-zero", run(508)),
            ("1000 non-zero", run(1000)),
            ("253 with zeros", withZeros(253, every: 100)),
            ("254 with zeros", withZeros(254, every: 100)),
            ("255 with zeros", withZeros(255, every: 100)),
            ("508 with zeros", withZeros(508, every: 100)),
            ("1000 with zeros", withZeros(1000, every: 100)),
            ("zero then full 254 run", [0] + run(254)),
            ("zero-separated full runs", run(254) + [0] + run(254)),
            ("ends in a full 254 run after 10", run(10) + [0] + run(254)),
            ("full run then zero", run(254) + [0]),
            ("zero every other byte", withZeros(600, every: 2)),
            ("random 1000", (0..<1000).map { _ in UInt8.random(in: 0...255, using: &random) }),
        ]
    }()

    @Test("round-trips edge cases, never writes a zero, stays within the bound", arguments: Self.edgeBodies)
    func roundTrip(name: String, body: [UInt8]) throws {
        let encoded = Self.encode(body)
        #expect(!encoded.contains(0))
        #expect(encoded.count <= COBS.maximumEncodedLength(bodyLength: body.count))
        #expect(try COBS.decode(ByteBuffer(bytes: encoded)).bytes == body)
    }

    @Test("a body ending in a full run is encoded without a trailing 0x01 code")
    func shortestEncodingOfFullRun() {
        let run = (0..<508).map { UInt8($0 % 255 + 1) }
        let encoded = Self.encode(run)
        #expect(encoded.count == 510)  // FF + 254, FF + 254
        #expect(encoded[0] == 0xFF && encoded[255] == 0xFF)
        #expect(COBS.maximumEncodedLength(bodyLength: 508) == 511)
    }

    @Test("the optional trailing 0x01 after a full run decodes to nothing (§2)")
    func trailingOneCode() throws {
        let run = (1...254).map { UInt8($0) }
        #expect(try COBS.decode(ByteBuffer(bytes: [0xFF] + run + [0x01])).bytes == run)
        #expect(try COBS.decode(ByteBuffer(bytes: [0xFF] + run + [0xFF] + run + [0x01])).bytes == run + run)
    }

    @Test("appends to what the output already holds")
    func appends() throws {
        var out = ByteBuffer(bytes: [0xAA])
        COBS.encode(ByteBuffer(bytes: [0x11, 0x00]), into: &out)
        #expect(out.bytes == [0xAA, 0x02, 0x11, 0x01])
        var decoded = ByteBuffer(bytes: [0xBB])
        try COBS.decode(ByteBuffer(bytes: [0x02, 0x11, 0x01]), into: &decoded)
        #expect(decoded.bytes == [0xBB, 0x11, 0x00])
    }

    @Test(
        "a code byte pointing past the end is a framing error",
        arguments: [
            ("05 11 22", 0, 0x05, 3),
            ("02 11 03 22", 2, 0x03, 4),
            ("02", 0, 0x02, 1),
        ] as [(String, Int, UInt8, Int)]
    )
    func codePastEnd(chunk: String, offset: Int, code: UInt8, length: Int) {
        var out = ByteBuffer(bytes: [0x99])
        #expect(throws: COBSDecodingError.codePastEnd(offset: offset, code: code, chunkLength: length)) {
            try COBS.decode(ByteBuffer(hex: chunk), into: &out)
        }
        #expect(out.bytes == [0x99], "nothing is appended on error")
    }

    @Test("a full run cut short is a framing error")
    func fullRunCutShort() {
        let chunk = [0xFF] + [UInt8](repeating: 7, count: 253)
        #expect(throws: COBSDecodingError.codePastEnd(offset: 0, code: 0xFF, chunkLength: 254)) {
            try COBS.decode(ByteBuffer(bytes: chunk))
        }
    }

    @Test("a zero code byte is refused")
    func zeroCode() {
        #expect(throws: COBSDecodingError.zeroByte(offset: 2)) {
            try COBS.decode(ByteBuffer(hex: "02 11 00 01"))
        }
    }

    @Test("the encoded bound counts the optional trailing code", arguments: [0, 1, 253, 254, 255, 508, 512, 4096])
    func bound(length: Int) {
        #expect(COBS.maximumEncodedLength(bodyLength: length) == length + 1 + length / 254)
    }
}
