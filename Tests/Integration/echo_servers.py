#!/usr/bin/env python3
"""echo_servers.py ADDRESS… — TCP and UDP echo on port 7 of each address (test peer, p1)."""
import socket
import sys
import threading


def tcp_client(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


def tcp_server(address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, 7))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=tcp_client, args=(conn,), daemon=True).start()


def udp_server(address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((address, 7))
    while True:
        data, source = s.recvfrom(65536)
        s.sendto(data, source)


for address in sys.argv[1:]:
    threading.Thread(target=tcp_server, args=(address,), daemon=True).start()
    threading.Thread(target=udp_server, args=(address,), daemon=True).start()
threading.Event().wait()
