#!/usr/bin/env python3
"""ferromq against libzmq and omq.rs side by side, as ../shared/PERF.md asks: the same perf
tools (local_thr/remote_thr/inproc_thr, local_lat/remote_lat/inproc_lat, libzmq's command
lines and output) for each stack, run alternately within each round (A, B, C, A, B, C, ...),
medians with min-max and the ratios ferromq / libzmq and ferromq / omq.rs, printed as one
Markdown table.

- libzmq: C programs against its C API (perf/c/, built against the system's libzmq3-dev by
  perf/c/build.sh, which this script runs), not the `zmq` crate, which costs libzmq 1.3-1.6x
  on this machine.
- omq.rs: the same six tools over the `omq-tokio` crate's blocking API (perf/omq/, a crate
  outside ferromq's workspace, built here into $CARGO_TARGET_DIR/perf-omq).
- Fan-out: pub_thr/sub_thr (ferromq's examples, perf/c/ and perf/omq/), one publisher to 10
  subscribers over tcp, the mean rate per subscriber.
- memcpy: perf/c/memcpy_bw, this machine's memcpy bandwidth for 64 KiB blocks, measured in
  the same run, as the yardstick for the 64 KiB rows; and perf/c/raw_thr, the same 64 KiB
  blocks through a bare loopback TCP or Unix socket (no library, no framing, one reused
  buffer): the most any stack could carry over that transport here.
- Mixed pairs (ferromq's sender into the other stack's receiver and the reverse) check the
  wire at volume.
- The low-latency mode (ferromq's tools with FERROMQ_SPIN_US, ContextBuilder::spin) over tcp,
  beside perf/c/raw_lat, two processes ping-ponging over loopback with no library, reading
  blocking and busy-polling: the floors. And examples/idle_cpu: the CPU ferromq's threads
  burn while a REQ/REP pair is busy and while it is idle, in both modes.

    cargo build --release --examples
    python3 scripts/perf_compare.py                 # the whole table, 5 rounds
    python3 scripts/perf_compare.py --quick         # 1 round, small counts: a smoke test
    python3 scripts/perf_compare.py --stack ferromq --stack libzmq --transport tcp
    python3 scripts/perf_compare.py --kind thr --transport ipc   # main-table rows only
"""
import argparse, os, random, re, statistics, subprocess, sys, tempfile, time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TARGET = os.path.abspath(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"))
STACKS = {
    "ferromq": os.path.join(TARGET, "release", "examples"),
    "libzmq": os.path.join(TARGET, "perf-c"),
    "omq": os.path.join(TARGET, "perf-omq", "release"),
}
TOOLS = ["local_thr", "remote_thr", "inproc_thr", "local_lat", "remote_lat", "inproc_lat",
         "pub_thr", "sub_thr"]
EXTRA = {"ferromq": ["idle_cpu"], "libzmq": ["memcpy_bw", "raw_lat", "raw_thr"], "omq": []}
THR_SIZES = [(1, 5_000_000), (64, 3_000_000), (1024, 1_000_000), (65536, 50_000)]
LAT_SIZES = [(1, 20_000), (1024, 20_000)]
# omq.rs's PUB drops once its fan-out rings fill (its high-water mark does not lift them), so
# the fan-out stream is kept short enough for every stack to deliver whole.
FANOUT = (64, 50_000, 10)
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


def measure(server, client, kind, transport, size, count, extra=()):
    """One measurement, retried twice if the receiver never got the whole stream; `None`
    after three such runs (the table then says so)."""
    for _ in range(3):
        v = pair(server, client, kind, transport, size, count, extra)
        if v is not None:
            return v
    return None


def tool(stack, name):
    return os.path.join(STACKS[stack], name)


def pair(server, client, kind, transport, size, count, extra, env=None):
    """Runs one measurement; `server` binds (local_*, pub_thr), `client` connects (remote_*,
    sub_thr). Returns msg/s for throughput, one-way microseconds for latency."""
    args = [str(size), str(count), *map(str, extra)]
    if transport == "inproc":
        out = subprocess.run([tool(server, f"inproc_{kind}"), *args],
                             check=True, timeout=600, capture_output=True, text=True).stdout
    else:
        ep = endpoint(transport)
        bind, conn = {"thr": ("local_thr", "remote_thr"), "lat": ("local_lat", "remote_lat"),
                      "fan": ("pub_thr", "sub_thr")}[kind]
        env = dict(os.environ, **(env or {}))
        local = subprocess.Popen([tool(server, bind), ep, *args], stdout=subprocess.PIPE,
                                 text=True, env=env)
        time.sleep(0.2)
        try:
            remote = subprocess.run([tool(client, conn), ep, *args], check=True, timeout=120,
                                    capture_output=True, text=True, env=env)
            local_out, _ = local.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            for p in (local,):
                p.kill()
                p.communicate()
            LOST.append(f"{server} → {client}, {kind}, {transport}, {size} B × {count}")
            print(f"lost the tail: {LOST[-1]}", file=sys.stderr, flush=True)
            if server == client == "ferromq":
                sys.exit(f"ferromq lost the tail of a stream ({ep}): {LOST[-1]}")
            return None
        finally:
            # libzmq 4.3 leaves the file of an ipc path it bound behind.
            if ep.startswith("ipc://"):
                try:
                    os.unlink(ep[len("ipc://"):])
                except FileNotFoundError:
                    pass
        out = local_out if kind == "thr" else remote.stdout
    if kind == "lat":
        return latency_of(out)
    return int(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1))


