import NIOCore

/// CRC-32/ISO-HDLC: the CRC of zlib, Ethernet and Python's `binascii.crc32` (§3).
///
/// Polynomial `0x04C11DB7` reflected (`0xEDB88320`), initial value `0xFFFFFFFF`, final XOR
/// `0xFFFFFFFF`; the check value for the ASCII bytes `123456789` is `0xCBF43926`.
///
/// Written here by hand, table-driven one byte at a time: no well-kept Swift package offers this
/// CRC without Foundation or zlib, and at UART rates a byte-wise table is far more than fast enough.
///
/// ```swift
/// var crc = CRC32()
/// crc.update(header)
/// crc.update(payload)
/// let value = crc.value
/// ```
public struct CRC32: Sendable, Hashable {
    /// The running register, kept inverted between updates as the algorithm specifies.
    private var register: UInt32 = 0xFFFF_FFFF

    /// A CRC over no bytes yet (its ``value`` is `0`).
    public init() {}

    /// The CRC of all bytes fed so far (with the final XOR applied).
    public var value: UInt32 { self.register ^ 0xFFFF_FFFF }

    /// Feeds raw bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = self.register
        crc32Table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
            }
        }
        self.register = crc
    }

    /// Feeds the readable bytes of `buffer` (its reader index is not moved).
    public mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { self.update($0) }
    }

    /// Feeds any sequence of bytes, for example `"123456789".utf8`.
    public mutating func update<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { self.update(UnsafeRawBufferPointer($0)) }
        if handled == nil {
            for byte in bytes {
                withUnsafeBytes(of: byte) { self.update($0) }
            }
        }
    }

    /// The CRC of the readable bytes of `buffer`.
    public static func checksum(_ buffer: ByteBuffer) -> UInt32 {
        var crc = CRC32()
        crc.update(buffer)
        return crc.value
    }

    /// The CRC of a sequence of bytes.
    public static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}

/// Remainders of every byte value for the reflected polynomial, computed once on first use.
private let crc32Table: [UInt32] = (0..<256).map { index in
    var remainder = UInt32(index)
    for _ in 0..<8 {
        remainder = (remainder & 1 == 1) ? (remainder >> 1) ^ 0xEDB8_8320 : remainder >> 1
    }
    return remainder
}
