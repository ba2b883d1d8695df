import BridgeLink
import NIOCore
import Testing

@Suite("CRC-32/ISO-HDLC")
struct CRC32Tests {
    @Test("check value of the catalogue: \"123456789\" gives 0xCBF43926")
    func checkValue() {
        #expect(CRC32.checksum("123456789".utf8) == 0xCBF4_3926)
        #expect(CRC32.checksum(ByteBuffer(string: "123456789")) == 0xCBF4_3926)
    }

    /// Reference values from Python's `binascii.crc32`, which the firmware uses.
    @Test(
        "matches binascii.crc32",
        arguments: [
            ([UInt8](), UInt32(0)),
            (Array("a".utf8), 0xE8B7_BE43),
            (Array("The quick brown fox jumps over the lazy dog".utf8), 0x414F_A339),
            ((0...255).map { UInt8($0) }, 0x2905_8C73),
            (hexBytes("10 00 01 00 01 00 03 61 2f 62 68 69"), 0x5C2B_F415),
        ] as [([UInt8], UInt32)]
    )
    func referenceValues(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32.checksum(bytes) == expected)
        #expect(CRC32.checksum(ByteBuffer(bytes: bytes)) == expected)
    }

    @Test("feeding in pieces gives the same CRC as feeding at once")
    func incremental() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for split in [0, 1, 255, 500, 999, 1000] {
            var crc = CRC32()
            crc.update(ByteBuffer(bytes: bytes[..<split]))
            crc.update(bytes[split...])
            #expect(crc.value == CRC32.checksum(bytes), "split at \(split)")
        }
    }

    @Test("a sequence without contiguous storage is handled too")
    func nonContiguousSequence() {
        #expect(CRC32.checksum("123456789".utf8.lazy.map { $0 }) == 0xCBF4_3926)
    }
}
