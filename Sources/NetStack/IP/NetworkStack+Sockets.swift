import Wire

/// Socket-layer operations that must send segments at once (a reset on close, a listener's
/// queue reset), for the socket layer above the stack.
extension NetworkStack {
    /// Aborts `connection`: a RST goes out if it was synchronized (RFC 9293 §3.10.5, Linux's
    /// close with unread data or SO_LINGER {1, 0}), and the connection is gone.
    public func abort(_ connection: TCPConnection, now: StackInstant) {
        connection.abort(now: now, emit: { sendTCP($0, now: now) })
        tcp.release(connection)
    }

    /// Closes a listener; its half-open and unaccepted connections are reset.
    public func close(_ listener: TCPListener, now: StackInstant) {
        tcp.close(listener, now: now, emit: { sendTCP($0, now: now) })
    }
}
