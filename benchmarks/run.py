"""pymod speed benchmarks: throughput and client CPU per message against a loopback TLS server.

Run (from the repository root)::

    .venv/bin/python benchmarks/run.py            # full run, a few minutes
    .venv/bin/python benchmarks/run.py --quick    # a short run while developing

What it does (see benchmarks/README.md):

1. starts ``benchmarks/server.py`` -- a minimal in-memory AMS-compatible HTTPS server -- in a
   SEPARATE process, and measures its capacity first;
2. runs every workload for every contender, alternating the contenders round-robin over several
   rounds (the order rotates each round) so that drift of the machine hits all of them alike:

   (a) publish one message (1 KiB payload, one attribute) per request
   (b) publish a batch of 100 messages x 1 KiB per request
   (c) consume: pull 100 (returnImmediately) + decode every payload + acknowledge the batch
   (d) end to end: publish N messages in batches of 100, then drain them through the consumer
       loop (``pymod.consumer.Consumer`` when it exists, else a pull+ack loop)

3. (e) measures the resident memory of a consumer loop in a fresh process: peak RSS after 10k
   and after 200k consumed messages, and the growth between the two;
4. prints a table: messages/s, client CPU microseconds per message (``time.process_time()``
   deltas of this process -- the server's CPU is not in it), the server's CPU utilisation during
   the measurement, and each contender's throughput ratio to the floor.

The floor is a raw ``urllib3.HTTPSConnectionPool`` keep-alive client doing the same work as the
library: the same JSON bodies, the same headers, the same Base64 encoding and decoding.
Benchmarks are printed, never asserted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import urllib3

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PROJECT = "BENCH"
PAYLOAD_SIZE = 1024
ATTRS = {"host": "node7"}
BATCH = 100


# ------------------------------------------------------------------------------------------
# the server
# ------------------------------------------------------------------------------------------
@dataclass
class Endpoint:
    """Where the contenders connect: ``host:port``, the CA file and the token."""

    endpoint: str
    ca_path: str
    token: str

    @property
    def host(self) -> str:
        return self.endpoint.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])


@contextlib.contextmanager
def child_process(cmd: List[str], fields: int, what: str) -> Iterator[Tuple[Any, List[str]]]:
    """Run a benchmark helper (``cmd``) that prints ``READY <fields-1 values>`` when it is up
    and ends when its stdin closes; yield ``(process, values)``; stop it at the end."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != fields or line[0] != "READY":
        proc.kill()
        raise RuntimeError(f"{what} did not start: {line!r}")
    try:
        yield proc, line[1:]
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=5)


@dataclass
class Server(Endpoint):
    """A running benchmark server (a child process)."""

    name: str = "benchmarks/server.py"
    _admin: Optional[urllib3.HTTPSConnectionPool] = field(default=None, repr=False)

    def _pool(self) -> urllib3.HTTPSConnectionPool:
        if self._admin is None:
            self._admin = urllib3.HTTPSConnectionPool(
                self.host, self.port, maxsize=1, ca_certs=self.ca_path, retries=False,
                timeout=urllib3.Timeout(60),
            )
        return self._admin

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """An untimed admin request (setup, fill, stats)."""
        data = None if body is None else json.dumps(body)
        resp = self._pool().urlopen(
            method, path, body=data, headers={"x-api-key": self.token}, retries=False
        )
        if resp.status != 200:
            raise RuntimeError(f"{method} {path} -> {resp.status}: {resp.data[:200]!r}")
        return json.loads(resp.data) if resp.data else {}

    def stats(self) -> Dict[str, float]:
        return self.call("GET", "/bench/stats")  # type: ignore[no-any-return]

    def create_topic_sub(self, topic: str, sub: str) -> None:
        base = f"/v1/projects/{PROJECT}"
        self.call("PUT", f"{base}/topics/{topic}")
        self.call("PUT", f"{base}/subscriptions/{sub}",
                  {"topic": f"projects/{PROJECT}/topics/{topic}", "ackDeadlineSeconds": 600})

    def fill(self, topic: str, count: int, size: int = PAYLOAD_SIZE) -> None:
        """Store ``count`` messages in ``topic`` without HTTP publishes (untimed)."""
        step = 20_000
        for start in range(0, count, step):
            self.call("POST", "/bench/fill", {"project": PROJECT, "topic": topic,
                                              "count": min(step, count - start), "size": size})

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


