"""Write docs/performance.md and docs/performance-latency.png from bench/.results (see bench/peak_bench.py).

The measured part is generated; the analysis (why a target holds or not, what the profiles show) is
bench/performance-findings.md, kept by hand and copied in, so a new run never loses it.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.write_steps import STEPS  # noqa: E402

RESULTS = ROOT / "bench" / ".results"
DOC, PLOT = ROOT / "docs" / "performance.md", ROOT / "docs" / "performance-latency.png"
FINDINGS = ROOT / "bench" / "performance-findings.md"
ENDPOINT_NAMES = {
    "orders_list": "GET /orders (page of 50, today onwards)",
    "order_detail": "GET /orders/{id}",
    "tasks": "GET /production-tasks (florist)",
    "deliveries": "GET /courier/deliveries (courier)",
    "auth_me": "GET /auth/me",
    "health": "GET /health",
}
READ_TARGETS = {
    "GET /orders (page of 50, today onwards)": 0.6,
    "GET /orders/{id}": 0.9,
    "GET /production-tasks (florist)": 0.6,
    "GET /courier/deliveries (courier)": 0.6,
}
# The write steps as bench/write_steps.py names them, with the mix's repeated key after the intake.
STEP_NAMES = [STEPS[0], "POST /orders [repeated key]", *STEPS[1:]]
STUB_CODE = "(stub) read code"  # bench/locustfile.py's name for its reads of the SMS stub
NOT_THE_APP = {"Aggregated", STUB_CODE}


def _phase(results: dict, name: str) -> dict | None:
    return next((p for p in results["phases"] if p["name"] == name), None)


def _server_errors(phase: dict, name: str | None = None) -> int:
    return sum(
        n
        for key, n in phase["statuses"].items()
        if (name is None or key.rsplit("|", 1)[0] == name) and key.rsplit("|", 1)[1].startswith("5")
    )


def _app_total(phase: dict) -> dict:
    """The app's requests of a phase (not the stub's): rps and latency percentiles. The percentiles are of the app's
    requests alone where the run wrote them (bench/locustfile.py); an older run's are locust's total, stub included."""
    rows = [s | {"name": n} for n, s in phase["stats"].items() if n not in NOT_THE_APP]
    requests = sum(r["requests"] for r in rows) or 1
    aggregated = phase["stats"].get("Aggregated", {})
    stub = phase["stats"].get(STUB_CODE, {"rps": 0})
    latency = phase.get("app_latency") or aggregated
    return {
        "rps": aggregated.get("rps", 0) - stub["rps"],
        "requests": requests,
        "failures": sum(r["failures"] for r in rows),
        "server_errors": _server_errors(phase),
        **{q: latency.get(q, 0) for q in ("p50", "p95", "p99")},
    }


def _ms(value: float) -> str:
    return f"{value:.0f}"


def _verdict(ok: bool) -> str:
    return "holds" if ok else "**missed**"


def plot(results: dict, path: Path) -> None:
    """Latency against the offered load (left) and what was achieved (right): saturation shows in both."""
    points = []
    for phase in results["phases"]:
        if phase["scenario"] == "mix":
            total = _app_total(phase)
            points.append((phase["rate"], total["rps"], total["p50"], total["p95"], total["p99"]))
    if not points:
        return
    points.sort()
    offered = [p[0] for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110)
    for index, label in ((2, "p50"), (3, "p95"), (4, "p99")):
        left.plot(offered, [p[index] for p in points], marker="o", label=label)
    left.axhline(250, color="grey", linestyle="--", linewidth=1, label="target p95 250 ms")
    left.set_yscale("log")
    left.set_xlabel("offered load, requests per second (March 8 mix)")
    left.set_ylabel("latency of all app requests, ms (log)")
    left.set_title("Latency against load")
    left.legend()
    right.plot(offered, [p[1] for p in points], marker="o", label="achieved")
    right.plot(offered, offered, color="grey", linestyle="--", linewidth=1, label="offered")
    right.set_xlabel("offered load, requests per second")
    right.set_ylabel("achieved, requests per second")
    right.set_title("Throughput: where it saturates")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(f"Flower CRM, {results['machine']['nproc']} cores, {results['data']['orders']:,} orders")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _cpu(run: dict, *names: str) -> str:
    """The CPU of a run's processes as a share of the machine (all its cores over the run's wall time)."""
    shares = {name: seconds / ((run["wall"] * run["cores"]) or 1) for name, seconds in run["cpu"].items()}
    return " | ".join(f"{shares.get(name, 0) * 100:.0f} %" for name in names)


def _load(run: dict) -> str:
    return " / ".join(f"{x:.1f}" for x in run["loadavg_before"])


CPU_HEAD = "generator CPU | server CPU | RQ workers CPU | PostgreSQL CPU | other CPU | load before | probe ms"
CPU_COLUMNS = ("generator", "app", "rq workers", "postgres", "other")


def _cpu_cells(run: dict) -> str:
    probe = run.get("probe_ms")  # runs before 2026-12-07 had no probe
    return f"{_cpu(run, *CPU_COLUMNS)} | {_load(run)} | {'–' if probe is None else f'{probe:.0f}'}"


def _requests_alone(alone: dict) -> int:
    return sum(s["count"] for s in alone["steps"].values())


def _per_request(phase: dict, part: str, total: dict) -> str:
    """A part's CPU milliseconds per request of the app in a phase. The generator's is the machine's speed as this
    work sees it: the same requests cost it more on a slower machine, whatever the app does."""
    return f"{phase['cpu'].get(part, 0) * 1000 / total['requests']:.2f}"


def write(results: dict, doc: Path = DOC) -> None:
    args, machine, data = results["args"], results["machine"], results["data"]
    lines = [
        "# Performance: the peak day",
        "",
        "How the API holds a florist's busiest day (March 8) on one small machine, measured with `make bench`",
        "(bench/peak_bench.py). Generated by bench/peak_report.py; the analysis comes from",
        "bench/performance-findings.md. Absolute numbers drift on a shared machine: every figure carries the CPU of",
        "what ran beside it, so a figure taken on a busy machine shows as one.",
        "",
        "## The run",
        "",
        "```sh",
        "make bench        # = .venv/bin/python bench/peak_bench.py $(BENCH_ARGS)",
        f"# this run: --orders {args['orders']} --endpoint-seconds {args['endpoint_seconds']} --connections "
        f"{args['connections']} --wrk-threads {args['wrk_threads']} --write-rounds {args['write_rounds']} "
        f"--steps-seconds {args['steps_seconds']} --load-steps {' '.join(map(str, args['load_steps']))} "
        f"--load-step-seconds {args['load_step_seconds']} --rate {args['rate']:.0f} --duration {args['duration']}",
        "```",
        "",
        f"- Date: {results['finished'][:16].replace('T', ' ')} UTC",
        f"- Machine: {machine['cpu']}, {machine['nproc']} cores (nproc), {machine['memory_gb']} GB memory; "
        f"PostgreSQL {machine['postgres']}, Redis, Python {machine['python']}, all on loopback",
        f"- Servers: gunicorn -c gunicorn.conf.py wsgi:app, APP_ENV=production, {args['workers']} gthread workers × "
        f"{args.get('threads', 4)} threads, worker recycling off (GUNICORN_MAX_REQUESTS=0) so a leak would show; "
        + f"{len(results.get('rq_workers', []))} RQ workers"
        + (" as compose runs them" if args.get("dispatcher", False) else "")
        + ": "
        + ", ".join(f"`{command}`" for command in results.get("rq_workers", []))
        + "; SMS.RU replaced by a local stub (bench/sms_stub.py); rate limits raised for one client IP",
        "- Load generators, on the same machine: `wrk` for the endpoints (bench/wrk/requests.lua, the requests and "
        "tokens written by the runner), one Python client (http.client, kept-alive) for each write step alone "
        "(bench/write_steps.py), locust (FastHttpUser) for the write steps under load and the March 8 mix",
        f"- Data ({data['orders']:,} orders, generated in {data['generated_in']:.0f} s by bench/peak_data.py on "
        f"{str(data['generated_at'])[:16]}; rows at the start of the run, so a reused database also holds the "
        "orders earlier runs took; `--fresh` makes it anew):",
        "",
        "| table | rows |",
        "|---|---:|",
    ]
    lines += [f"| {table} | {count:,} |" for table, count in data["sizes"].items()]
    lines += [
        "",
        "## What ran beside each figure",
        "",
        "Every table gives, per run, the CPU each part took as a share of the whole machine (CPU seconds over the "
        f"run's wall time × {machine['nproc']} cores; bench/measure.py): the **generator** itself (wrk, the write "
        "client or locust: the kernel's count for the child process), the **app** (gunicorn master and workers; "
        "the baseline's own gunicorn in its rows), **PostgreSQL** (the backends of the scratch database), and "
        "**other**: the rest of what the machine spent meanwhile (the RQ workers and Redis, PostgreSQL's background "
        "processes, anything else running). The load average (1 / 5 / 15 min) is read before each run, and so is "
        "the machine's speed (**probe ms**: the milliseconds of a fixed loop of Python, bench/measure.py "
        "`speed_probe`; lower is faster). On this shared machine it moves by a quarter minutes apart, and every "
        "figure of a run moves with it. The probe does not see every slowdown: on 2026-12-07 it read the same before "
        "two runs an hour apart while the same requests cost the app, PostgreSQL and the load generators 1.2–1.5× "
        "the CPU in the second. The generators' own CPU per request (the writes' client, locust in the mix) "
        "tells it, because their work is the same in every run.",
    ]

    base = results.get("baselines", [])
    baseline = statistics.mean(b["rps"] for b in base) if base else 0
    ratios = {}
    if base:
        lines += [
            "",
            "## Reads: each endpoint against the baseline",
            "",
            f"Closed loop: `{base[0]['tool']}` as fast as answers come, each request picked at random from many "
            "(every manager's token for the order page, 6,000 orders of 20 shops for the order card, each asked by "
            "a manager of its own shop; every florist and every courier for their lists). The baseline "
            "(bench/baseline.py) serves the same GET /orders page (page_size=50, today onwards) with the same "
            "statements and the same JSON straight from psycopg2, without auth, under the same gunicorn settings; "
            "it ran before and after the endpoints and the ratio uses the mean of the two. Errors: answers of 400 "
            "and above / socket errors (connect, read, write, timeout).",
            "",
            f"| request | req/s | p50 ms | p95 ms | p99 ms | errors | ratio to baseline | target | {CPU_HEAD} |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|",
        ]

        def row(label: str, run: dict, ratio: str, target: str) -> str:
            cpu = _cpu_cells({**run, "cpu": {**run["cpu"], "app": run["cpu"].get(run["server"], 0)}})
            return (
                f"| {label} | {run['rps']:.0f} | {run['p50']:.1f} | {run['p95']:.1f} | {run['p99']:.1f} | "
                f"{run['http_errors']} / {run['socket_errors']} | {ratio} | {target} | {cpu} |"
            )

        lines.append(row("bench/baseline.py GET /orders (before)", base[0], "1.00", ""))
        for run in results.get("reads", []):
            name = ENDPOINT_NAMES[run["scenario"]]
            ratios[name] = run["rps"] / baseline if baseline else 0
            floor = READ_TARGETS.get(name)
            target = f"≥ {floor}×: {_verdict(ratios[name] >= floor)}" if floor else ""
            lines.append(row(name, run, f"{ratios[name]:.2f}", target))
        if len(base) > 1:
            lines.append(row("bench/baseline.py GET /orders (after)", base[-1], "1.00", ""))
            rates = [b["rps"] for b in base]
            drift = max(rates) / (min(rates) or 1)
            lines += [
                "",
                f"The baseline's two runs: {rates[0]:.0f} and {rates[-1]:.0f} requests a second ({drift:.2f}×). "
                + (
                    "**They differ by more than 1.5×: the machine changed during the endpoint runs (see the CPU "
                    "columns); the ratios of this run are not to be reported, measure again.**"
                    if drift > 1.5
                    else "Under the 1.5× the bench accepts between them."
                ),
            ]

    alone = results.get("writes_alone")
    alone_ok = None
    if alone:
        lines += [
            "",
            "## Writes: each step alone",
            "",
            f"One client, one request at a time on a kept-alive connection (bench/write_steps.py): {alone['rounds']} "
            "orders of one shop taken, confirmed, given a courier, claimed, started and completed by a florist, "
            "picked up and delivered, each step with its Idempotency-Key, after 5 orders not counted. The time of "
            "an answer is from sending the request to having read its body: the service time. Target: median "
            "≤ 15 ms.",
            "",
            "| step | count | median ms | p95 ms | max ms | refused | median ≤ 15 ms |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        alone_ok = True
        for name, s in alone["steps"].items():
            alone_ok = alone_ok and s["median"] <= 15 and s["count"] > 0
            refused = ", ".join(f"{status}: {n}" for status, n in s["refused"].items()) or "none"
            lines.append(
                f"| {name} | {s['count']} | {s['median']:.1f} | {s['p95']:.1f} | {s['max']:.1f} | {refused} | "
                f"{_verdict(s['median'] <= 15)} |"
            )
        lines += [
            "",
            f"| run | wall s | {CPU_HEAD} |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|",
            f"| writes alone | {alone['wall']:.0f} | {_cpu_cells(alone)} |",
            "",
            f"The client's own CPU, measured inside it: {alone['client_cpu']:.1f} s over {alone['wall']:.0f} s of "
            f"timed requests, {alone['client_cpu'] * 1000 / max(1, _requests_alone(alone)):.2f} ms a request: the "
            "same requests every run, so it tells the machine's speed for this work between runs.",
        ]

    steps = _phase(results, "steps")
    step_ok = None
    if steps:
        lines += [
            "",
            "## Writes: the steps under load",
            "",
            "Twelve people (3 managers, 4 florists, 5 couriers, 2 requests a second each, each at random moments of "
            f"their own) walking orders through with locust, {args['steps_seconds']} s. Target: p95 under 100 ms.",
            "",
            "| request | count | p50 ms | p95 ms | p99 ms | failures | p95 < 100 ms |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        step_ok = True
        for name in STEP_NAMES:
            s = steps["stats"].get(name)
            if not s:
                continue
            step_ok = step_ok and s["p95"] < 100
            lines.append(
                f"| {name} | {s['requests']} | {_ms(s['p50'])} | {_ms(s['p95'])} | {_ms(s['p99'])} | {s['failures']} | "
                f"{_verdict(s['p95'] < 100)} |"
            )
        lines += [
            "",
            f"| run | {CPU_HEAD} |",
            "|---|---:|---:|---:|---:|---:|---|---:|",
            f"| steps ({steps['tool']}) | {_cpu_cells(steps)} |",
        ]

    mix = _phase(results, "mix")
    mix_total = _app_total(mix) if mix else None
    best = None
    if mix:
        lines += [
            "",
            "## The March 8 mix",
            "",
            f"{mix['users']} people at {args['rate']:.0f} requests a second in all for {mix['seconds']} s: "
            "managers take orders (a tenth of them sent again with the same "
            "Idempotency-Key), confirm them and give them a courier, read the day's list and single orders; florists "
            "claim, start and complete bouquets; couriers poll with `updated_since`, pick up and deliver; staff log in "
            "by SMS code (the code read back from the stub). Each person acts at random moments of their own "
            "(Poisson arrivals at their role's share of the rate), as independent phones do. Before it, shorter steps "
            "at a part of the rate find where it saturates (the plot). Achieved rates and percentiles are the app's "
            "requests alone, not the reads of the SMS stub.",
            "",
            "| phase | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | 5xx | other failures | "
            f"{CPU_HEAD} | app CPU ms a request | generator CPU ms a request |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for phase in results["phases"]:
            if phase["scenario"] != "mix":
                continue
            t = _app_total(phase)
            if t["failures"] == 0 and t["p95"] < 250 and (best is None or t["rps"] > best[0]):
                best = (t["rps"], phase["name"])
            lines.append(
                f"| {phase['name']} ({phase['seconds']} s) | {phase['rate']:.0f} | {t['rps']:.0f} | {_ms(t['p50'])} | "
                f"{_ms(t['p95'])} | {_ms(t['p99'])} | {t['server_errors']} | {t['failures'] - t['server_errors']} | "
                f"{_cpu_cells(phase)} | {_per_request(phase, 'app', t)} | {_per_request(phase, 'generator', t)} |"
            )
        # Locust starts the people over the phase's first seconds, each at a random first moment (Poisson): a phase
        # below the ceiling gets 93-95 % of its offered rate, so 90 % marks the one that could not keep up.
        saturated = [
            p["name"] for p in results["phases"] if p["scenario"] == "mix" and _app_total(p)["rps"] < 0.9 * p["rate"]
        ]
        lines += [
            "",
            "Saturation: "
            + (
                f"the first phase that did not get 90 % of its offered rate is {saturated[0]} (the people start over "
                "the first seconds of a phase, so one below the ceiling gets 93–95 %). "
                if saturated
                else "every phase got 90 % of its offered rate. "
            )
            + (
                f"The most served with p95 < 250 ms and no failure: {best[0]:.0f} requests a second ({best[1]})."
                if best
                else "No phase kept p95 under 250 ms without a failure."
            ),
            "",
            f"![latency against load]({PLOT.name})",
            "",
            "Per request of the mix:",
            "",
            "| request | count | req/s | p50 ms | p95 ms | p99 ms | answers |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for name, s in sorted(mix["stats"].items(), key=lambda kv: -kv[1]["requests"]):
            if name in NOT_THE_APP:
                continue
            answers = ", ".join(
                f"{key.rsplit('|', 1)[1]}: {n}"
                for key, n in sorted(mix["statuses"].items())
                if key.rsplit("|", 1)[0] == name
            )
            lines.append(
                f"| {name} | {s['requests']} | {s['rps']:.1f} | {_ms(s['p50'])} | {_ms(s['p95'])} | {_ms(s['p99'])} | "
                f"{answers} |"
            )

    rss = [s for s in results.get("rss", []) if s["server"] == "app"]
    rss_ok = None
    if rss:
        lines += [
            "",
            "## Memory of the gunicorn workers",
            "",
            "RSS of every worker process, sampled every 5 s over the whole run (psutil). Target: under 200 MB each, "
            "no growth.",
            "",
            "| server | worker pid | samples | first MB | max MB, whole run | mix: first | mix: max | mix: last |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        rss_ok = True
        for server in ("app", "baseline"):
            for pid in sorted({s["pid"] for s in results["rss"] if s["server"] == server}):
                mine = [s for s in results["rss"] if s["pid"] == pid]
                in_mix = [s["rss_mb"] for s in mine if s["phase"] == "mix"] or [0]
                peak = max(s["rss_mb"] for s in mine)
                if server == "app":
                    rss_ok = rss_ok and peak < 200
                lines.append(
                    f"| {server} | {pid} | {len(mine)} | {mine[0]['rss_mb']} | {peak} | {in_mix[0]} | {max(in_mix)} | "
                    f"{in_mix[-1]} |"
                )

    checks = results.get("invariants", {})
    if checks:
        lines += [
            "",
            "## Invariants after the run (bench/invariants.py)",
            "",
            f"Jobs still queued when checked: {results.get('queue_left', '?')}. Tracebacks in the server logs: "
            + ", ".join(f"{k} {v}" for k, v in results.get("errors_in_logs", {}).items())
            + ".",
            "",
            "| invariant | violations |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {n} |" for name, n in checks.items()]

    if base:
        rates = ", ".join(f"{b['rps']:.0f}" for b in base)
        lines += [
            "",
            "## The earlier ceiling claim, corrected",
            "",
            "The report of 2026-12-02 said the March 8 mix's target was above what even the bare baseline serves: "
            "the baseline peaked there at 152–195 requests a second. That does not hold. Measured from outside with "
            "`wrk -t2 -c8` (and with a bare locust file of 8 FastHttpUsers, 617), the same baseline serves 440–690 "
            f"requests a second on this machine; in this run, {rates} (before and after the endpoints, with the CPU "
            "of what ran beside it in the table above). The old figure was taken by locust users "
            "sharing the two cores with the servers, with neither the generator's CPU nor what else ran on the "
            "machine reported, on a database grown by earlier runs: about three times too low. The endpoint runs "
            "now use wrk, every figure carries the CPU of the generator, the servers and the rest of the machine, "
            "and the baseline runs before and after the endpoints, a difference of more than 1.5× between the two "
            "flagged above. What bounds the mix is the app's own cost per request (the writes alone above), not a "
            "ceiling of the machine.",
        ]

    lines += ["", "## The targets", "", "| target | measured | verdict |", "|---|---|---|"]
    for name, floor in READ_TARGETS.items():
        if name in ratios:
            lines.append(f"| {name} ≥ {floor}× baseline | {ratios[name]:.2f}× | {_verdict(ratios[name] >= floor)} |")
    if alone_ok is not None:
        worst = max((s["median"], n) for n, s in alone["steps"].items())
        lines.append(f"| each write step alone: median ≤ 15 ms | worst {worst[1]}: {worst[0]:.1f} ms | "
                     f"{_verdict(alone_ok)} |")  # fmt: skip
    if step_ok is not None:
        worst = max((steps["stats"][n]["p95"], n) for n in STEP_NAMES if n in steps["stats"])
        lines.append(f"| each write step under the steps' load: p95 < 100 ms | worst {worst[1]}: {worst[0]:.0f} ms | "
                     f"{_verdict(step_ok)} |")  # fmt: skip
    if mix_total:
        lines.append(
            "| the mix: ≥ 150 req/s with p95 < 250 ms and no failure | "
            + (f"{best[0]:.0f} req/s ({best[1]})" if best else "no phase under 250 ms without a failure")
            + f" | {_verdict(best is not None and best[0] >= 150)} |"
        )
        rate_ok = mix_total["rps"] >= 0.95 * args["rate"]
        lines.append(
            f"| beyond: the mix at {args['rate']:.0f} req/s for 10 min, p95 < 250 ms | {mix_total['rps']:.0f} req/s "
            f"for {mix['seconds']} s, p95 {mix_total['p95']:.0f} ms | "
            f"{_verdict(rate_ok and mix['seconds'] >= 600 and mix_total['p95'] < 250)} |"
        )
        lines.append(f"| mix: no 5xx | {mix_total['server_errors']} | {_verdict(mix_total['server_errors'] == 0)} |")
    if checks:
        lines.append(f"| every invariant after the mix | {sum(checks.values())} violations | "
                     f"{_verdict(not any(checks.values()))} |")  # fmt: skip
    if rss_ok is not None:
        peak = max(s["rss_mb"] for s in rss)
        lines.append(f"| workers < 200 MB, steady | max {peak} MB | {_verdict(rss_ok)} (growth: see the table) |")

    profiles_file = RESULTS / "profiles.json"
    if profiles_file.exists():
        profiles = json.loads(profiles_file.read_text())
        lines += [
            "",
            "## Profiles (pyinstrument)",
            "",
            "In-process, through Flask's test client on the same data (bench/profile_endpoints.py), 40 requests each; "
            "the time inside the database driver measured with SQLAlchemy's cursor events.",
            "",
            "| endpoint | ms per request | of it in SQL | statements | rows |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, p in profiles.items():
            lines.append(f"| {name} | {p['ms_per_request']} | {p['ms_in_sql']} | {p['statements']:.0f} | {p['rows']} |")
        slowest = sorted(profiles.items(), key=lambda kv: -kv[1]["ms_per_request"])[:2]
        for name, p in slowest:
            text = (RESULTS / p["file"]).read_text().splitlines()
            body = [line for line in text if line.strip()][:60]
            lines += ["", f"### {name}", "", "```", *body, "```"]

    if FINDINGS.exists():
        lines += ["", FINDINGS.read_text().strip()]
    plot_path = doc.parent / PLOT.name
    doc.write_text("\n".join(lines) + "\n")
    plot(results, plot_path)
    print(f"wrote {doc} and {plot_path}")


if __name__ == "__main__":
    write(json.loads((RESULTS / "results.json").read_text()))
