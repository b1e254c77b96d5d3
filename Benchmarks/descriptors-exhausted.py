#!/usr/bin/env python3
"""CPU use of `kefu serve` when file descriptors run out.

Starts the release `kefu serve` under `ulimit -n 300` (below the default --max-connections of
4,096), opens 400 customer connections, and reports how many were served and how many told
"server busy", then the server's CPU over 10 s idle. Then lowers the running server's
descriptor limit below what it uses (prlimit), so that accept fails with EMFILE, knocks 50
times, and reports how many were told why and the CPU over 10 s.

    swift build -c release && python3 Benchmarks/descriptors-exhausted.py
"""
import os, shutil, socket, subprocess, sys, tempfile, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = tempfile.mkdtemp(prefix="kefu-fd-")
server = subprocess.Popen(["sh", "-c", 'ulimit -n 300 && exec "$0" "$@"', os.path.join(root, ".build/release/kefu"), "serve",
                           "--kb", root, "--data", data, "--customer-listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    port = None
    while port is None:
        line = server.stdout.readline()
        if not line: sys.exit("kefu serve did not start")
        if line.startswith("listening customer"): port = int(line.rsplit(":", 1)[1])
    pid = server.pid

    def cpu():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def busy_or_served(sockets, needle):
        told = served = 0
        for s in sockets:
            try:
                if needle in s.recv(4096): told += 1
            except socket.timeout:
                served += 1
        return told, served

    socks = []
    for _ in range(400):
        s = socket.create_connection(("127.0.0.1", port)); s.settimeout(0.2); socks.append(s)
    time.sleep(0.5)
    busy, served = busy_or_served(socks, b"busy")
    print(f'400 customers under ulimit -n 300: {served} connected, {busy} told "server busy"')
    c0 = cpu(); time.sleep(10)
    print(f"server CPU, idle with {served} connected: {(cpu() - c0) * 10:.1f}% of a core over 10 s")

    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=50:50"], check=True)
    more = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", port)); s.settimeout(1); more.append(s)
    told, _ = busy_or_served(more, b"out of file descriptors")
    print(f'descriptor limit lowered to 50 under the running server: {told}/50 new clients told "out of file descriptors"')
    c0 = cpu(); time.sleep(10)
    print(f"server CPU, descriptors exhausted: {(cpu() - c0) * 10:.1f}% of a core over 10 s")
finally:
    server.terminate(); server.wait()
    shutil.rmtree(data, ignore_errors=True)
