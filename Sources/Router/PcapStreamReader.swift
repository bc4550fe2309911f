/// Splits a pcap byte stream from `PcapFormat` (host byte order: the capture client runs on
/// the router's host) into its file header and whole records, so a capture stopped at any
/// moment leaves a valid file.
public struct PcapStreamReader {
    /// An empty reader.
    public init() {}

    private var buffer: [UInt8] = []
    private var offset = 0
    /// The 24-byte file header, once read.
    public private(set) var fileHeader: [UInt8]?

    /// One record: its bytes (header and packet), its time and the packet.
    public struct Record {
        /// The record header and the packet, as they were in the stream.
        public var bytes: ArraySlice<UInt8>
        /// The wall-clock time, seconds since the epoch.
        public var seconds: UInt32
        /// Microseconds within the second.
        public var microseconds: UInt32
        /// The packet's captured bytes.
        public var packet: ArraySlice<UInt8>
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: [UInt8]) {
        if offset > 0 && offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 1 << 20 {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer += bytes
        if fileHeader == nil, buffer.count - offset >= PcapFormat.fileHeaderLength {
            fileHeader = Array(buffer[offset..<(offset + PcapFormat.fileHeaderLength)])
            offset += PcapFormat.fileHeaderLength
        }
    }

    /// The next whole record, if buffered.
    public mutating func nextRecord() -> Record? {
        guard fileHeader != nil, buffer.count - offset >= PcapFormat.recordHeaderLength else { return nil }
        func word(_ at: Int) -> UInt32 {
            buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + at, as: UInt32.self) }
        }
        let length = Int(word(8))
        let total = PcapFormat.recordHeaderLength + length
        guard buffer.count - offset >= total else { return nil }
        let record = Record(bytes: buffer[offset..<(offset + total)], seconds: word(0), microseconds: word(4),
                            packet: buffer[(offset + PcapFormat.recordHeaderLength)..<(offset + total)])
        offset += total
        return record
    }
}
