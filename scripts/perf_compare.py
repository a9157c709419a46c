#!/usr/bin/env python3
"""ferromq against libzmq side by side, as ../shared/PERF.md asks: the same perf tools
(local_thr/remote_thr/inproc_thr, local_lat/remote_lat/inproc_lat, libzmq's command lines
and output) for each stack, run alternately round by round (A, B, A, B, ...), medians with
min-max and the ratio ferromq / libzmq, printed as one Markdown table.

libzmq's tools are C programs against its C API (perf/c/, built against the system's
libzmq3-dev by perf/c/build.sh, which this script runs), not the `zmq` crate, which costs
libzmq 1.3-1.6x on this machine. Mixed pairs (ferromq's sender into libzmq's receiver and the
reverse) check the wire at volume. omq.rs twins are not built yet: its column stays empty.

    cargo build --release --examples
    python3 scripts/perf_compare.py                 # the whole table, 5 rounds
    python3 scripts/perf_compare.py --quick         # 1 round, small counts: a smoke test
"""
import argparse, os, random, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
STACKS = {
    "ferromq": os.path.join(TARGET, "release", "examples"),
    "libzmq": os.path.join(TARGET, "perf-c"),
}
THR_SIZES = [(1, 5_000_000), (64, 3_000_000), (1024, 1_000_000), (65536, 50_000)]
LAT_SIZES = [(1, 20_000), (1024, 20_000)]
TRANSPORTS = ["tcp", "ipc", "inproc"]


def endpoint(transport):
    if transport == "ipc":
        name = f"ferromq-perf-{os.getpid()}-{random.randrange(1 << 30)}.sock"
        return "ipc://" + os.path.join(tempfile.gettempdir(), name)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


# Runs whose receiver never got every message: libzmq's ipc can lose the tail of a stream at
# close (libzmq #4660); such a run is retried, and listed under the table.
LOST = []


def measure(server, client, kind, transport, size, count):
    """One measurement, retried twice if the receiver never got the whole stream; `None`
    after three such runs (the table then says so)."""
    for _ in range(3):
        v = pair(server, client, kind, transport, size, count)
        if v is not None:
            return v
    return None


def tool(stack, name):
    return os.path.join(STACKS[stack], name)


def pair(server, client, kind, transport, size, count):
    """Runs one measurement; `server` binds (local_*), `client` connects (remote_*).
    Returns msg/s for throughput, one-way microseconds for latency."""
    if transport == "inproc":
        out = subprocess.run([tool(server, f"inproc_{kind}"), str(size), str(count)],
                             check=True, timeout=600, capture_output=True, text=True).stdout
    else:
        ep = endpoint(transport)
        local = subprocess.Popen([tool(server, f"local_{kind}"), ep, str(size), str(count)],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(0.2)
        remote = subprocess.run([tool(client, f"remote_{kind}"), ep, str(size), str(count)],
                                check=True, timeout=600, capture_output=True, text=True)
        try:
            local_out, _ = local.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            local.kill()
            local.communicate()
            LOST.append(f"{client} → {server}, {transport}, {size} B × {count}")
            if "ferromq" in (client, server) and client == server:
                sys.exit(f"ferromq lost the tail of a stream ({ep}): {LOST[-1]}")
            return None
        out = local_out if kind == "thr" else remote.stdout
    if kind == "thr":
        return int(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))
    return float(re.search(r"average latency: ([\d.]+) \[us\]", out).group(1))


def median_cell(xs, unit):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, "lost the tail every time"
    m = statistics.median(xs)
    if unit == "msg/s":
        f = lambda v: f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"
    else:
        f = lambda v: f"{v:.1f}"
    return m, f"{f(m)} ({f(min(xs))}–{f(max(xs))})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 round, counts / 50: a smoke test")
    ap.add_argument("--transport", choices=TRANSPORTS, action="append")
    a = ap.parse_args()
    rounds = 1 if a.quick else a.rounds
    scale = 50 if a.quick else 1
    transports = a.transport or TRANSPORTS
    subprocess.run(["bash", os.path.join(ROOT, "perf", "c", "build.sh")], check=True)
    for stack in STACKS:
        missing = [t for t in ["local_thr", "remote_thr", "inproc_thr", "local_lat",
                               "remote_lat", "inproc_lat"] if not os.path.exists(tool(stack, t))]
        if missing:
            sys.exit(f"{stack}: missing {missing}; run `cargo build --release --examples`")
    rows = []
    for kind, sizes, unit in [("thr", THR_SIZES, "msg/s"), ("lat", LAT_SIZES, "us")]:
        for transport in transports:
            for size, count in sizes:
                count = max(count // scale, 100)
                got = {s: [] for s in STACKS}
                for _ in range(rounds):
                    for s in STACKS:  # alternate the stacks within each round
                        got[s].append(measure(s, s, kind, transport, size, count))
                (mf, cf), (ml, cl) = (median_cell(got["ferromq"], unit),
                                      median_cell(got["libzmq"], unit))
                # A ratio above 1 means ferromq is ahead, for throughput and latency alike.
                if mf is None or ml is None:
                    ratio = float("nan")
                else:
                    ratio = mf / ml if kind == "thr" else ml / mf
                what = "throughput" if kind == "thr" else "latency, one-way"
                rows.append(f"| {what} | {transport} | {size} | {cf} | {cl} | — | {ratio:.2f} |")
                print(rows[-1], file=sys.stderr, flush=True)
    mixed = []
    for transport in [t for t in transports if t != "inproc"]:
        for size, count in THR_SIZES:
            count = max(count // scale, 100)
            for server, client in [("libzmq", "ferromq"), ("ferromq", "libzmq")]:
                v = measure(server, client, "thr", transport, size, count)
                cell = "lost the tail 3 times" if v is None else f"{v / 1e3:.0f}k"
                mixed.append(f"| {client} → {server} | {transport} | {size} | {cell} |")
    print(f"{rounds} round(s), stacks alternating within each round; medians (min–max). "
          "Throughput in msg/s, latency in µs; ratio > 1: ferromq ahead.\n")
    print("| measure | transport | size (B) | ferromq | libzmq (C tools) | omq.rs | ferromq vs libzmq |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    print("\nMixed pairs (every message arrived, byte count checked by the receiver):\n")
    print("| sender → receiver | transport | size (B) | msg/s |")
    print("| --- | --- | ---: | ---: |")
    print("\n".join(mixed))
    if LOST:
        print("\nRuns retried because the receiver never got the whole stream:\n")
        print("\n".join(f"- {x}" for x in LOST))


if __name__ == "__main__":
    main()
