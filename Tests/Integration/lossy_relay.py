#!/usr/bin/env python3
"""A lossy UDP relay for WireGuard underlay tests (this kernel has no sch_netem).

  lossy_relay.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT LOSS REORDER DUPLICATE SEED

Datagrams from the first client of LISTEN go to TARGET from an ephemeral port; replies go
back to that client. Each datagram, either way, is dropped with probability LOSS, held back
behind the next few datagrams (or 5 ms) with probability REORDER, and sent twice with
probability DUPLICATE. Prints "ready" once bound, "both ways" once a reply from TARGET has
gone back to the client (the far end has roamed to the relay); runs until killed, and on
SIGTERM prints "stats in=N dropped=N reordered=N duplicated=N" first.
"""
import random
import select
import signal
import socket
import sys
import time


def main():
    listen_host, listen_port, target_host, target_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    loss, reorder, duplicate = float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
    rng = random.Random(int(sys.argv[8]))
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind((listen_host, listen_port))
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(("0.0.0.0", 0))
    client = None
    answered = False
    held = []  # (release time, socket, data, address)
    print("ready", flush=True)
    stats = {"in": 0, "dropped": 0, "reordered": 0, "duplicated": 0}

    def report(_signo, _frame):
        print("stats " + " ".join(f"{k}={v}" for k, v in stats.items()), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)

    def forward(sock, data, address):
        stats["in"] += 1
        if rng.random() < loss:
            stats["dropped"] += 1
            return
        copies = 2 if rng.random() < duplicate else 1
        stats["duplicated"] += copies - 1
        if rng.random() < reorder:
            stats["reordered"] += 1
            held.append((time.monotonic() + 0.005, sock, data, address))
            return
        for _ in range(copies):
            sock.sendto(data, address)

    while True:
        timeout = 0.001 if held else 1.0
        readable, _, _ = select.select([front, back], [], [], timeout)
        for sock in readable:
            data, source = sock.recvfrom(65535)
            if sock is front:
                client = source
                forward(back, data, (target_host, target_port))
            elif client is not None:
                if not answered:
                    answered = True
                    print("both ways", flush=True)
                forward(front, data, client)
        now = time.monotonic()
        due = [h for h in held if h[0] <= now]
        held[:] = [h for h in held if h[0] > now]
        for _, sock, data, address in due:
            sock.sendto(data, address)


if __name__ == "__main__":
    main()
