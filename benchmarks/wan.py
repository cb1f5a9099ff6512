"""pymod at wide-area latency: the benchmark server behind a latency-injecting proxy.

Run (from the repository root)::

    .venv/bin/python benchmarks/wan.py              # 25 ms RTT, full sizes: about 3 minutes
    .venv/bin/python benchmarks/wan.py --quick      # small sizes, a quick look

What it does (see benchmarks/README.md, "At WAN latency"):

1. starts ``benchmarks/server.py`` (a separate process) and ``benchmarks/latency_proxy.py`` in
   front of it (another process): 12.5 ms each way = 25 ms round trip, one more round trip per new
   connection;
2. loads argo-ams-library 1.0.0 from its wheel under the name ``argo_ams_library_orig`` (never
   installed: the wheel is unpacked into a temporary directory; if no wheel is at hand it is
   fetched once with ``pip download --no-deps argo-ams-library==1.0.0`` into ``--cache``);
3. measures, side by side in one run, the raw urllib3 floor, pymod and argo-ams-library:

   (a) single publish, (b) batch publish 100 x 1 KiB, (c) pull 100 + ack, sequentially;
   (d) 20,000 x 1 KiB published as fast as each client allows: argo-ams-library's best sequential
       use (lists of 100 per call), pymod sequentially, 8 threads sharing one pymod client, and
       ``pymod.Publisher(max_in_flight=8)``;
   (e) 5,000 messages consumed with a 10 ms I/O-bound handler, ``Consumer(workers=1)`` and
       ``Consumer(workers=8)``;
   (f) peak RSS of a 1,000,000-message streaming publish (a generator) in a fresh process;

4. prints messages/s and the ratios. Nothing is asserted: benchmarks print figures.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import run as bench  # noqa: E402 - benchmarks/run.py: the server, the floor, the contenders
from latency_proxy import start_proxy_process  # noqa: E402

ORIG_WHEEL = "/work/orig/argo_ams_library-1.0.0-py3-none-any.whl"
ORIG_NAME = "argo_ams_library_orig"
_names = itertools.count()


#: The benchmark server as seen through the proxy (what the contenders need of a Server).
Via = bench.Endpoint


# ------------------------------------------------------------------------------------------
# argo-ams-library 1.0.0, from its wheel, under another name
# ------------------------------------------------------------------------------------------
def find_wheel(cache: str) -> Tuple[Optional[str], str]:
    """The argo-ams-library 1.0.0 wheel: the known copy, one in ``cache``, or downloaded there."""
    if os.path.exists(ORIG_WHEEL):
        return ORIG_WHEEL, ORIG_WHEEL
    found = glob.glob(os.path.join(cache, "argo_ams_library-1.0.0-*.whl"))
    if not found:
        os.makedirs(cache, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--timeout", "10",
               "--retries", "1", "-d", cache,
               "argo-ams-library==1.0.0"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"pip download failed: {done.stderr.strip()[-200:]}"
        found = glob.glob(os.path.join(cache, "argo_ams_library-1.0.0-*.whl"))
    return (found[0], found[0]) if found else (None, "no wheel found")


def load_original_library(cache: str) -> Tuple[Optional[Any], str]:
    """Import argo-ams-library 1.0.0 as ``argo_ams_library_orig`` (its imports are relative)."""
    import importlib

    if ORIG_NAME in sys.modules:
        return sys.modules[ORIG_NAME], "loaded"
    wheel, where = find_wheel(cache)
    if wheel is None:
        return None, where
    tmp = tempfile.mkdtemp(prefix="argo-ams-library-")
    target = os.path.join(tmp, ORIG_NAME)
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith("argo_ams_library/") and name.endswith(".py"):
                os.makedirs(target, exist_ok=True)
                with open(os.path.join(target, os.path.basename(name)), "wb") as fh:
                    fh.write(archive.read(name))
    sys.path.insert(0, tmp)
    try:
        module = importlib.import_module(ORIG_NAME)
    finally:
        sys.path.remove(tmp)
    return module, f"argo-ams-library 1.0.0 from {where}"


# ------------------------------------------------------------------------------------------
# measurements
# ------------------------------------------------------------------------------------------
def _topic(server: bench.Server, prefix: str, with_sub: bool = False) -> str:
    name = f"{prefix}-{next(_names)}"
    if with_sub:
        server.create_topic_sub(name, name)
    else:
        server.call("PUT", f"/v1/projects/{bench.PROJECT}/topics/{name}")
    return name


def _timed(call: Callable[[], int]) -> Tuple[float, float, int]:
    """Wall seconds, client CPU seconds (this process) and the count ``call`` returns."""
    cpu, start = time.process_time(), time.perf_counter()
    count = call()
    return time.perf_counter() - start, time.process_time() - cpu, count


def publish_sequential(contender: bench.Contender, topic: str, payloads: Sequence[bytes],
                       per_request: int) -> int:
    done = 0
    for start in range(0, len(payloads), per_request):
        done += len(contender.publish(topic, payloads[start:start + per_request]))
    return done


def publish_threads(ams: Any, topic: str, payloads: Sequence[bytes], threads: int) -> int:
    """What a user can write today: N threads sharing one client, each publishing lists of 100."""
    from pymod import AmsMessage

    counts = [0] * threads

    def work(k: int) -> None:
        mine = payloads[k::threads]
        for start in range(0, len(mine), bench.BATCH):
            msgs = [AmsMessage(data=p, attributes=bench.ATTRS)
                    for p in mine[start:start + bench.BATCH]]
            counts[k] += len(ams.publish(topic, msgs)["messageIds"])

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts)


def publish_publisher(ams: Any, topic: str, payloads: Sequence[bytes], in_flight: int) -> int:
    from pymod import AmsMessage, Publisher

    with Publisher(ams, topic, max_messages=bench.BATCH, max_in_flight=in_flight) as pub:
        futures = [pub.publish(AmsMessage(data=p, attributes=bench.ATTRS)) for p in payloads]
    return len({f.result() for f in futures})


def consume_workers(ams: Any, sub: str, total: int, workers: int, handler_seconds: float) -> int:
    from pymod.consumer import Consumer

    def handle(msg: Any) -> None:
        msg.get_data()
        time.sleep(handler_seconds)  # an I/O-bound handler (a database write, an HTTP call)

    consumer = Consumer(ams, sub, handle, batch_size=bench.BATCH, max_messages=total,
                        stop_when_empty=True, install_signal_handlers=False, ack_deadline=600,
                        workers=workers)
    return int(consumer.run().handled)


def rss_of_streaming_publish(server: Any, topic: str, count: int, size: int) -> Dict[str, Any]:
    """Publish ``count`` messages of ``size`` bytes from a generator to ``topic`` in a fresh
    process: its peak RSS before and after (``VmHWM``, KiB), the ids that came back, seconds."""
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child", server.endpoint,
           server.ca_path, server.token, topic, str(count), str(size)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"rss child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def rss_child(endpoint: str, ca_path: str, token: str, topic: str, count: int, size: int) -> None:
    from pymod import AmsMessage, ArgoMessagingService

    ams = ArgoMessagingService(endpoint, token=token, project=bench.PROJECT, verify=ca_path)
    blob = os.urandom(size + 256)

    def messages() -> Iterator[AmsMessage]:
        for i in range(count):
            yield AmsMessage(data=blob[i % 256:i % 256 + size], attributes={"i": str(i)})

    # warm up: the first request (TLS, imports, the first chunk's buffers) is not growth
    ams.publish(topic, itertools.islice(messages(), 2000))
    before = _vm_hwm_kib()
    start = time.perf_counter()
    ids = ams.publish(topic, messages())["messageIds"]
    seconds = time.perf_counter() - start
    print(json.dumps({"before_kib": before, "peak_kib": _vm_hwm_kib(), "ids": len(ids),
                      "seconds": seconds}))


@dataclass
class Row:
    """One measurement; with several rounds, ``seconds`` is the median and ``spread`` the
    (fastest, slowest) rates."""

    workload: str
    contender: str
    seconds: float
    messages: int
    cpu: float = 0.0
    spread: Tuple[float, float] = (0.0, 0.0)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def _median_row(workload: str, contender: str, samples: List[Tuple[float, float, int]]) -> Row:
    ordered = sorted(samples)
    wall, cpu, count = ordered[len(ordered) // 2]
    rates = [n / w for w, _c, n in samples if w > 0]
    return Row(workload, contender, wall, count, cpu, (min(rates), max(rates)))


def run_all(args: argparse.Namespace) -> List[Row]:
    rows: List[Row] = []
    orig, why = load_original_library(args.cache)
    print(f"argo-ams-library: {why}")
    payloads = bench._payloads(max(args.messages, bench.BATCH))
    with bench.start_server() as server, \
            start_proxy_process(server.endpoint, args.rtt / 2) as port:
        via = Via(f"{server.host}:{port}", server.ca_path, server.token)
        floor = bench.RawUrllib3(via)  # type: ignore[arg-type]
        pymod_c = bench.PymodClient(via)  # type: ignore[arg-type]
        contenders: List[bench.Contender] = [floor, pymod_c]
        if orig is not None:
            contenders.append(bench.ArgoAmsLibrary(via, orig))  # type: ignore[arg-type]
        print(f"server {server.endpoint}, proxy 127.0.0.1:{port}, RTT {args.rtt * 1000:.1f} ms")

        for c in contenders:  # connections opened, imports done: not in the figures
            c.publish(_topic(server, "warm"), payloads[:1])

        for key, label, ops, per in (
                ("a", "(a) publish 1 msg/request", args.single_ops, 1),
                ("b", "(b) publish 100 x 1 KiB/request", args.batch_ops, bench.BATCH)):
            if key not in args.only:
                continue
            for c in contenders:
                topic = _topic(server, "p")
                data = payloads[:per]
                sample = _timed(lambda c=c, topic=topic, data=data, ops=ops: sum(  # type: ignore[misc]
                    len(c.publish(topic, data)) for _ in range(ops)))
                rows.append(_median_row(label, c.name, [sample]))
                print_row(rows[-1])
        for c in contenders if "c" in args.only else ():
            sub = _topic(server, "c", with_sub=True)
            server.fill(sub, args.batch_ops * bench.BATCH)
            sample = _timed(lambda c=c, sub=sub: sum(  # type: ignore[misc]
                len(c.pull_ack(sub, bench.BATCH)) for _ in range(args.batch_ops)))
            rows.append(_median_row("(c) pull 100 + ack", c.name, [sample]))
            print_row(rows[-1])

        label = f"(d) publish {args.messages:,} x 1 KiB"
        many = payloads[:args.messages]
        plans: List[Tuple[str, Callable[[str], int]]] = []
        if orig is not None:
            old = contenders[-1]
            plans.append(("argo-ams-library, lists of 100",
                          lambda t: publish_sequential(old, t, many, bench.BATCH)))
        plans += [
            ("urllib3 (floor), lists of 100", lambda t: publish_sequential(floor, t, many,
                                                                           bench.BATCH)),
            ("pymod, lists of 100", lambda t: publish_sequential(pymod_c, t, many, bench.BATCH)),
            ("pymod, 8 threads, one client", lambda t: publish_threads(pymod_c.ams, t, many, 8)),
            ("pymod Publisher(max_in_flight=8)",
             lambda t: publish_publisher(pymod_c.ams, t, many, 8)),
        ]
        samples: Dict[str, List[Tuple[float, float, int]]] = {name: [] for name, _ in plans}
        for round_no in range(args.rounds if "d" in args.only else 0):
            shift = round_no % len(plans)  # the order rotates each round
            for name, plan in plans[shift:] + plans[:shift]:
                topic = _topic(server, "d")
                samples[name].append(_timed(lambda plan=plan, topic=topic: plan(topic)))  # type: ignore[misc]
        for name, _plan in plans if "d" in args.only else ():
            rows.append(_median_row(label, name, samples[name]))
            print_row(rows[-1])

        label = f"(e) consume {args.consume:,}, {args.handler_ms:g} ms handler"
        for workers in (1, 8) if "e" in args.only else ():
            sub = _topic(server, "e", with_sub=True)
            server.fill(sub, args.consume)
            sample = _timed(lambda sub=sub, workers=workers: consume_workers(  # type: ignore[misc]
                pymod_c.ams, sub, args.consume, workers, args.handler_ms / 1000))
            rows.append(_median_row(label, f"pymod Consumer(workers={workers})", [sample]))
            print_row(rows[-1])
        for c in contenders:
            c.close()

        if args.rss_messages and "f" in args.only:
            rss = rss_of_streaming_publish(server, _topic(server, "rss"), args.rss_messages,
                                           args.rss_size)
            grow = (rss["peak_kib"] - rss["before_kib"]) / 1024
            print(f"(f) streaming publish of {args.rss_messages:,} x {args.rss_size} B from a "
                  f"generator (fresh process, loopback): peak RSS {rss['before_kib'] / 1024:.1f} "
                  f"-> {rss['peak_kib'] / 1024:.1f} MiB (+{grow:.1f} MiB), {rss['ids']:,} ids, "
                  f"{rss['ids'] / rss['seconds']:,.0f} msgs/s")
    return rows


def print_row(row: Row) -> None:
    low, high = row.spread
    spread = f"  (rounds: {low:,.0f}-{high:,.0f})" if high > low else ""
    print(f"{row.workload:<32} {row.contender:<34} {row.rate:>7,.0f} msgs/s {row.seconds:>6.2f} s"
          f"  client CPU {100 * row.cpu / row.seconds if row.seconds else 0:>3.0f}%{spread}",
          flush=True)


def print_ratios(rows: List[Row]) -> None:
    by = {(r.workload[:3], r.contender): r for r in rows}
    print("\nratios (throughput)")
    for key in ("(a)", "(b)", "(c)"):
        floor = by.get((key, "urllib3 (floor)"))
        for name in ("pymod", "argo-ams-library"):
            row = by.get((key, name))
            if floor and row:
                print(f"  {key} {name} / floor: {row.rate / floor.rate:.2f}")
    old = by.get(("(d)", "argo-ams-library, lists of 100"))
    if old:
        for name in ("pymod, lists of 100", "pymod, 8 threads, one client",
                     "pymod Publisher(max_in_flight=8)"):
            row = by.get(("(d)", name))
            if row:
                print(f"  (d) {name} / argo-ams-library sequential: {row.rate / old.rate:.1f}x")
    pub = by.get(("(d)", "pymod Publisher(max_in_flight=8)"))
    threads = by.get(("(d)", "pymod, 8 threads, one client"))
    if pub and threads:
        print(f"  (d) Publisher / 8 threads: {pub.rate / threads.rate:.2f}")
    one = by.get(("(e)", "pymod Consumer(workers=1)"))
    eight = by.get(("(e)", "pymod Consumer(workers=8)"))
    if one and eight:
        print(f"  (e) workers=8 / workers=1: {eight.rate / one.rate:.1f}x")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description="pymod at WAN latency (see the docstring)")
    parser.add_argument("--rtt", type=float, default=0.025, help="round trip in seconds")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--only", default="abcdef", help="a subset of the workloads a-f")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (d), order rotating")
    parser.add_argument("--single-ops", type=int, default=40)
    parser.add_argument("--batch-ops", type=int, default=20)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--consume", type=int, default=5_000)
    parser.add_argument("--handler-ms", type=float, default=10.0)
    parser.add_argument("--rss-messages", type=int, default=1_000_000)
    parser.add_argument("--rss-size", type=int, default=256)
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                        "pymod-bench-cache"))
    parser.add_argument("--rss-child", nargs=6, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        endpoint, ca, token, topic, count, size = args.rss_child
        rss_child(endpoint, ca, token, topic, int(count), int(size))
        return
    if args.quick:
        args.single_ops, args.batch_ops, args.messages = 10, 5, 2_000
        args.consume, args.rss_messages, args.rounds = 400, 50_000, 1
    load = os.getloadavg()
    print(f"pymod at {args.rtt * 1000:.1f} ms RTT; load avg {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}; Python {sys.version.split()[0]}")
    rows = run_all(args)
    print_ratios(rows)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
