#!/usr/bin/env python3
"""Speed and memory of the explicit engine, and SPIN beside it on the same scenario.

    python bench/run.py                 # the default sizes, a markdown report on stdout
    python bench/run.py --pages 2 3 4   # chosen sizes
    python bench/run.py --no-spin       # without SPIN (apt-get install spin gcc for it)

Each run is a separate process (`python -m lockcheck verify`), timed from outside, with its
peak memory from getrusage; memory per state is measured against a baseline process that
checks a one-state spec, in the same run. Numbers are ratios within one run on one machine:
compare rows, not runs on different days.
"""
from __future__ import annotations

import argparse
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
    args = [sys.executable, "-m", "lockcheck", "verify", "--quiet", str(spec)] + list(extra)
    for k, v in defines.items():
        args += ["-D", f"{k}={v}"]
    return _timed(args, cwd=REPO)


def _timed(args: list[str], cwd: Path) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
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
    args = [sys.executable, "-m", "lockcheck", "verify", "--quiet", str(spec)] + list(extra)
    for k, v in defines.items():
        args += ["-D", f"{k}={v}"]
    return args


def explicit_table(pages: list[int]) -> list[str]:
    tiny = Path(tempfile.mkdtemp()) / "tiny.lk"
    tiny.write_text("thread t { skip; }\n")
    _, base_mb = peak_rss_mb(lockcheck_args(tiny, {}), REPO)
    rows = ["| NPAGES | mode | states | transitions | wall s | search s | states/s (search) | peak MB |"
            " bytes/state over baseline |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in pages:
        for mode, extra in (("full states", []), ("fingerprints", ["--fingerprints"])):
            run, mb = peak_rss_mb(lockcheck_args(REPO / "specs" / "ext4.lk", {"NPAGES": str(n)}, extra), REPO)
            per = (mb - base_mb) * 1024 * 1024 / run.states if run.states else 0
            rate = run.states / run.engine_seconds if run.engine_seconds else 0
            rows.append(f"| {n} | {mode} | {run.states:,} | {run.transitions:,} | {run.seconds:.2f} | "
                        f"{run.engine_seconds:.2f} | {rate:,.0f} | {mb:.0f} | {per:.0f} |")
    rows.append(f"\nBaseline (one-state spec, same interpreter): {base_mb:.0f} MB peak.")
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
            " lockcheck states (all) | SPIN s (spin+gcc+pan) | SPIN pan -c0 s | lockcheck s | lockcheck / SPIN time |",
            "|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for n in pages:
        for variant, defines in VARIANTS.items():
            verdict, states, total, pan, all_states, all_pan = spin_run(n, variant, work)
            run = run_lockcheck(MIRROR, {"NPAGES": str(n), **defines})
            ours = "violated" if "violated" in run.output else "holds"
            rows.append(f"| {variant} | {n} | {verdict} | {ours} | {states:,} / {all_states:,} | {run.states:,} | "
                        f"{total:.2f} | {all_pan:.3f} | {run.seconds:.2f} | {run.seconds / total:.2f} |")
    shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[2, 3, 4, 5, 6])
    parser.add_argument("--spin-pages", type=int, nargs="+", default=[2, 4, 6, 8])
    parser.add_argument("--no-spin", action="store_true")
    args = parser.parse_args()
    print("### Explicit engine on specs/ext4.lk\n")
    print("\n".join(explicit_table(args.pages)))
    if not args.no_spin and shutil.which("spin") and shutil.which("gcc"):
        print("\n### Beside SPIN on the same scenario\n")
        print("\n".join(spin_table(args.spin_pages)))
    elif not args.no_spin:
        print("\n(SPIN not installed: apt-get install spin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
