import Glibc

/// What a test client can read from `fd` now, without waiting.
func readAvailable(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
        if n <= 0 { break }
        out += chunk.prefix(n)
    }
    return out
}
