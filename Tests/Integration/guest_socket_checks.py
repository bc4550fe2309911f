#!/usr/bin/env python3
"""guest_socket_checks.py — socket behaviours a daemon relies on, run as the guest under srouter
(and natively, for comparison). Each check prints `ok NAME: detail` or `FAIL NAME: detail`.

  guest_socket_checks.py PEER_V4 PEER_V6 LOCAL_V4

PEER_V4/PEER_V6 run a TCP echo server on port 7 and a UDP echo server on port 7; port 9 is
closed. LOCAL_V4 is the guest's own tunnel address.
"""
import errno
import select
import socket
import struct
import sys
import time

peer4, peer6, local4 = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def report(name, good, detail=""):
    global failures
    print(("ok" if good else "FAIL"), f"{name}: {detail}", flush=True)
    if not good:
        failures += 1


def check(name, fn):
    try:
        good, detail = fn()
    except Exception as e:  # a check that raises has failed
        good, detail = False, f"{type(e).__name__}: {e}"
    report(name, good, detail)


def nonblocking_connect(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setblocking(False)
    code = s.connect_ex(address)
    if code != errno.EINPROGRESS:
        return False, f"connect returned {errno.errorcode.get(code, code)}, wanted EINPROGRESS"
    # Readiness must be true: writable only once the handshake is done. It crosses a tunnel,
    # so it is almost always still pending here; if the socket is writable at once, the
    # repeated connect must say it completed (0), never EALREADY.
    _, early, _ = select.select([], [s], [], 0)
    again = s.connect_ex(address)  # EALREADY while pending; 0 if it completed meanwhile
    _, writable, _ = select.select([], [s], [], 5)
    if not writable:
        return False, "never became writable"
    error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    second = s.connect_ex(address) if again == errno.EALREADY else errno.EISCONN
    third = s.connect_ex(address)
    peer = s.getpeername()
    s.close()
    good = ((not early or again == 0) and again in (errno.EALREADY, 0) and error == 0
            and second in (0, errno.EISCONN) and third == errno.EISCONN and peer[1] == address[1])
    return good, (f"early-writable={bool(early)} repeat={errno.errorcode.get(again, again)} so_error={error} "
                  f"after={second} then={errno.errorcode.get(third, third)} peer-port={peer[1]}")


def refused(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(address)
    select.select([], [s], [], 5)
    error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    blocking = socket.socket(family, socket.SOCK_STREAM)
    code = blocking.connect_ex(address)
    return (error == errno.ECONNREFUSED and code == errno.ECONNREFUSED,
            f"so_error={errno.errorcode.get(error, error)} blocking={errno.errorcode.get(code, code)}")


def tcp_echo(family, address):
    s = socket.create_connection(address, timeout=5) if family == socket.AF_INET else \
        socket.socket(family, socket.SOCK_STREAM)
    if family != socket.AF_INET:
        s.settimeout(5)
        s.connect(address)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload = bytes(range(256)) * 2048  # 512 KiB
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    nodelay = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    s.close()
    return got == payload and nodelay == 1, f"echoed {len(got)} of {len(payload)} bytes, nodelay={nodelay}"


def udp_echo(family, address):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    port = s.getsockname()[1]
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 8, 1)   # IP_PKTINFO (no constant in Python 3.11)
        s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
    else:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    s.sendto(b"hello " * 100, address)
    data, ancillary, flags, source = s.recvmsg(4096, 256)
    levels = sorted((level, kind) for level, kind, _ in ancillary)
    s.close()
    good = data == b"hello " * 100 and source[0] == address[0] and source[1] == address[1] and len(levels) == 2
    return good, f"{len(data)} bytes from {source[0]} port-ok={source[1] == address[1]} local-port={port > 0} cmsgs={levels}"


def udp_connected_refused(family, address):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect(address)
    s.send(b"x")
    time.sleep(0.5)
    # The port unreachable reaches recvmsg (trapped) and SO_ERROR; a native recv on the
    # guest's end of the pair cannot carry it (Guest/probes/sockets/known-differences.txt).
    try:
        s.recvmsg(100)
        return False, "no error"
    except OSError as e:
        return e.errno == errno.ECONNREFUSED, errno.errorcode.get(e.errno, str(e.errno))


def rebind(port):
    details = []
    for attempt in range(2):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        s.listen(8)
        details.append(f"listen#{attempt + 1}")
        s.close()
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind((local4, port + 1))
    taken.listen(1)
    clash = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        clash.bind((local4, port + 1))
        return False, "second bind to a listening port succeeded"
    except OSError as e:
        details.append(errno.errorcode.get(e.errno, str(e.errno)))
    taken.close()
    clash.close()
    return details == ["listen#1", "listen#2", "EADDRINUSE"], " ".join(details)


def names(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.getpeername()
        unconnected = "connected?"
    except OSError as e:
        unconnected = errno.errorcode.get(e.errno, str(e.errno))
    kinds = (s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE), s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN),
             s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL))
    s.close()
    good = unconnected == "ENOTCONN" and kinds == (socket.SOCK_STREAM, family, socket.IPPROTO_TCP)
    return good, f"getpeername={unconnected} type/domain/protocol={kinds}"


check("tcp-nonblocking-connect-v4", lambda: nonblocking_connect(socket.AF_INET, (peer4, 7)))
check("tcp-nonblocking-connect-v6", lambda: nonblocking_connect(socket.AF_INET6, (peer6, 7)))
check("tcp-refused-v4", lambda: refused(socket.AF_INET, (peer4, 9)))
check("tcp-echo-v4", lambda: tcp_echo(socket.AF_INET, (peer4, 7)))
check("tcp-echo-v6", lambda: tcp_echo(socket.AF_INET6, (peer6, 7)))
check("udp-echo-v4", lambda: udp_echo(socket.AF_INET, (peer4, 7)))
check("udp-echo-v6", lambda: udp_echo(socket.AF_INET6, (peer6, 7)))
check("udp-connected-refused", lambda: udp_connected_refused(socket.AF_INET, (peer4, 9)))
check("rebind-after-close", lambda: rebind(179))
check("names-and-types", lambda: names(socket.AF_INET6, (peer6, 7)))
print(f"checks: {failures} failed", flush=True)
sys.exit(1 if failures else 0)