def latency_of(out):
    """The one-way µs of libzmq's latency lines (every stack's tools and raw_lat print them)."""
    return float(re.search(r"average latency: ([\d.]+) \[us\]", out).group(1))


def fmt(v, unit):
    if unit == "us":
        return f"{v:.1f}"
    return f"{v / 1e6:.2f}M" if v >= 1e6 else f"{v / 1e3:.0f}k"


def cell(xs, unit):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, "lost the tail every time"
    m = statistics.median(xs)
    return m, f"{fmt(m, unit)} ({fmt(min(xs), unit)}–{fmt(max(xs), unit)})"


def ratio(ours, theirs, unit):
    """Above 1: ferromq ahead, for throughput and latency alike."""
    if ours is None or theirs is None:
        return "—"
    return f"{ours / theirs if unit == 'msg/s' else theirs / ours:.2f}"


SPIN_US = 1000


def low_latency(rounds, scale):
    """ferromq's tcp latency in the low-latency mode against the loopback floors."""
    rows = []
    for size, count in LAT_SIZES:
        count = max(count // scale, 100)
        got = {"ferromq, spin": [], "raw, busy-poll": [], "raw, blocking": []}
        for _ in range(rounds):
            got["ferromq, spin"].append(pair("ferromq", "ferromq", "lat", "tcp", size, count, (),
                                             {"FERROMQ_SPIN_US": str(SPIN_US)}))
            for mode, key in (("spin", "raw, busy-poll"), ("block", "raw, blocking")):
                out = subprocess.run([tool("libzmq", "raw_lat"), str(size), str(count), mode],
                                     check=True, capture_output=True, text=True).stdout
                got[key].append(latency_of(out))
        cells = {k: cell(v, "us") for k, v in got.items()}
        rows.append(f"| tcp | {size} | " + " | ".join(c[1] for c in cells.values()) +
                    f" | {cells['ferromq, spin'][0] / cells['raw, busy-poll'][0]:.2f} |")
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def idle_cpu(seconds):
    rows = []
    for mode, env in (("default", {}), (f"spin {SPIN_US} µs", {"FERROMQ_SPIN_US": str(SPIN_US)})):
        out = subprocess.run([tool("ferromq", "idle_cpu"), str(seconds)], check=True,
                             capture_output=True, text=True,
                             env=dict(os.environ, **env)).stdout
        busy = float(re.search(r"cpu while busy: ([\d.]+)", out).group(1))
        idle = int(re.search(r"cpu while idle: (\d+)", out).group(1))
        rows.append(f"| {mode} | {busy:.2f} | {idle} ms over {seconds} s |")
    return rows


def memcpy_bw(scale):
    out = subprocess.run([tool("libzmq", "memcpy_bw"), "65536", str(max(8192 // scale, 256))],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"bandwidth: ([\d.]+) \[GB/s\]", out).group(1))


def raw_thr(transport, rounds, scale):
    """Median GB/s of 64 KiB blocks through a bare socket of `transport` (perf/c/raw_thr)."""
    count = max(THR_SIZES[-1][1] // scale, 100)
    got = []
    for _ in range(rounds):
        out = subprocess.run([tool("libzmq", "raw_thr"), transport, "65536", str(count)],
                             check=True, capture_output=True, text=True).stdout
        got.append(int(re.search(r"mean throughput: (\d+) \[msg/s\]", out).group(1)))
    return statistics.median(got) * 65536 / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="1 round, counts / 50: a smoke test")
    ap.add_argument("--transport", choices=TRANSPORTS, action="append")
    ap.add_argument("--stack", choices=list(STACKS), action="append",
                    help="the stacks to run (default: all three; ferromq always runs)")
    ap.add_argument("--kind", choices=["thr", "fan", "lat"], action="append",
                    help="only these rows of the main table, and none of the other tables")
    a = ap.parse_args()
    rounds = 1 if a.quick else a.rounds
    scale = 50 if a.quick else 1
    transports = a.transport or TRANSPORTS
    stacks = ["ferromq"] + [s for s in STACKS if s != "ferromq" and (not a.stack or s in a.stack)]
    subprocess.run(["bash", os.path.join(ROOT, "perf", "c", "build.sh")], check=True)
    if "omq" in stacks:
        env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(TARGET, "perf-omq"))
        subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path",
                        os.path.join(ROOT, "perf", "omq", "Cargo.toml")], check=True, env=env)
    for stack in stacks:
        missing = [t for t in TOOLS + EXTRA[stack] if not os.path.exists(tool(stack, t))]
        if missing:
            sys.exit(f"{stack}: missing {missing}; run `cargo build --release --examples`")

    rows, medians = [], {}
    plan = [("thr", t, size, count, ()) for t in transports for size, count in THR_SIZES]
    if "tcp" in transports:
        plan.append(("fan", "tcp", FANOUT[0], FANOUT[1], (FANOUT[2],)))
    plan += [("lat", t, size, count, ()) for t in transports for size, count in LAT_SIZES]
    plan = [p for p in plan if not a.kind or p[0] in a.kind]
    for kind, transport, size, count, extra in plan:
        count = max(count // scale, 100)
        unit = "us" if kind == "lat" else "msg/s"
        got = {s: [] for s in stacks}
        for _ in range(rounds):
            for s in stacks:  # alternate the stacks within each round
                got[s].append(measure(s, s, kind, transport, size, count, extra))
        cells = {s: cell(got[s], unit) for s in stacks}
        medians[(kind, transport, size)] = {s: cells[s][0] for s in stacks}
        what = {"thr": "throughput", "lat": "latency, one-way",
                "fan": f"PUB → {FANOUT[2]} SUB, per subscriber"}[kind]
        shown = [cells[s][1] if s in cells else "—" for s in STACKS]
        ours = cells["ferromq"][0]
        ratios = [ratio(ours, cells[s][0], unit) if s in cells else "—"
                  for s in ("libzmq", "omq")]
        rows.append(f"| {what} | {transport} | {size} | " + " | ".join(shown + ratios) + " |")
        print(rows[-1], file=sys.stderr, flush=True)

    print(f"{rounds} round(s), stacks alternating within each round; medians (min–max). "
          "Throughput in msg/s, latency in µs; ratio > 1: ferromq ahead.\n")
    print("| measure | transport | size (B) | ferromq | libzmq (C tools) | omq.rs | "
          "ferromq ÷ libzmq | ferromq ÷ omq.rs |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    if a.kind:
        print_lost()
        return
    floors = low_latency(rounds, scale) if "tcp" in transports else []
    cpu = idle_cpu(1 if a.quick else 3)
    bw = memcpy_bw(scale)
    copies = []
    for transport in transports:
        m = medians.get(("thr", transport, 65536), {})
        raw = raw_thr(transport, rounds, scale) if transport != "inproc" and m else None
        if raw:
            copies.append(f"| bare socket | {transport} | {raw:.2f} | {bw / raw:.2f} | 1.00 |")
        for s in stacks:
            if m.get(s):
                gbs = m[s] * 65536 / 1e9
                of_raw = f"{raw / gbs:.2f}" if raw else "—"
                copies.append(f"| {s} | {transport} | {gbs:.2f} | {bw / gbs:.2f} | {of_raw} |")

    mixed = []
    for other in [s for s in stacks if s != "ferromq"]:
        for transport in [t for t in transports if t != "inproc"]:
            for size, count in THR_SIZES:
                count = max(count // scale, 100)
                for server, client in [(other, "ferromq"), ("ferromq", other)]:
                    v = measure(server, client, "thr", transport, size, count)
                    shown = "lost the tail 3 times" if v is None else f"{v / 1e3:.0f}k"
                    mixed.append(f"| {client} → {server} | {transport} | {size} | {shown} |")

    print(f"\n64 KiB messages against this machine's memcpy ({bw:.2f} GB/s for 64 KiB blocks "
          "between two 64 MiB arenas, perf/c/memcpy_bw, same run) and against a bare socket "
          "(perf/c/raw_thr: the blocks through a loopback TCP or Unix socket with no library, "
          "medians of as many runs, same run):\n")
    print("| stack | transport | GB/s of payload | memcpy ÷ stack | bare socket ÷ stack |")
    print("| --- | --- | ---: | ---: | ---: |")
    print("\n".join(copies))
    if floors:
        print(f"\nThe low-latency mode (FERROMQ_SPIN_US={SPIN_US}, ContextBuilder::spin) against "
              "the loopback floor (perf/c/raw_lat: two processes, no library), one-way µs; "
              "last column: ferromq ÷ busy-poll floor:\n")
        print("| transport | size (B) | ferromq, low-latency mode | raw, busy-poll | "
              "raw, blocking | ÷ floor |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        print("\n".join(floors))
    print("\nCPU of a REQ/REP pair in one process over tcp (examples/idle_cpu: all threads, "
          "/proc ticks of 10 ms), while 20 000 round trips run and then while idle:\n")
    print("| mode | cores busy during round trips | CPU while idle |")
    print("| --- | ---: | ---: |")
    print("\n".join(cpu))
    print("\nMixed pairs (every message arrived, byte count checked by the receiver):\n")
    print("| sender → receiver | transport | size (B) | msg/s |")
    print("| --- | --- | ---: | ---: |")
    print("\n".join(mixed))
    print_lost()


def print_lost():
    if LOST:
        print("\nRuns retried because the receiver never got the whole stream:\n")
        print("\n".join(f"- {x}" for x in LOST))


if __name__ == "__main__":
    main()