@contextlib.contextmanager
def start_server() -> Iterator[Server]:
    """Start ``benchmarks/server.py`` in a child process; yield it; stop it."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pymod-bench-") as directory, child_process(
        [sys.executable, os.path.join(HERE, "server.py"), "--dir", directory], 4,
        "benchmark server",
    ) as (_proc, (endpoint, ca_path, token)):
        server = Server(endpoint=endpoint, ca_path=ca_path, token=token)
        try:
            yield server
        finally:
            server.close()


# ------------------------------------------------------------------------------------------
# contenders
# ------------------------------------------------------------------------------------------
def _payloads(count: int, size: int = PAYLOAD_SIZE) -> List[bytes]:
    blob = os.urandom(size + count)
    return [blob[i:i + size] for i in range(count)]


class Contender:
    """What every client under test can do. All methods do the full client-side work."""

    name = "?"

    def publish(self, topic: str, payloads: Sequence[bytes]) -> List[str]:
        """Base64-encode ``payloads`` (with ATTRS) and publish them in ONE request."""
        raise NotImplementedError

    def pull_ack(self, sub: str, num: int) -> List[bytes]:
        """Pull up to ``num`` (returnImmediately), decode every payload, ack all ids."""
        raise NotImplementedError

    def consume(self, sub: str, total: int, handle: Callable[[bytes], None]) -> int:
        """Drain ``total`` messages through the contender's consumer loop."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class RawUrllib3(Contender):
    """The floor: urllib3 keep-alive, same bodies, headers and Base64 work, nothing else."""

    name = "urllib3 (floor)"

    def __init__(self, server: Server) -> None:
        from pymod.__version__ import __version__

        self.pool = urllib3.HTTPSConnectionPool(
            server.host, server.port, maxsize=1, ca_certs=server.ca_path, retries=False,
            timeout=urllib3.Timeout(connect=30, read=30),
        )
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"pymod/{__version__}",
            "x-api-key": server.token,
        }
        self.base = f"/v1/projects/{PROJECT}"

    def _post(self, path: str, body: str) -> Any:
        resp = self.pool.urlopen("POST", path, body=body, headers=self.headers, retries=False,
                                 redirect=False)
        if resp.status != 200:
            raise RuntimeError(f"POST {path} -> {resp.status}")
        return json.loads(resp.data) if resp.data else {}

    def publish(self, topic: str, payloads: Sequence[bytes]) -> List[str]:
        msgs = [{"attributes": dict(ATTRS), "data": base64.b64encode(p).decode("ascii")}
                for p in payloads]
        body = json.dumps({"messages": msgs}, separators=(",", ":"))
        reply = self._post(f"{self.base}/topics/{topic}:publish", body)
        return list(reply["messageIds"])

    def _pull(self, sub: str, num: int) -> List[Tuple[str, bytes]]:
        body = json.dumps({"maxMessages": str(num), "returnImmediately": "true"},
                          separators=(",", ":"))
        reply = self._post(f"{self.base}/subscriptions/{sub}:pull", body)
        return [(m["ackId"], base64.b64decode(m["message"]["data"], validate=True))
                for m in reply.get("receivedMessages") or ()]

    def _ack(self, sub: str, ids: List[str]) -> None:
        self._post(f"{self.base}/subscriptions/{sub}:acknowledge",
                   json.dumps({"ackIds": ids}, separators=(",", ":")))

    def pull_ack(self, sub: str, num: int) -> List[bytes]:
        got = self._pull(sub, num)
        if got:
            self._ack(sub, [a for a, _ in got])
        return [d for _, d in got]

    def consume(self, sub: str, total: int, handle: Callable[[bytes], None]) -> int:
        done = 0
        while done < total:
            got = self._pull(sub, BATCH)
            if not got:
                break
            for _, data in got:
                handle(data)
            self._ack(sub, [got[-1][0]])
            done += len(got)
        return done

    def close(self) -> None:
        self.pool.close()


