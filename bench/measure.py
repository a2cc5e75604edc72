"""How `make bench` measures a run: wrk for the endpoints, and the CPU of everything that ran beside the figures.

`measured(command, usage)` runs a load generator (wrk, locust, bench/write_steps.py) as a child process and returns
its output with what the run cost: the generator's own CPU (from the kernel's accounting of the reaped child,
RUSAGE_CHILDREN), the CPU of the servers the bench started (gunicorn masters and workers, the RQ workers with the
jobs they forked, the PostgreSQL backends of the scratch database), the whole machine's, and the load average
before the run. What the machine spent beyond those ("other") is whatever else ran: other people's work, Redis,
PostgreSQL's own background processes.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = ROOT / "bench" / "wrk" / "requests.lua"


def need_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("make bench needs wrk (a Debian package) for the endpoint runs: apt-get install -y wrk")
    return path


def _tree_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds per process of the trees under `pids`, with the children each process already reaped."""
    seconds = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for process in processes:
            try:
                t = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            seconds[process.pid] = t.user + t.system + t.children_user + t.children_system
    return seconds


def _postgres_cpu(database: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving `database` (their title names it)."""
    seconds = {}
    for process in psutil.process_iter(["name", "cmdline"]):
        try:
            title = " ".join(process.info["cmdline"] or [])
            if process.info["name"] == "postgres" and f" {database} " in f" {title} ":
                t = process.cpu_times()
                seconds[process.pid] = t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return seconds


def _machine_busy() -> float:
    """CPU seconds the machine spent working, all cores (guest time is inside user; steal is not ours)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


class Usage:
    """The processes whose CPU a run reports: named groups of process trees, and the scratch database's backends."""

    def __init__(self, groups: dict[str, list[int]], database: str) -> None:
        self.groups, self.database = groups, database

    def snapshot(self) -> dict:
        groups = {name: _tree_cpu(pids) for name, pids in self.groups.items()}
        return {**groups, "postgres": _postgres_cpu(self.database), "machine": _machine_busy()}

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        spent = {
            name: sum(seconds - before[name].get(pid, 0.0) for pid, seconds in after[name].items())
            for name in after
            if name != "machine"
        }
        spent["machine"] = after["machine"] - before["machine"]
        return spent


PROBE_LOOPS = 1_000_000


def speed_probe() -> float:
    """Milliseconds this machine takes for a fixed loop of Python just before a run. On a shared machine it moves by a
    quarter within minutes, and every figure of the run with it: the probe says how fast the machine was then."""
    began = time.perf_counter()
    total = 0
    for i in range(PROBE_LOOPS):
        total += i * i % 7
    return round((time.perf_counter() - began) * 1000, 1)


def measured(command: list[str], usage: Usage, *, env: dict | None = None, log: Path | None = None) -> dict:
    """Run a load generator to its end; its output, and the CPU seconds of it and of everything else meanwhile."""
    probe_ms = speed_probe()
    load_before = os.getloadavg()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, began = usage.snapshot(), time.time()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    wall = time.time() - began
    after = usage.snapshot()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if log:
        log.write_text(result.stdout + result.stderr)
    cpu = Usage.delta(before, after)
    cpu["generator"] = (children_after.ru_utime - children_before.ru_utime) + (
        children_after.ru_stime - children_before.ru_stime
    )
    cpu["other"] = max(0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"))
    return {
        "stdout": result.stdout,
        "returncode": result.returncode,
        "wall": round(wall, 2),
        "cores": psutil.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "probe_ms": probe_ms,
        "cpu": {name: round(seconds, 2) for name, seconds in cpu.items()},
    }


def shares(run: dict) -> dict[str, float]:
    """Each CPU figure of a run as a share of the machine: seconds / (wall time × cores)."""
    capacity = run["wall"] * run["cores"] or 1
    return {name: seconds / capacity for name, seconds in run["cpu"].items()}


def wrk(
    url: str, requests: list[str], usage: Usage, *, seconds: int, threads: int, connections: int, workdir: Path,
    name: str,
) -> dict:  # fmt: skip
    """One wrk run over `requests` (lines of bench/wrk/requests.lua's file); its figures and the CPU around it."""
    request_file = workdir / f"{name}.requests"
    request_file.write_text("\n".join(requests) + "\n")
    command = [need_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT), url]  # fmt: skip
    run = measured(command, usage, env={**os.environ, "WRK_REQUESTS": str(request_file)}, log=workdir / f"{name}.log")
    line = next((line for line in run.pop("stdout").splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures for {name}: see {workdir / f'{name}.log'}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    elapsed = figures["duration_us"] / 1e6
    socket_errors = sum(figures[k] for k in ("connect", "read", "write", "timeout"))
    return {
        "tool": f"wrk -t{threads} -c{connections} -d{seconds}s",
        "requests": figures["requests"],
        "rps": figures["requests"] / elapsed if elapsed else 0.0,
        "p50": figures["p50_us"] / 1000,
        "p90": figures["p90_us"] / 1000,
        "p95": figures["p95_us"] / 1000,
        "p99": figures["p99_us"] / 1000,
        "max": figures["max_us"] / 1000,
        "http_errors": figures["http_errors"],
        "socket_errors": socket_errors,
        **run,
    }


def request_line(path: str, *, method: str = "GET", body: str = "", headers: dict[str, str] | None = None) -> str:
    """A line of the request file: tabs separate the fields, so none may hold a tab or a newline."""
    fields = [method, path, body, *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if any("\t" in f or "\n" in f for f in fields):
        raise ValueError("a request field holds a tab or a newline")
    return "\t".join(fields)
