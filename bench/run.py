#!/usr/bin/env python3
"""Speed and memory of the explicit engine, and SPIN beside it on the same scenario.

    python bench/run.py                 # the default sizes, a markdown report on stdout
    python bench/run.py --pages 4 5 6   # chosen sizes for the frontier/scalar table
    python bench/run.py --no-spin       # without SPIN (apt-get install spin gcc for it)

Each engine run is a separate process (this script with --child), which reports the search
time, its own CPU time and its peak memory from getrusage; memory per state is measured
against a baseline process that checks a one-state spec, in the same run. The SPIN table
times `python -m lockcheck verify` from outside. Numbers are ratios within one run on one
machine: compare rows, not runs on different days.
"""
from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPIN_MODEL = REPO / "bench" / "spin" / "ext4.pml"
MIRROR = REPO / "bench" / "spin" / "ext4_mirror.lk"
VARIANTS = {"correct": {}, "UNLOCK_BEFORE_WB": {"UNLOCK_BEFORE_WB": "true"}, "NO_WAIT_WB": {"NO_WAIT_WB": "true"}}


@dataclass
class Run:
    seconds: float          # wall time of the whole process (start-up included)
    peak_mb: float
    states: int
    transitions: int
    output: str
    code: int
    engine_seconds: float   # the search alone, as lockcheck reports it


def run_lockcheck(spec: Path, defines: dict[str, str], extra: list[str] = ()) -> Run:
    args = [sys.executable, "-m", "lockcheck", "verify", str(spec)] + list(extra)
    for k, v in defines.items():
        args += ["-D", f"{k}={v}"]
    return _timed(args, cwd=REPO)


def child_env() -> dict[str, str]:
    """The environment of a measured lockcheck process: with byte code, as an installed
    package has it (pip compiles it), even where PYTHONDONTWRITEBYTECODE is set here: without
    it every run compiles the package's sources again (about 0.1 s of start-up)."""
    compileall.compile_dir(str(REPO / "lockcheck"), quiet=1)
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(args: list[str], cwd: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=child_env())
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the largest child so far: run the biggest last, or read /proc
    peak = max(after.ru_maxrss, before.ru_maxrss) / 1024
    m = re.search(r"(\d+) states, (\d+) transitions, max depth \d+, ([\d.]+) s", proc.stdout)
    states, transitions, engine = (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else (0, 0, 0.0)
    return Run(seconds, peak, states, transitions, proc.stdout + proc.stderr, proc.returncode, engine)


def peak_rss_mb(args: list[str], cwd: Path) -> tuple[Run, float]:
    """Run and measure the peak RSS of that one process (via /usr/bin/time if present)."""
    if shutil.which("time") or os.path.exists("/usr/bin/time"):
        run = _timed(["/usr/bin/time", "-f", "MAXRSS %M"] + args, cwd)
        m = re.search(r"MAXRSS (\d+)", run.output)
        return run, (int(m.group(1)) / 1024 if m else run.peak_mb)
    run = _timed(args, cwd)
    return run, run.peak_mb


def lockcheck_args(spec: Path, defines: dict[str, str], extra: list[str] = ()) -> list[str]:
    args = [sys.executable, "-m", "lockcheck", "verify", str(spec)] + list(extra)
    for k, v in defines.items():
        args += ["-D", f"{k}={v}"]
    return args


def engine_child(engine: str, spec: str, defines: list[str], max_states: int | None) -> int:
    """`bench/run.py --child ENGINE SPEC [K=V ...]`: one search in this process, its numbers
    as one JSON line (states, transitions, seconds of the search, CPU seconds, peak RSS)."""
    import json

    sys.path.insert(0, str(REPO))
    from lockcheck.api import Options, load_model
    from lockcheck.errors import Sources

    model = load_model(spec, Options(defines=dict(d.split("=", 1) for d in defines)), Sources())
    cpu = time.process_time()
    if engine == "scalar":
        sys.path.insert(0, str(REPO / "tests"))   # the scalar engine is kept there, as the test reference
        from reference.explicit import Limits, check_explicit

        result, _ = check_explicit(model, Limits(max_states=max_states or 10 ** 12))
    elif engine == "default":   # as `lockcheck verify` runs it: partial-order reduction and symmetry on
        from lockcheck.api import search_limits
        from lockcheck.engines.explicit import check_frontier

        result, _ = check_frontier(model, search_limits(Options(max_states=max_states)))
    else:
        from lockcheck.engines.explicit import SearchLimits, check_frontier, default_max_memory

        result, _ = check_frontier(model, SearchLimits(max_states=max_states, max_memory=default_max_memory()))
    s = result.stats
    verdicts = {p.name: p.verdict for p in result.properties}
    print(json.dumps({"states": s.states, "transitions": s.transitions, "seconds": s.seconds,
                      "cpu": time.process_time() - cpu, "limit": s.limit, "bytes_per_state": s.bytes_per_state,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "exit": result.exit_code, "violated": sorted(k for k, v in verdicts.items() if v == "violated")}))
    return 0


def measure(engine: str, spec: Path, defines: dict[str, str], max_states: int | None = None) -> dict:
    import json

    args = [sys.executable, str(Path(__file__).resolve()), "--child", engine, str(spec)]
    args += [f"{k}={v}" for k, v in defines.items()]
    if max_states:
        args += ["--child-max-states", str(max_states)]
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True, env=child_env())
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - started
    return out