class PymodClient(Contender):
    """pymod's ArgoMessagingService, used as documented."""

    name = "pymod"

    def __init__(self, server: Server, ams_class: Any = None, msg_class: Any = None) -> None:
        from pymod import AmsMessage, ArgoMessagingService

        self.msg_class = msg_class or AmsMessage
        self.ams = (ams_class or ArgoMessagingService)(
            server.endpoint, token=server.token, project=PROJECT, verify=server.ca_path
        )

    def publish(self, topic: str, payloads: Sequence[bytes]) -> List[str]:
        msg = self.msg_class
        if len(payloads) == 1:
            out = self.ams.publish(topic, msg(data=payloads[0], attributes=ATTRS))
        else:
            out = self.ams.publish(topic, [msg(data=p, attributes=ATTRS) for p in payloads])
        return list(out["messageIds"])

    def pull_ack(self, sub: str, num: int) -> List[bytes]:
        got = self.ams.pull_sub(sub, num, return_immediately=True)
        if got:
            self.ams.ack_sub(sub, [a for a, _ in got])
        return [m.get_data() for _, m in got]

    def consume(self, sub: str, total: int, handle: Callable[[bytes], None]) -> int:
        consumer_cls = consumer_class()
        if consumer_cls is None:
            return self._pull_ack_loop(sub, total, handle)
        return run_consumer(consumer_cls, self.ams, sub, total, handle)

    def _pull_ack_loop(self, sub: str, total: int, handle: Callable[[bytes], None]) -> int:
        done = 0
        while done < total:
            got = self.ams.pull_sub(sub, BATCH, return_immediately=True)
            if not got:
                break
            for _, m in got:
                handle(m.get_data())
            self.ams.ack_sub(sub, [got[-1][0]])
            done += len(got)
        return done

    def close(self) -> None:
        self.ams.close()


class ArgoAmsLibrary(Contender):
    """The older argo-ams-library (a new TLS connection per call), if it is installed."""

    name = "argo-ams-library"

    def __init__(self, server: Server, module: Any) -> None:
        self.mod = module
        self.ams = module.ArgoMessagingService(
            endpoint=server.endpoint, token=server.token, project=PROJECT
        )
        self.kw = {"verify": server.ca_path}

    def publish(self, topic: str, payloads: Sequence[bytes]) -> List[str]:
        msgs = [self.mod.AmsMessage(data=p, attributes=dict(ATTRS)) for p in payloads]
        out = self.ams.publish(topic, msgs if len(msgs) > 1 else msgs[0], **self.kw)
        return list(out["messageIds"])

    def pull_ack(self, sub: str, num: int) -> List[bytes]:
        got = self.ams.pull_sub(sub, num, True, **self.kw)
        if got:
            self.ams.ack_sub(sub, [a for a, _ in got], **self.kw)
        return [m.get_data() for _, m in got]

    def consume(self, sub: str, total: int, handle: Callable[[bytes], None]) -> int:
        done = 0
        while done < total:
            got = self.ams.pull_sub(sub, BATCH, True, **self.kw)
            if not got:
                break
            for _, m in got:
                handle(m.get_data())
            self.ams.ack_sub(sub, [got[-1][0]], **self.kw)
            done += len(got)
        return done


def argo_ams_library_module() -> Tuple[Optional[Any], str]:
    """The real argo-ams-library module, or None and why not."""
    try:
        import argo_ams_library
    except ImportError:
        return None, "not installed"
    import pymod

    if getattr(argo_ams_library, "ArgoMessagingService", None) is pymod.ArgoMessagingService:
        return None, "not installed (argo_ams_library here is pymod's compatibility alias)"
    return argo_ams_library, "installed"


