/// The classic pcap file format (tcpdump's `pcap-savefile(5)`), for `srouter capture`:
/// a 24-byte file header, then per packet a 16-byte record header and the packet's bytes.
///
/// Written in the host's byte order with the microsecond magic (0xa1b2c3d4), which every
/// reader accepts in either order. The link type is LINKTYPE_RAW (101): each packet starts
/// with its IPv4 or IPv6 header, as a WireGuard interface's inner packets do.
public enum PcapFormat {
    /// LINKTYPE_RAW: raw IPv4 or IPv6, no link-layer header.
    public static let linkTypeRaw: UInt32 = 101
    /// The longest packet kept whole (`snaplen`).
    public static let snapshotLength: UInt32 = 65535
    /// Bytes of the file header.
    public static let fileHeaderLength = 24
    /// Bytes of a record header.
    public static let recordHeaderLength = 16

    /// The file header: magic, version 2.4, zone 0, sigfigs 0, snaplen, link type.
    public static func fileHeader(linkType: UInt32 = linkTypeRaw) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fileHeaderLength)
        append(UInt32(0xa1b2_c3d4), to: &bytes)
        append(UInt16(2), to: &bytes)
        append(UInt16(4), to: &bytes)
        append(UInt32(0), to: &bytes)
        append(UInt32(0), to: &bytes)
        append(snapshotLength, to: &bytes)
        append(linkType, to: &bytes)
        return bytes
    }

    /// Calls `body` with the record header for a packet of `length` bytes seen at
    /// `seconds`.`microseconds` (wall clock); the packet's first `capturedLength(length)`
    /// bytes follow it. No allocation.
    public static func withRecordHeader<T>(seconds: UInt32, microseconds: UInt32, length: Int,
                                           _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var header: (UInt32, UInt32, UInt32, UInt32) = (seconds, microseconds, UInt32(capturedLength(length)),
                                                        UInt32(truncatingIfNeeded: length))
        return withUnsafeBytes(of: &header) { body($0) }
    }

    /// How much of a packet of `length` bytes is kept.
    public static func capturedLength(_ length: Int) -> Int { min(length, Int(snapshotLength)) }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }
}
