#!/usr/bin/env python3
"""Abuse of nearcast-tracker's HTTP port, each bounded in count and time (issue 19).

Usage: tracker_abuse.py body|flood|descriptors PID HOST PORT LOG

body:        200 connections announce a 16 MB body on /announce and /origins (no secret):
             each is refused (413; 403 for /origins) before its body is read, and gets the
             answer although it is still sending; the tracker's memory stays bounded.
flood:       300 idle connections against --max-connections 100: the tracker holds at most
             its cap (the rest are closed at once); memory bounded; served again once they go.
descriptors: more connections than the tracker has file descriptors (ulimit -n 64): accept
             fails, and the tracker neither spins (CPU time) nor floods its log; once the
             connections go, it serves again.
Every phase ends with a normal GET that must be answered 200.
"""
import os
import select
import socket
import sys
import time

phase, pid, host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]


def rss_kb():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("tracker gone")


def cpu_seconds():
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_lines():
    with open(log, "rb") as f:
        return sum(1 for _ in f)


def connect():
    s = socket.create_connection((host, port), timeout=5)
    return s


def normal_get(deadline_s=5.0):
    until = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < until:
        try:
            with connect() as s:
                s.sendall(b"GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                reply = b""
                while chunk := s.recv(65536):
                    reply += chunk
                if reply.startswith(b"HTTP/1.1 200"):
                    return
                last = reply[:80]
        except OSError as error:
            last = error
        time.sleep(0.1)
    raise SystemExit(f"FAIL ({phase}): a normal GET /stats was not served: {last}")


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAIL ({phase}): {message}")


before_kb = rss_kb()
if phase == "body":
    # All 200 at once: the tracker must answer each from its head alone, while the client is
    # still sending (a tracker that reads the body would keep every one waiting).
    clients = []
    for i in range(200):
        s = connect()
        target = b"/announce" if i % 2 else b"/origins"
        s.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: t\r\nContent-Length: 16000000\r\n\r\n")
        s.setblocking(False)
        try:
            s.send(b"x" * 65536)
        except OSError:
            pass  # already answered and closed, or the buffer is full
        clients.append(s)
    replies = {s: b"" for s in clients}
    open_ones = set(clients)
    until = time.monotonic() + 5.0
    while open_ones and time.monotonic() < until:
        readable, _, _ = select.select(list(open_ones), [], [], 0.2)
        for s in readable:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            replies[s] += chunk
            if not chunk:
                open_ones.discard(s)
    # /announce takes no body: 413. /origins without the admin secret: its own refusal (this
    # tracker has no secret: 403), from the head alone as well.
    refused = sum(1 for i, s in enumerate(clients)
                  if replies[s].startswith(b"HTTP/1.1 413" if i % 2 else b"HTTP/1.1 403"))
    for s in clients:
        s.close()
    grown = rss_kb() - before_kb
    print(f"body: {refused} of 200 refused (413, or 403 for /origins) before their body; resident memory grew {grown} kB")
    check(refused == 200, f"only {refused} of 200 oversized bodies were refused with 413")
    check(grown < 20_000, f"resident memory grew {grown} kB")
elif phase == "flood":
    held = [connect() for _ in range(300)]
    time.sleep(1.0)
    closed = 0
    for s in held:
        s.settimeout(0.2)
        try:
            if s.recv(1) == b"":
                closed += 1
        except socket.timeout:
            pass
        except OSError:
            closed += 1
    grown = rss_kb() - before_kb
    print(f"flood: 300 idle connections, {closed} closed at once by the tracker; resident memory grew {grown} kB")
    check(closed >= 190, f"only {closed} of the 200 connections past the cap of 100 were closed")
    check(grown < 20_000, f"resident memory grew {grown} kB")
    for s in held:
        s.close()
elif phase == "descriptors":
    lines_before, cpu_before = log_lines(), cpu_seconds()
    held = []
    for _ in range(120):
        try:
            held.append(connect())
        except OSError:
            break
    time.sleep(3.0)
    cpu = cpu_seconds() - cpu_before
    lines = log_lines() - lines_before
    print(f"descriptors: {len(held)} connections held for 3 s past the tracker's 64 descriptors: "
          f"{cpu:.2f} s of CPU, {lines} log lines")
    check(cpu < 0.5, f"the tracker used {cpu:.2f} s of CPU in 3 s (it spins on accept)")
    check(lines < 20, f"the tracker wrote {lines} log lines in 3 s")
    for s in held:
        s.close()
else:
    raise SystemExit(f"unknown phase {phase}")
normal_get()
print(f"{phase}: a normal request is served afterwards")