def baseline_package(rev: str) -> Any:
    """pymod as of git revision ``rev``, importable as ``pymod_baseline`` (for before/after).

    Read-only use of git: ``git archive`` into a temporary directory; every ``pymod`` name in
    the copy is renamed so that both versions live in one process.
    """
    import atexit
    import importlib
    import io
    import re
    import shutil
    import tarfile
    import tempfile

    tmp = tempfile.mkdtemp(prefix="pymod-baseline-")
    atexit.register(shutil.rmtree, tmp, True)
    tar = subprocess.run(["git", "-C", ROOT, "archive", rev, "pymod"], capture_output=True,
                         check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(tmp)  # noqa: S202 - our own repository
    pkg = os.path.join(tmp, "pymod_baseline")
    os.rename(os.path.join(tmp, "pymod"), pkg)
    for folder, _dirs, files in os.walk(pkg):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path) as fh:
                    text = fh.read()
                with open(path, "w") as fh:
                    fh.write(re.sub(r"\bpymod\b", "pymod_baseline", text))
    sys.path.insert(0, tmp)
    return importlib.import_module("pymod_baseline")


def make_contenders(server: Server, names: Optional[Sequence[str]] = None,
                    baseline: Optional[str] = None) -> List[Contender]:
    out: List[Contender] = [RawUrllib3(server), PymodClient(server)]
    if baseline:
        old = baseline_package(baseline)
        contender = PymodClient(server, old.ArgoMessagingService, old.AmsMessage)
        contender.name = f"pymod@{baseline}"
        out.append(contender)
    module, _why = argo_ams_library_module()
    if module is not None:
        out.append(ArgoAmsLibrary(server, module))
    if names:
        out = [c for c in out if c.name.split()[0].split("@")[0] in names or c is out[0]]
    return out


# ------------------------------------------------------------------------------------------
# the consumer loop
# ------------------------------------------------------------------------------------------
def consumer_class() -> Optional[Any]:
    try:
        from pymod.consumer import Consumer
    except ImportError:
        return None
    return Consumer


def run_consumer(consumer_cls: Any, ams: Any, sub: str, total: int,
                 handle: Callable[[bytes], None]) -> int:
    """Drain ``total`` messages from ``sub`` through ``pymod.consumer.Consumer``."""
    consumer = consumer_cls(ams, sub, lambda msg: handle(msg.get_data()), batch_size=BATCH,
                            max_messages=total, stop_when_empty=True,
                            install_signal_handlers=False)
    return int(consumer.run().handled)


def consumer_label() -> str:
    return "pymod.consumer.Consumer" if consumer_class() is not None else "pull_sub+ack_sub loop"


# ------------------------------------------------------------------------------------------
# measurements
# ------------------------------------------------------------------------------------------
@dataclass
class Sample:
    messages: int
    wall: float
    cpu: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.messages * 1e6

    @property
    def server_util(self) -> float:
        return self.server_cpu / self.wall


def measure(server: Server, fn: Callable[[], int]) -> Sample:
    gc.collect()
    before = server.stats()["cpu"]
    cpu0, t0 = time.process_time(), time.perf_counter()
    messages = fn()
    t1, cpu1 = time.perf_counter(), time.process_time()
    after = server.stats()["cpu"]
    return Sample(messages, t1 - t0, cpu1 - cpu0, after - before)


def _sink(data: bytes) -> None:
    if len(data) != PAYLOAD_SIZE:
        raise RuntimeError(f"payload of {len(data)} bytes, expected {PAYLOAD_SIZE}")


@dataclass
class Workload:
    key: str
    label: str
    run: Callable[[Contender, str, str], int]  # (contender, topic, sub) -> messages


