#!/usr/bin/env python3
"""Throughput, ferromq against libzmq 4.3.4, side by side as ../shared/PERF.md asks: the two
stacks' local_thr/remote_thr run alternately (A, B, A, B, ...), and the medians, their ratio
and the min-max are printed.

    cargo build --release --examples
    python3 scripts/perf_compare.py [--pairs 3] [--transport tcp|ipc|inproc]
"""
import argparse, os, random, re, statistics, subprocess, tempfile, time

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "examples")
CASES = [(1, 5_000_000), (64, 3_000_000), (1024, 1_000_000), (65536, 50_000)]

def endpoint(transport):
    if transport == "ipc":
        return "ipc://" + os.path.join(tempfile.gettempdir(), f"ferromq-perf-{random.randrange(1 << 30)}.sock")
    return f"tcp://127.0.0.1:{random.randrange(20000, 60000)}"

def run(prefix, transport, size, count):
    if transport == "inproc":
        out = subprocess.run([os.path.join(BIN, prefix + "inproc_thr"), str(size), str(count)],
                             check=True, timeout=300, capture_output=True, text=True).stdout
        return int(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))
    ep = endpoint(transport)
    local = subprocess.Popen([os.path.join(BIN, prefix + "local_thr"), ep, str(size), str(count)],
                             stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    subprocess.run([os.path.join(BIN, prefix + "remote_thr"), ep, str(size), str(count)], check=True, timeout=300)
    try:
        out, _ = local.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        local.kill()
        raise SystemExit(f"{prefix or 'ferromq '}local_thr never got all {count} messages ({ep}): the sender lost the tail")
    return int(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--transport", default="tcp", choices=["tcp", "ipc", "inproc"])
    a = ap.parse_args()
    print(f"{a.transport}, {a.pairs} alternating pairs; msg/s medians (min-max)", flush=True)
    print(f"{'size':>6} {'ferromq':>24} {'libzmq':>24} {'ratio':>6}", flush=True)
    for size, count in CASES:
        ours, theirs = [], []
        for _ in range(a.pairs):
            ours.append(run("", a.transport, size, count))
            theirs.append(run("libzmq_", a.transport, size, count))
        mo, mt = statistics.median(ours), statistics.median(theirs)
        fmt = lambda m, xs: f"{m/1e3:.0f}k ({min(xs)/1e3:.0f}-{max(xs)/1e3:.0f})"
        print(f"{size:>6} {fmt(mo, ours):>24} {fmt(mt, theirs):>24} {mo/mt:>6.2f}", flush=True)

if __name__ == "__main__":
    main()
