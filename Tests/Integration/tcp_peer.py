#!/usr/bin/env python3
"""The Linux end of the TCP tests against srouter's stack (run inside a netns).

  tcp_peer.py send HOST PORT BYTES [MD5KEY]  connect (signing with TCP_MD5SIG if a key is
                                        given), send BYTES of the pattern, half-close, and
                                        check the "BYTES CRC32" answer of stack-peer's sink
  tcp_peer.py fetch HOST PORT BYTES [MD5KEY]  connect, ask stack-peer's source for BYTES, read to
                                        the end and check count and CRC-32
  tcp_peer.py serve PORT [BIND]         accept one connection, read to the end, answer
                                        "BYTES CRC32" and close (for srouter's active open)
  tcp_peer.py expect-error HOST PORT ERRNO-NAME [MD5KEY]   connect and expect that error

The pattern repeats a 65521-byte block: byte j = ((j * 2654435761) >> 13) & 0xff.
Exit status 0 when the check holds; messages on stdout.
"""
import errno
import socket
import struct
import sys
import time
import zlib

BLOCK = bytes(((j * 2654435761) >> 13) & 0xFF for j in range(65521))


def pattern_chunks(total, chunk=65521):
    sent = 0
    offset = 0
    while sent < total:
        n = min(len(BLOCK) - offset, total - sent, chunk)
        yield BLOCK[offset:offset + n]
        sent += n
        offset = (offset + n) % len(BLOCK)


def pattern_crc(total):
    crc = 0
    for piece in pattern_chunks(total):
        crc = zlib.crc32(piece, crc)
    return crc


TCP_MD5SIG = 14


def md5sig(family, address, key):
    """struct tcp_md5sig: sockaddr_storage, flags, prefixlen, keylen, ifindex, key[80]."""
    storage = bytearray(128)
    if family == socket.AF_INET:
        struct.pack_into("=H2x4s", storage, 0, family, socket.inet_pton(family, address[0]))
    else:
        struct.pack_into("=H6x16s", storage, 0, family, socket.inet_pton(family, address[0].split("%")[0]))
    return bytes(storage) + struct.pack("=BBHI80s", 0, 0, len(key), 0, key)


def connect(host, port, timeout, md5_key=None):
    # getaddrinfo turns "fe80::2%wg0" into a sockaddr with the scope id.
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    s = socket.socket(family, kind, proto)
    s.settimeout(timeout)
    if md5_key is not None:
        s.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig(family, address, md5_key.encode()))
    s.connect(address)
    return s


def read_all(s):
    data = bytearray()
    while True:
        piece = s.recv(1 << 20)
        if not piece:
            return bytes(data)
        data += piece


def send(host, port, total, md5_key=None):
    start = time.monotonic()
    s = connect(host, port, 300 if md5_key is None else 10, md5_key)
    for piece in pattern_chunks(total):
        s.sendall(piece)
    s.shutdown(socket.SHUT_WR)
    answer = read_all(s).decode().strip()
    s.close()
    expected = f"{total} {pattern_crc(total):x}"
    seconds = time.monotonic() - start
    print(f"sent {total} bytes in {seconds:.1f}s ({total * 8 / seconds / 1e6:.1f} Mbit/s); answer {answer!r}")
    return answer == expected


def fetch(host, port, total, md5_key=None):
    start = time.monotonic()
    s = connect(host, port, 300, md5_key)
    s.sendall(f"{total}\n".encode())
    crc = 0
    count = 0
    while True:
        piece = s.recv(1 << 20)
        if not piece:
            break
        crc = zlib.crc32(piece, crc)
        count += len(piece)
    s.close()
    seconds = time.monotonic() - start
    print(f"received {count} bytes in {seconds:.1f}s ({count * 8 / seconds / 1e6:.1f} Mbit/s), crc {crc:x}")
    return count == total and crc == pattern_crc(total)


def serve(port, bind):
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((bind, port))
    listener.listen(1)
    listener.settimeout(120)
    print("listening", flush=True)
    conn, peer = listener.accept()
    conn.settimeout(300)
    crc = 0
    count = 0
    while True:
        piece = conn.recv(1 << 20)
        if not piece:
            break
        crc = zlib.crc32(piece, crc)
        count += len(piece)
    conn.sendall(f"{count} {crc:x}\n".encode())
    conn.close()
    print(f"served {peer}: {count} bytes crc {crc:x}")
    return True


def expect_error(host, port, name, md5_key=None):
    try:
        s = connect(host, port, 5, md5_key)
        s.close()
        print("connected, expected", name)
        return False
    except socket.timeout:
        print("connect: timed out")
        return name == "timeout"
    except OSError as e:
        got = errno.errorcode.get(e.errno, str(e.errno))
        print("connect:", got)
        return got == name


def main():
    mode = sys.argv[1]
    if mode == "send":
        ok = send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    elif mode == "fetch":
        ok = fetch(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else None)
    elif mode == "serve":
        ok = serve(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "0.0.0.0")
    elif mode == "expect-error":
        ok = expect_error(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
    else:
        print(__doc__)
        sys.exit(2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