def workloads(cfg: argparse.Namespace, server: Server) -> List[Workload]:
    one = _payloads(1)
    hundred = _payloads(BATCH)

    def single(c: Contender, topic: str, sub: str) -> int:
        for _ in range(cfg.single_ops):
            c.publish(topic, one)
        return cfg.single_ops

    def batch(c: Contender, topic: str, sub: str) -> int:
        for _ in range(cfg.batch_ops):
            if len(c.publish(topic, hundred)) != BATCH:
                raise RuntimeError("short publish reply")
        return cfg.batch_ops * BATCH

    def consume(c: Contender, topic: str, sub: str) -> int:
        done = 0
        for _ in range(cfg.consume_ops):
            got = c.pull_ack(sub, BATCH)
            for data in got:
                _sink(data)
            done += len(got)
        if done != cfg.consume_ops * BATCH:
            raise RuntimeError(f"consumed {done}, expected {cfg.consume_ops * BATCH}")
        return done

    def e2e(c: Contender, topic: str, sub: str) -> int:
        total = cfg.e2e_messages
        for _ in range(total // BATCH):
            c.publish(topic, hundred)
        done = c.consume(sub, total, _sink)
        if done != total:
            raise RuntimeError(f"{c.name}: consumed {done} of {total}")
        return total

    return [
        Workload("a", "(a) publish 1 msg/request", single),
        Workload("b", "(b) publish 100 x 1 KiB/request", batch),
        Workload("c", "(c) pull 100 + ack", consume),
        Workload("d", f"(d) e2e publish+consume {cfg.e2e_messages // 1000}k", e2e),
    ]


def prepare(server: Server, wl: Workload, c: Contender, index: int,
            cfg: argparse.Namespace) -> Tuple[str, str]:
    """Untimed setup: per contender topic/sub; consume workloads get their messages filled."""
    topic, sub = f"t{wl.key}{index}", f"s{wl.key}{index}"
    key = (topic, sub)
    if key not in _created:
        server.create_topic_sub(topic, sub)
        _created.add(key)
    if wl.key == "c":
        server.fill(topic, cfg.consume_ops * BATCH)
    return topic, sub


_created: set = set()


def warm_up(server: Server, contenders: Sequence[Contender]) -> None:
    """Open connections, fill caches, import lazily loaded modules (untimed)."""
    server.create_topic_sub("warm", "warm")
    one = _payloads(1)
    for c in contenders:
        for _ in range(50):
            c.publish("warm", one)
        c.pull_ack("warm", BATCH)


# ------------------------------------------------------------------------------------------
# server capacity
# ------------------------------------------------------------------------------------------
def _capacity_worker(endpoint: str, ca: str, token: str, seconds: float, out: Any) -> None:
    host, port = endpoint.rsplit(":", 1)
    pool = urllib3.HTTPSConnectionPool(host, int(port), maxsize=1, ca_certs=ca, retries=False)
    headers = {"Content-Type": "application/json", "x-api-key": token}
    body = json.dumps({"messages": [{"attributes": ATTRS,
                                     "data": base64.b64encode(os.urandom(PAYLOAD_SIZE)).decode()}]})
    path = f"/v1/projects/{PROJECT}/topics/cap:publish"
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pool.urlopen("POST", path, body=body, headers=headers, retries=False)
        n += 1
    out.put(n)


def server_capacity(server: Server, seconds: float, clients: int) -> Dict[str, float]:
    """Single-publish requests/s the server sustains with ``clients`` raw client processes,
    and its CPU per request (-> requests/s per core)."""
    import multiprocessing as mp

    server.call("PUT", f"/v1/projects/{PROJECT}/topics/cap")
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    s0 = server.stats()
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_capacity_worker,
                         args=(server.endpoint, server.ca_path, server.token, seconds, queue))
             for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    s1 = server.stats()
    requests = s1["requests"] - s0["requests"] - 1
    cpu = s1["cpu"] - s0["cpu"]
    return {
        "rate": total / wall,
        "cpu_us": cpu / max(requests, 1) * 1e6,
        "per_core": max(requests, 1) / cpu if cpu else float("inf"),
        "util": cpu / wall,
    }


