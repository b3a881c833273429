"""/proc sampling: CPU seconds and memory of processes and of the whole machine, snapshots
of them around a load window, and a sampler of the server's CPU every second."""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench.common import log

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_times(pid: int) -> tuple[float, float] | None:
    """(utime, stime) of a process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()  # fields[0] is field 3 (state)
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds."""
    times = proc_times(pid)
    return None if times is None else times[0] + times[1]


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def procs_cpu(comm: str) -> dict[int, float]:
    """CPU seconds of every process whose command name is `comm` (postgres, redis-server)."""
    found: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        name = data[data.find("(") + 1 : data.rfind(")")]
        if name == comm:
            fields = data.rsplit(")", 1)[1].split()
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


def machine_cpu() -> tuple[float, float]:
    """(all, idle) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts[:8]) / CLK_TCK, idle / CLK_TCK


def background_cores(window: float = 3.0) -> float:
    """Cores the whole machine keeps busy over `window` seconds (run between scenarios, this is
    everything that is not the benchmark)."""
    all_a, idle_a = machine_cpu()
    time.sleep(window)
    all_b, idle_b = machine_cpu()
    return (1 - (idle_b - idle_a) / max(all_b - all_a, 1e-9)) * (os.cpu_count() or 1)


def wait_for_idle(max_wait: float, threshold: float) -> float:
    """Wait up to `max_wait` s for the machine's other load to fall under `threshold` cores."""
    deadline = time.monotonic() + max_wait
    busy = background_cores()
    while busy >= threshold and time.monotonic() < deadline:
        log(f"machine busy with {busy:.2f} cores of other work; waiting for it to calm down")
        time.sleep(3)
        busy = background_cores()
    return busy


@dataclass
class CpuSnapshot:
    t: float
    server: float | None
    server_sys: float | None
    node: float | None
    postgres: dict[int, float]
    redis: dict[int, float]
    machine: tuple[float, float]


def snapshot(server_pid: int, node_pid: int | None) -> CpuSnapshot:
    times = proc_times(server_pid)
    return CpuSnapshot(
        t=time.monotonic(),
        server=None if times is None else sum(times),
        server_sys=None if times is None else times[1],
        node=proc_cpu_seconds(node_pid) if node_pid else None,
        postgres=procs_cpu("postgres"),
        redis=procs_cpu("redis-server"),
        machine=machine_cpu(),
    )


def cpu_delta(a: CpuSnapshot, b: CpuSnapshot) -> dict[str, Any]:
    """Cores used between two snapshots (CPU seconds / wall seconds)."""
    wall = max(b.t - a.t, 1e-9)

    def cores(x: float | None, y: float | None) -> float | None:
        return None if x is None or y is None else (y - x) / wall

    def group(x: dict[int, float], y: dict[int, float]) -> float:
        return sum(cpu - x.get(pid, 0.0) for pid, cpu in y.items()) / wall

    all_a, idle_a = a.machine
    all_b, idle_b = b.machine
    busy = 1 - (idle_b - idle_a) / max(all_b - all_a, 1e-9)
    known = [cores(a.server, b.server), cores(a.node, b.node)]
    ours = sum(x for x in known if x is not None) + group(a.postgres, b.postgres)
    ours += group(a.redis, b.redis)
    return {
        "wall_s": wall,
        "server_cpu_s": None if a.server is None or b.server is None else b.server - a.server,
        "server_cores": cores(a.server, b.server),
        "server_sys_cores": cores(a.server_sys, b.server_sys),
        "loadgen_cores": cores(a.node, b.node),
        "postgres_cores": group(a.postgres, b.postgres),
        "redis_cores": group(a.redis, b.redis),
        "machine_busy_pct": 100 * busy,
        "machine_cores": os.cpu_count(),
        # Busy cores not explained by the server, the load generator, PostgreSQL or Redis:
        # anything else running on the machine at the same time.
        "other_cores": busy * (os.cpu_count() or 1) - ours,
    }


class Sampler(threading.Thread):
    """Server CPU every second, for the busiest one-second window."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            cpu = proc_cpu_seconds(self.pid)
            if cpu is not None:
                self.samples.append((time.monotonic(), cpu))
            self.done.wait(1.0)

    def peak_cores(self, start: float, end: float) -> float | None:
        inside = [(t, c) for t, c in self.samples if start <= t <= end]
        pairs = itertools.pairwise(inside)
        rates = [(c2 - c1) / (t2 - t1) for (t1, c1), (t2, c2) in pairs if t2 > t1]
        return max(rates) if rates else None
