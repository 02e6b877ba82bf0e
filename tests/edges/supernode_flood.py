#!/usr/bin/env python3
"""A flood of supernode candidates against a real nearcast-tracker on loopback (issue 19).

Usage: supernode_flood.py TRACKER_BINARY [CANDIDATES] [REACHABLE]

Runs in a network namespace of its own that holds only loopback (as root: it re-runs itself
under `unshare --net`), so that 60,000 source addresses and the connections they leave behind
touch nothing else on the machine. Starts the tracker (and stops it: the only process this script starts), puts 1,000 peers in a
swarm, then measures with no candidate at all:
  - announces: new peers announce one at a time (each from its own address, on a connection
    opened beforehand) and leave again; the time from request to whole answer of the first,
    and the tracker's CPU time (/proc) per announce;
  - CPU per report: the tracker's CPU time over 2,000 reports of new candidates.
Then CANDIDATES (60,000) candidates report from distinct addresses over the emulated Internet's
five ASes (4 per address and 100,000 in all are the caps: all are within them); REACHABLE
(300) of them, the first in AS 64512, listen on their port, so the tracker elects that AS's
supernodes (12,000 candidates / 300 = 40) among them. The same figures are measured again, plus
re-reports of known candidates, and announces at a steady pace across several election rounds
(--supernode-election-every 2), whose slowest one shows what a round costs, and the CPU a
round costs with no request at all.

Asserts bounded behaviour only (every request answered, the counts the tracker shows), never a
time: the figures are printed. Bounded in time: every socket has a timeout, the whole run stops
itself after a few minutes at most.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

if not os.environ.get("NEARCAST_IN_NETNS"):
    os.environ["NEARCAST_IN_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "--net", "--fork", "--kill-child", "--", sys.executable, *sys.argv])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)

binary = sys.argv[1]
candidates = int(sys.argv[2]) if len(sys.argv) > 2 else 60_000
reachable = int(sys.argv[3]) if len(sys.argv) > 3 else 300
if candidates < 4_000 or not 0 < reachable <= candidates // 5:
    raise SystemExit("usage: supernode_flood.py TRACKER_BINARY [CANDIDATES (4,000 or more)] [REACHABLE (1 to CANDIDATES / 5)]")
work_folder = tempfile.TemporaryDirectory(prefix="nearcast-supernode-flood.")
work = work_folder.name
deadline = time.monotonic() + 600
# The emulated Internet (proximity/data/loopback-internet.ipasn): one /16 per AS, AS 64512 has two.
networks = [(127, 10), (127, 20), (127, 30), (127, 40), (127, 50)]
info_hash = "%AB" * 20


def fail(message):
    log = os.path.join(work, "tracker.log")
    if os.path.exists(log):
        with open(log, errors="replace") as lines:
            sys.stderr.write("---- tracker.log (last lines)\n" + "".join(lines.readlines()[-25:]))
    raise SystemExit(f"FAIL (supernode flood): {message}")


def check(condition, message):
    if not condition:
        fail(message)


def address(network, n):
    """The n-th host address (from 1) of a /16 of the emulated Internet."""
    return f"{network[0]}.{network[1]}.{n // 254}.{n % 254 + 1}"


class Cpu:
    def __init__(self, user, system):
        self.user, self.system = user, system

    def __sub__(self, other):
        return Cpu(self.user - other.user, self.system - other.system)

    def __truediv__(self, count):
        return Cpu(self.user / count, self.system / count)

    def __str__(self):
        return f"{(self.user + self.system) * 1e6:.0f} us CPU ({self.user * 1e6:.0f} user)"


class Tracker:
    def __init__(self):
        ports = os.path.join(work, "ports")
        self.log = open(os.path.join(work, "tracker.log"), "wb")
        self.process = subprocess.Popen(
            [binary, "--listen-http", "127.0.0.1:0", "--port-file", ports, "--supernode-min-uptime", "0",
             "--supernode-election-every", "2", "--announce-rate-limit", "0", "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if os.path.exists(ports):
                break
            check(self.process.poll() is None, "the tracker exited at start")
            time.sleep(0.05)
        with open(ports) as lines:
            self.port = int(next(line for line in lines if line.startswith("http")).split(":")[-1])

    def cpu_seconds(self):
        """User and system CPU seconds so far: the tracker's own work, and the kernel's for its
        sockets (which grows with the connections a flood leaves in TIME_WAIT, whatever the tracker does)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return Cpu(int(fields[11]) / tick, int(fields[12]) / tick)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def connect(port, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def exchange(s, target):
    """Sends a GET, reads the whole answer (Connection: close); returns (status, body, seconds)."""
    started = time.perf_counter()
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    took = time.perf_counter() - started
    s.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, body, took


def get(port, source, target):
    return exchange(connect(port, source), target)


def announce_target(peer, port=7000, event="started"):
    return (f"/announce?info_hash={info_hash}&peer_id=-NC0001-{peer:012d}&port={port}"
            f"&uploaded=0&downloaded=0&left=1000&compact=1&event={event}")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def announce_latency(tracker, first_peer, count, pace_s=0.0, leave=True):
    """`count` new peers announce, each from its own address, one at a time, and leave again (so
    that the swarm keeps its size); the latencies of their first announces in ms, and the
    tracker's CPU seconds per announce (first or last)."""
    took = []
    cpu_before = tracker.cpu_seconds()
    for i in range(count):
        peer = first_peer + i
        # Peers live at the top of each /16, apart from the candidates.
        source = address(networks[peer % len(networks)], 60_000 + peer // len(networks) % 5_000)
        s = connect(tracker.port, source)
        status, body, seconds = exchange(s, announce_target(peer))
        check(status == 200 and body.startswith(b"d"), f"announce {peer}: status {status}")
        took.append(seconds * 1000)
        if leave:
            status, _, _ = get(tracker.port, source, announce_target(peer, event="stopped"))
            check(status == 200, f"announce {peer} stopped: status {status}")
        if pace_s:
            time.sleep(pace_s)
    return took, (tracker.cpu_seconds() - cpu_before) / (count * (2 if leave else 1))


def report(tracker, source, port, capacity=1_000_000):
    status, body, _ = get(tracker.port, source, f"/supernode?port={port}&capacity={capacity}")
    return status, body


def reports_cpu(tracker, sources, port):
    """CPU seconds of the tracker per report, over reports from `sources`; all must be answered 200."""
    before = tracker.cpu_seconds()
    started = time.perf_counter()
    for source in sources:
        status, body = report(tracker, source, port)
        check(status == 200, f"report from {source}: status {status} {body[:80]!r}")
    wall = time.perf_counter() - started
    return (tracker.cpu_seconds() - before) / len(sources), wall / len(sources)


def stats(tracker):
    status, body, _ = get(tracker.port, "127.0.0.1", "/stats")
    check(status == 200, "/stats")
    return json.loads(body)


def summary(label, measured):
    took, cpu = measured
    return (f"{label}: announce p50 {percentile(took, 0.5):.2f} ms, p99 {percentile(took, 0.99):.2f} ms, "
            f"max {max(took):.2f} ms over {len(took)}, {cpu} each")


def candidate_sources(count):
    """Distinct addresses, spread over the five ASes in turn, below the peers' addresses."""
    check(count <= 5 * 60_000, "too many candidates for the emulated Internet")
    return [address(networks[i % len(networks)], i // len(networks)) for i in range(count)]


tracker = Tracker()
listeners = []
try:
    # A swarm of 1,000 peers, so that announces rank real candidates.
    announce_latency(tracker, 0, 1_000, leave=False)
    base_cpu = tracker.cpu_seconds()
    idle_start = time.perf_counter()
    time.sleep(4)
    idle_cpu = (tracker.cpu_seconds() - base_cpu) / ((time.perf_counter() - idle_start) * 1000)

    quiet = announce_latency(tracker, 10_000, 2_000)
    paced_quiet = announce_latency(tracker, 20_000, 600, pace_s=0.01)
    sources = candidate_sources(candidates)
    # The reachable ones come first in the tracker's order (by address): they are checked in the first rounds.
    reachable_sources = sources[:reachable * len(networks):len(networks)]
    for source in reachable_sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 6881))
        s.listen(4096)
        listeners.append(s)
    cpu_first, wall_first = reports_cpu(tracker, sources[:2_000], 6881)

    flood_started = time.perf_counter()
    refused = 0
    for source in sources[2_000:-2_000]:
        status, _ = report(tracker, source, 6881)
        refused += status != 200
        check(time.monotonic() < deadline, "the run took too long")
    flood_s = time.perf_counter() - flood_started
    check(refused == 0, f"{refused} reports within the caps were refused")
    cpu_last, wall_last = reports_cpu(tracker, sources[-2_000:], 6881)
    cpu_again, wall_again = reports_cpu(tracker, sources[:2_000], 6881)

    # The reachable ones are checked and elected over a few rounds.
    until = time.monotonic() + 30
    while time.monotonic() < until:
        elected = len(stats(tracker)["supernodes"]["elected"])
        if elected >= min(reachable, 150):
            break
        time.sleep(0.5)
    shown = stats(tracker)["supernodes"]
    check(shown["candidates"] == candidates, f"the tracker holds {shown['candidates']} candidates, not {candidates}")
    before_idle = tracker.cpu_seconds()
    idle_start = time.perf_counter()
    time.sleep(6)
    idle_full = (tracker.cpu_seconds() - before_idle) / ((time.perf_counter() - idle_start) * 1000)
    full = announce_latency(tracker, 30_000, 2_000)
    paced_full = announce_latency(tracker, 40_000, 600, pace_s=0.01)  # about 8 s: four election rounds
    check(len(stats(tracker)["supernodes"]["elected"]) > 0, "no supernode was elected")

    print(f"tracker idle: {idle_cpu} per ms")
    print(summary("0 candidates", quiet))
    print(summary("0 candidates, one every 10 ms across election rounds", paced_quiet))
    print(f"reports 0 -> 2,000 candidates: {cpu_first} each, {wall_first * 1e6:.0f} us wall each")
    print(f"flood of {candidates - 4_000} more reports: {flood_s:.1f} s, none refused")
    print(f"reports {candidates - 2_000:,} -> {candidates:,} candidates: {cpu_last} each, "
          f"{wall_last * 1e6:.0f} us wall each")
    print(f"re-reports of 2,000 known candidates at {candidates:,}: {cpu_again} each, "
          f"{wall_again * 1e6:.0f} us wall each")
    print(f"{candidates:,} candidates, {len(shown['elected'])} supernodes elected")
    print(f"tracker idle with {candidates:,} candidates (a round every 2 s): {idle_full} per ms")
    print(summary(f"{candidates:,} candidates", full))
    print(summary(f"{candidates:,} candidates, one every 10 ms across election rounds", paced_full))
    print("PASS")
    # For a profiler: NEARCAST_FLOOD_HOLD_S=30 keeps the tracker (and its 60,000 candidates) up a while.
    hold_s = min(float(os.environ.get("NEARCAST_FLOOD_HOLD_S", "0")), 300)
    if hold_s:
        print(f"holding the tracker (pid {tracker.process.pid}) for {hold_s:.0f} s", flush=True)
        time.sleep(hold_s)
finally:
    for s in listeners:
        s.close()
    tracker.stop()