# ------------------------------------------------------------------------------------------
# memory (e): a consumer loop in a fresh process
# ------------------------------------------------------------------------------------------
def _vm(field_name: str) -> int:
    """VmHWM / VmRSS of this process in KiB (ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(endpoint: str, ca: str, token: str, sub: str, first: int, total: int,
                 contender: str) -> Dict[str, Any]:
    """Consume ``total`` messages; report VmHWM/VmRSS after ``first`` and after ``total``."""
    server = Server(endpoint=endpoint, ca_path=ca, token=token)
    client: Contender = PymodClient(server) if contender == "pymod" else RawUrllib3(server)
    marks: Dict[str, Any] = {}
    done = client.consume(sub, first, _sink)
    gc.collect()
    marks["first"] = {"messages": done, "hwm": _vm("VmHWM"), "rss": _vm("VmRSS")}
    done += client.consume(sub, total - first, _sink)
    gc.collect()
    marks["last"] = {"messages": done, "hwm": _vm("VmHWM"), "rss": _vm("VmRSS")}
    marks["consumer"] = consumer_label() if contender == "pymod" else "pull+ack loop"
    client.close()
    return marks


def memory_test(server: Server, first: int, total: int, contender: str) -> Dict[str, Any]:
    topic, sub = f"mem-{contender}", f"mem-{contender}"
    server.create_topic_sub(topic, sub)
    server.fill(topic, total)
    args = json.dumps([server.endpoint, server.ca_path, server.token, sub, first, total,
                       contender])
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", args],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"memory child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------
# reporting
# ------------------------------------------------------------------------------------------
def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPU ({model}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, load avg {load}")


def versions() -> str:
    import requests

    from pymod.__version__ import __version__

    return f"pymod {__version__}, requests {requests.__version__}, urllib3 {urllib3.__version__}"


def report(results: Dict[str, Dict[str, List[Sample]]], wls: List[Workload],
           contenders: List[Contender]) -> None:
    floor = contenders[0].name
    head = (f"{'workload':34} {'contender':18} {'msgs/s':>9} {'CPU us/msg':>11} "
            f"{'vs floor':>9} {'srv CPU':>8}")
    print(head)
    print("-" * len(head))
    for wl in wls:
        per = results.get(wl.key)
        if not per:
            continue
        for c in contenders:
            samples = per.get(c.name)
            if not samples:
                continue
            rate = statistics.median(s.rate for s in samples)
            cpu = statistics.median(s.cpu_us for s in samples)
            util = statistics.median(s.server_util for s in samples)
            # paired: each round's ratio to the floor of the same round, then the median
            ratios = [s.rate / f.rate for s, f in zip(samples, per[floor])]
            ratio = statistics.median(ratios)
            print(f"{wl.label:34} {c.name:18} {rate:9,.0f} {cpu:11.1f} {ratio:9.2f} "
                  f"{util:7.0%}")
    print()


def print_memory(mem: Dict[str, Any], first: int, total: int) -> None:
    a, b = mem["first"], mem["last"]
    growth = (b["hwm"] - a["hwm"]) / 1024
    print(f"(e) consumer RSS ({mem['consumer']}): peak after {a['messages']:,} msgs "
          f"{a['hwm'] / 1024:.1f} MiB (RSS {a['rss'] / 1024:.1f}), after {b['messages']:,} "
          f"{b['hwm'] / 1024:.1f} MiB (RSS {b['rss'] / 1024:.1f}); growth {growth:+.1f} MiB "
          f"(target < 20 MiB)")


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="pymod speed benchmarks (see benchmarks/README.md)")
    p.add_argument("--quick", action="store_true", help="small counts, 2 rounds (~30 s)")
    p.add_argument("--rounds", type=int, help="rounds of the round-robin (default 5, quick 2)")
    p.add_argument("--only", default="abcde", help="workloads to run, e.g. 'ab' (default abcde)")
    p.add_argument("--contenders", help="comma list of contenders besides the floor, e.g. pymod")
    p.add_argument("--baseline", metavar="GIT_REV",
                   help="also run pymod as of this git revision (before/after comparison)")
    p.add_argument("--single-ops", type=int, help="requests in (a) per measurement")
    p.add_argument("--batch-ops", type=int, help="requests in (b) per measurement")
    p.add_argument("--consume-ops", type=int, help="pull+ack cycles in (c) per measurement")
    p.add_argument("--e2e-messages", type=int, help="messages in (d) per measurement")
    p.add_argument("--mem-first", type=int, help="(e) first RSS mark (default 10000)")
    p.add_argument("--mem-total", type=int, help="(e) second RSS mark (default 200000)")
    p.add_argument("--capacity-seconds", type=float, help="server capacity check duration")
    p.add_argument("--profile", metavar="WORKLOAD",
                   help="cProfile pymod on one workload (a/b/c/d) instead of benchmarking")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    cfg = p.parse_args(argv)
    quick = cfg.quick
    defaults = {
        "rounds": 2 if quick else 5,
        "single_ops": 300 if quick else 2000,
        "batch_ops": 30 if quick else 200,
        "consume_ops": 30 if quick else 200,
        "e2e_messages": 10_000 if quick else 100_000,
        "mem_first": 5_000 if quick else 10_000,
        "mem_total": 30_000 if quick else 200_000,
        "capacity_seconds": 1.0 if quick else 2.0,
    }
    for key, value in defaults.items():
        if getattr(cfg, key) is None:
            setattr(cfg, key, value)
    return cfg


def profile(server: Server, cfg: argparse.Namespace, key: str) -> None:
    import cProfile
    import pstats

    contenders = [PymodClient(server)]
    warm_up(server, contenders)
    wl = next(w for w in workloads(cfg, server) if w.key == key)
    topic, sub = prepare(server, wl, contenders[0], 0, cfg)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    wl.run(contenders[0], topic, sub)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main(argv: Optional[Sequence[str]] = None) -> int:
    cfg = parse_args(argv)
    if cfg.memory_child:
        print(json.dumps(memory_child(*json.loads(cfg.memory_child))))
        return 0
    with start_server() as server:
        if cfg.profile:
            profile(server, cfg, cfg.profile)
            return 0
        names = cfg.contenders.split(",") if cfg.contenders else None
        contenders = make_contenders(server, names, cfg.baseline)
        _module, why = argo_ams_library_module()
        print(f"machine:  {machine()}")
        print(f"versions: {versions()}")
        cap = server_capacity(server, cfg.capacity_seconds, clients=3)
        print(f"server:   {server.name} (separate process, TLS, HTTP/1.1 keep-alive, in-memory)")
        print(f"          capacity: {cap['cpu_us']:.0f} us of server CPU per single-publish request "
              f"= ~{cap['per_core']:,.0f} requests/s per core; 3 concurrent raw urllib3 client "
              f"processes got {cap['rate']:,.0f} requests/s (clients and server share the "
              f"{os.cpu_count()} CPUs); see 'srv CPU' below: the server is never the bottleneck")
        print(f"contenders: {', '.join(c.name for c in contenders)}; argo-ams-library: {why}")
        print(f"consumer loop (d, e): {consumer_label()}")
        print(f"rounds: {cfg.rounds}; per measurement: (a) {cfg.single_ops} requests, (b) "
              f"{cfg.batch_ops} requests, (c) {cfg.consume_ops} pull+ack cycles, (d) "
              f"{cfg.e2e_messages:,} messages")
        print()
        sys.stdout.flush()

        warm_up(server, contenders)
        wls = [w for w in workloads(cfg, server) if w.key in cfg.only]
        results: Dict[str, Dict[str, List[Sample]]] = {}
        for rnd in range(cfg.rounds):
            shift = rnd % len(contenders)
            order = contenders[shift:] + contenders[:shift]
            for wl in wls:
                for c in order:
                    index = contenders.index(c)
                    topic, sub = prepare(server, wl, c, index, cfg)
                    sample = measure(server, lambda c=c, wl=wl, t=topic, s=sub: wl.run(c, t, s))
                    results.setdefault(wl.key, {}).setdefault(c.name, []).append(sample)
            print(f"  round {rnd + 1}/{cfg.rounds} done", file=sys.stderr)
        print("msgs/s and CPU: median over rounds; vs floor: median of per-round ratios; "
              "srv CPU: server process CPU / wall time")
        report(results, wls, contenders)
        for c in contenders:
            c.close()
        if "e" in cfg.only:
            mem = memory_test(server, cfg.mem_first, cfg.mem_total, "pymod")
            print_memory(mem, cfg.mem_first, cfg.mem_total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
