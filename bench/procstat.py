"""/proc sampling: CPU seconds and memory of processes and of the whole machine, and snapshots
of groups of processes (servers, load generators, PostgreSQL, Redis) around a load window, and
py-spy profiles of a server over one."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import log
from bench.stages import stage_shares

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


def proc_cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def proc_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL processes that work for `database`: its backends and the
    cluster's shared background processes (WAL writer, checkpointer...), but not the backends
    of other databases (other people's tests on the same cluster)."""
    everything = procs_cpu("postgres")
    titles = {pid: proc_cmdline(pid) for pid in everything}
    ours = {pid for pid, title in titles.items() if f" {database} " in title}
    postmasters = {proc_ppid(pid) for pid in ours}
    found: dict[int, float] = {}
    for pid, cpu in everything.items():
        title = titles[pid]
        backend = "(" in title or "[local]" in title  # "user db host(port) state"
        if pid in ours or (proc_ppid(pid) in postmasters and not backend):
            found[pid] = cpu
    return found


@dataclass
class GroupSnapshot:
    """CPU seconds of named groups of processes at one moment (and of the whole machine)."""

    t: float
    groups: dict[str, dict[int, tuple[float, float]]]  # name -> pid -> (user+sys, sys)
    machine: tuple[float, float]


def group_snapshot(pids: dict[str, list[int]], database: str | None) -> GroupSnapshot:
    groups: dict[str, dict[int, tuple[float, float]]] = {}
    for name, members in pids.items():
        found: dict[int, tuple[float, float]] = {}
        for pid in members:
            times = proc_times(pid)
            if times is not None:
                found[pid] = (times[0] + times[1], times[1])
        groups[name] = found
    if database:
        groups["postgres"] = {pid: (cpu, 0.0) for pid, cpu in postgres_cpu(database).items()}
    return GroupSnapshot(time.monotonic(), groups, machine_cpu())


def group_delta(a: GroupSnapshot, b: GroupSnapshot) -> dict[str, Any]:
    """CPU seconds and cores of every group between two snapshots, and what the rest of the
    machine used meanwhile."""
    wall = max(b.t - a.t, 1e-9)
    out: dict[str, Any] = {"wall_s": wall, "machine_cores": os.cpu_count()}
    ours = 0.0
    for name, after in b.groups.items():
        before = a.groups.get(name, {})
        cpu = sum(c - before.get(pid, (0.0, 0.0))[0] for pid, (c, _) in after.items())
        sys_s = sum(s - before.get(pid, (0.0, 0.0))[1] for pid, (_, s) in after.items())
        out[f"{name}_cpu_s"] = cpu
        out[f"{name}_cores"] = cpu / wall
        out[f"{name}_sys_cores"] = sys_s / wall
        ours += cpu
    all_a, idle_a = a.machine
    all_b, idle_b = b.machine
    busy = 1 - (idle_b - idle_a) / max(all_b - all_a, 1e-9)
    out["machine_busy_pct"] = 100 * busy
    out["other_cores"] = busy * (os.cpu_count() or 1) - ours / wall
    return out


def short_frame(frame: str) -> str:
    """ "func (/long/path/documents/x.py:12)" -> "project: func (documents/x.py:12)"."""
    func, _, where = frame.partition(" (")
    for top in ("documents/", "editor_project/"):
        if top in where:
            return f"project: {func} ({top}{where.rsplit(top, 1)[1]}"
    return f"{func} ({where.rsplit('/', 1)[-1]}"


class PySpy:
    """`py-spy record` of a running server over a load window (the bench extra installs it):
    where its event-loop thread spends its time, without slowing it down much.

    At 97 samples a second, not 100: the server's periodic work (the keepalive
    sweep every 50 ms, heartbeats every 500 ms) fell in step with a 100 Hz
    sampler and was counted many times over (the sweep showed as 3-4% of the
    server's time; timed alone it is 34 us per sweep of 500 sockets)."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        self.out = out
        exe = Path(sys.executable).with_name("py-spy")
        self.proc = subprocess.Popen(
            [
                *(str(exe), "record", "-p", str(pid), "-d", str(max(1, round(seconds)))),
                *("-r", os.environ.get("BENCH_PY_SPY_RATE", "97"), "-f", "raw", "--gil"),
                *("--nonblocking", "-o", str(out)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def samples(self) -> list[tuple[list[str], int]]:
        """Every distinct stack recorded (frames shortened, leaf last) and its sample count."""
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if not self.out.exists():
            return []
        found = []
        for line in self.out.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                found.append(([short_frame(f) for f in stack.split(";")], int(n)))
        return found

    def stages(self) -> list[tuple[str, float]]:
        """The share of samples in each stage of a keystroke's path (bench/stages.py)."""
        return stage_shares(self.samples())

    def top(self, count: int = 12, ours: int = 8) -> list[tuple[str, float, float]]:
        """(function, % of samples on top of the stack, % anywhere in it): the busiest by their
        own time, then the project's own functions (documents/, editor_project/) that most
        samples pass through."""
        own: collections.Counter[str] = collections.Counter()
        anywhere: collections.Counter[str] = collections.Counter()
        total = 0
        for frames, n in self.samples():
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                anywhere[frame] += n
        if not total:
            return []
        busiest = [frame for frame, _ in own.most_common(count)]
        project = [
            frame
            for frame, _ in anywhere.most_common()
            # serve.py's main() is under every sample: it says nothing.
            if frame.startswith("project:")
            and "server/serve.py" not in frame
            and frame not in busiest
        ][:ours]
        return [
            (frame, 100 * own[frame] / total, 100 * anywhere[frame] / total)
            for frame in busiest + project
        ]