def explicit_table(pages: list[int], scalar_cap: int, verdict_pages: list[int]) -> list[str]:
    """The frontier engine beside the scalar engine it replaced, on specs/ext4.lk, in one run."""
    tiny = Path(tempfile.mkdtemp()) / "tiny.lk"
    tiny.write_text("thread t { skip; }\n")
    base = {e: measure(e, tiny, {})["peak_mb"] for e in ("scalar", "frontier")}
    spec = REPO / "specs" / "ext4.lk"
    rows = ["| NPAGES | engine | states | transitions | stopped at | search s | CPU s | states/s (CPU) |"
            " speed-up (states/s) | peak MB | bytes/state (kept by the search) | bytes/state (RSS over baseline) |",
            "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in pages:
        runs = {"scalar": measure("scalar", spec, {"NPAGES": str(n)}, scalar_cap),
                "frontier": measure("frontier", spec, {"NPAGES": str(n)})}
        rate = {e: r["states"] / r["cpu"] if r["cpu"] else 0.0 for e, r in runs.items()}
        for engine, r in runs.items():
            rss = (r["peak_mb"] - base[engine]) * (1 << 20) / r["states"] if r["states"] else 0
            kept = f"{r['bytes_per_state']:.0f}" if r["bytes_per_state"] else "-"
            speed = f"{rate[engine] / rate['scalar']:.1f}x" if rate["scalar"] else "-"
            rows.append(f"| {n} | {engine} | {r['states']:,} | {r['transitions']:,} | {r['limit'] or '-'} | "
                        f"{r['seconds']:.2f} | {r['cpu']:.2f} | {rate[engine]:,.0f} | {speed} | {r['peak_mb']:.0f} | "
                        f"{kept} | {rss:.0f} |")
    rows.append(f"\nBaseline (one-state spec): scalar {base['scalar']:.0f} MB, frontier {base['frontier']:.0f} MB peak; "
                f"the scalar engine stops at {scalar_cap:,} states (its rate is measured up to there).")
    if verdict_pages:
        rows += ["", "Whole state spaces with a verdict, as `lockcheck verify -D NPAGES=N specs/ext4.lk` runs"
                 " (frontier engine with partial-order reduction, the default limits):", "",
                 "| NPAGES | states | transitions | verdict | search s | CPU s | states/s (CPU) | peak MB |"
                 " bytes/state (kept) |", "|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
        for n in verdict_pages:
            r = measure("default", spec, {"NPAGES": str(n)})
            verdict = {0: "as expected", 1: "not as expected", 3: "unknown (" + r["limit"] + ")"}[r["exit"]]
            rows.append(f"| {n} | {r['states']:,} | {r['transitions']:,} | {verdict} | {r['seconds']:.1f} | "
                        f"{r['cpu']:.1f} | {r['states'] / r['cpu']:,.0f} | {r['peak_mb']:.0f} | "
                        f"{r['bytes_per_state']:.0f} |")
    return rows


def spin_run(n: int, variant: str, work: Path) -> tuple[str, int, float, float, int, float]:
    """(verdict, states, seconds in all, seconds of ./pan; then states and seconds of
    `./pan -c0`, which goes on past errors and so explores everything) for the Promela model."""
    d = work / f"{variant}-{n}"
    d.mkdir()
    shutil.copy(SPIN_MODEL, d / "ext4.pml")
    defs = [f"-DNPAGES={n}"] + ([] if variant == "correct" else [f"-D{variant}"])
    started = time.perf_counter()
    subprocess.run(["spin", "-a"] + defs + ["ext4.pml"], cwd=d, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], cwd=d, check=True,
                   capture_output=True)
    pan_started = time.perf_counter()
    out = subprocess.run(["./pan", "-m100000"], cwd=d, capture_output=True, text=True).stdout
    done = time.perf_counter()
    errors = int(re.search(r"errors: (\d+)", out).group(1))
    states = int(re.search(r"(\d+) states, stored", out).group(1))
    all_started = time.perf_counter()
    everything = subprocess.run(["./pan", "-m100000", "-c0"], cwd=d, capture_output=True, text=True).stdout
    all_seconds = time.perf_counter() - all_started
    all_states = int(re.search(r"(\d+) states, stored", everything).group(1))
    return ("violated" if errors else "holds"), states, done - started, done - pan_started, all_states, all_seconds


def spin_table(pages: list[int]) -> list[str]:
    work = Path(tempfile.mkdtemp())
    version = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
    rows = [f"SPIN: {version}; pan built with `gcc -O2 -DSAFETY -DNOREDUCE`, run as `./pan -m100000`"
            " (stops at the first error). lockcheck runs bench/spin/ext4_mirror.lk, the same model"
            " statement for statement.", "",
            "| variant | NPAGES | SPIN verdict | lockcheck verdict | SPIN states (to 1st error / all) |"
            " lockcheck states (all) | SPIN s (spin+gcc+pan) | pan s | pan -c0 s | lockcheck s |"
            " lockcheck / (spin+gcc+pan) | lockcheck / pan |",
            "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in pages:
        for variant, defines in VARIANTS.items():
            verdict, states, total, pan, all_states, all_pan = spin_run(n, variant, work)
            run = run_lockcheck(MIRROR, {"NPAGES": str(n), **defines})
            ours = "violated" if "violated" in run.output else "holds"
            rows.append(f"| {variant} | {n} | {verdict} | {ours} | {states:,} / {all_states:,} | {run.states:,} | "
                        f"{total:.2f} | {pan:.3f} | {all_pan:.3f} | {run.seconds:.2f} | {run.seconds / total:.2f} | "
                        f"{run.seconds / pan:.1f} |")
    shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        cap = None
        rest = sys.argv[4:]
        if "--child-max-states" in rest:
            i = rest.index("--child-max-states")
            cap, rest = int(rest[i + 1]), rest[:i] + rest[i + 2:]
        return engine_child(sys.argv[2], sys.argv[3], rest, cap)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[4, 5, 6])
    parser.add_argument("--scalar-cap", type=int, default=1_000_000,
                        help="stop the scalar reference engine after N states (its rate is measured up to there)")
    parser.add_argument("--verdict-pages", type=int, nargs="*", default=[6, 7])
    parser.add_argument("--spin-pages", type=int, nargs="+", default=[2, 3, 4, 5, 6, 7, 8])
    parser.add_argument("--no-spin", action="store_true")
    parser.add_argument("--no-explicit", action="store_true")
    args = parser.parse_args()
    if not args.no_explicit:
        print("### Explicit engine on specs/ext4.lk: frontier (numpy) beside the scalar engine\n")
        print("\n".join(explicit_table(args.pages, args.scalar_cap, args.verdict_pages)))
    if not args.no_spin and shutil.which("spin") and shutil.which("gcc"):
        print("\n### Beside SPIN on the same scenario\n")
        print("\n".join(spin_table(args.spin_pages)))
    elif not args.no_spin:
        print("\n(SPIN not installed: apt-get install spin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
