import Foundation
import Glibc
import CSRouterLinux
import Sandbox
@testable import Router

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

/// A client connected to the control socket at `path` that has sent `bytes` (nothing if
/// empty); -1 if the connection failed.
func connectedClient(_ path: String, sending bytes: String = "") -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard var address = UnixAddress(path), address.withSockaddr({ connect(fd, $0, $1) }) == 0 else {
        close(fd)
        return -1
    }
    if !bytes.isEmpty { _ = Array(bytes.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
    return fd
}
