import Wire

/// TCP MD5 signatures (RFC 2385 §2.0), as Linux's TCP_MD5SIG computes them: MD5 over the
/// pseudo-header, the fixed TCP header with a zero checksum (options excluded), the data,
/// then the key.
public enum TCPSignature {
    /// The digest of `segment` (header and data) sent from `source` to `destination`.
    public static func digest(of segment: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                              key: [UInt8]) -> TCPMD5Digest? {
        guard let packet = try? TCPPacket(checking: segment) else { return nil }
        var md5 = MD5()
        packet.forEachMD5SignedRegion(source: source, destination: destination) { md5.update($0) }
        md5.update(key)
        return TCPMD5Digest(bytes: md5.finalize())
    }

    /// Signs a segment in place (its MD5 option present, digest zero) and fixes its checksum.
    public static func sign(_ segment: UnsafeMutableRawBufferPointer, source: IPAddress, destination: IPAddress,
                            key: [UInt8]) {
        guard let digest = digest(of: UnsafeRawBufferPointer(segment), source: source, destination: destination, key: key)
        else { return }
        TCPPacket.storeMD5Signature(digest, in: segment, source: source, destination: destination)
    }

    /// Whether the segment carries the right signature for `key`.
    public static func verify(_ segment: UnsafeRawBufferPointer, source: IPAddress, destination: IPAddress,
                              key: [UInt8]) -> Bool {
        guard let packet = try? TCPPacket(checking: segment),
              let carried = (try? TCPOptions.parse(packet.options))?.md5Signature,
              let expected = digest(of: segment, source: source, destination: destination, key: key) else { return false }
        return carried == expected
    }
}
