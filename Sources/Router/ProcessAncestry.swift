import Glibc

/// Process ancestry from `/proc/PID/stat`, for telling the guest's processes from the
/// operator's: every guest process descends from the guard, which is their subreaper, so
/// even an orphan is found.
public enum ProcessAncestry {
    /// The parent of `pid`, or nil if it is gone or unreadable.
    public static func parent(of pid: pid_t) -> pid_t? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses; the last ')' ends it.
        guard let close = buffer.prefix(n).lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        guard fields.count >= 2 else { return nil }
        return pid_t(String(decoding: fields[1], as: UTF8.self))
    }

    /// Whether `pid` is `ancestor` or descends from it (at most 4096 generations are walked).
    public static func isDescendant(_ pid: pid_t, of ancestor: pid_t) -> Bool {
        var current = pid
        for _ in 0..<4096 {
            if current == ancestor { return true }
            guard current > 1, let next = parent(of: current) else { return false }
            current = next
        }
        return false
    }
}
