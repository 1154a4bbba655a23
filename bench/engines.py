#!/usr/bin/env python3
"""Time to verdict of the three engines (explicit, bmc, induction) on specs/ext4.lk and on
its two racy variants, for growing NPAGES, in one run.

    python bench/engines.py                    # NPAGES 2 4 8 16 32, a markdown table on stdout
    python bench/engines.py --pages 2 4        # chosen sizes
    python bench/engines.py --cap 120          # seconds a run may take before it is stopped

Each run is `python -m lockcheck verify --engine E --format json` in a process of its own,
timed from outside (start-up included). The table gives the
verdict of no_remove_under_writeback and what it means: bmc's "unknown" means "no violation
up to the depth", not "holds". A run the cap stops is "stopped". Numbers are ratios within
one run on one machine: compare rows, not runs on different days.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROPERTY = "no_remove_under_writeback"
SPECS = {"ext4 (holds)": "ext4.lk", "ext4_unlock_early (race)": "ext4_unlock_early.lk",
         "ext4_truncate_nowait (race)": "ext4_truncate_nowait.lk"}
BMC_DEPTH = 12        # the races are 9 and 10 steps long
INDUCTION_DEPTH = 2


@dataclass(frozen=True)
class Outcome:
    verdict: str        # of PROPERTY, or "stopped" / "error"
    detail: str
    seconds: float


def engine_args(engine: str, cap: float) -> list[str]:
    z3_time = ["--timeout", f"{max(cap - 10, 5):g}"]
    if engine == "bmc":
        return ["--engine", "bmc", "--depth", str(BMC_DEPTH), *z3_time]
    if engine == "induction":
        return ["--engine", "induction", "--depth", str(INDUCTION_DEPTH), *z3_time]
    return ["--engine", "explicit", "--fingerprints"]


def run(engine: str, spec: str, pages: int, cap: float) -> Outcome:
    argv = [sys.executable, "-m", "lockcheck", "verify", "-q", "--format", "json", "-D", f"NPAGES={pages}",
            *engine_args(engine, cap), str(REPO / "specs" / spec)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return Outcome("stopped", f"after {cap:g} s", cap)
    seconds = time.perf_counter() - started
    try:
        spec_result = json.loads(out)["specs"][0]
    except (ValueError, KeyError, IndexError):
        return Outcome("error", (err.strip().splitlines() or ["?"])[-1], seconds)
    prop = next(p for p in spec_result["properties"] if p["name"] == PROPERTY)
    parts = [prop["detail"].splitlines()[0]] if prop["detail"] else []
    if prop["verdict"] == "violated" and prop["trace"]:
        parts = [f"{sum(1 for s in prop['trace']['steps'] if s['number'] is not None)} steps"]
    if engine == "explicit":   # its "unknown" detail is long: the states and the limit say it
        stats = spec_result["stats"]
        parts = parts if prop["verdict"] == "violated" else []
        parts.append(f"{stats['states']:,} states" + (f", stopped at {stats['limit']}" if stats["limit"] else ""))
    if engine == "induction" and prop["verdict"] == "holds":
        props = spec_result["properties"]
        parts.append(f"all told {sum(p['verdict'] == 'holds' for p in props)} of {len(props)} properties proved")
    return Outcome(prop["verdict"], "; ".join(parts), seconds)


def cell(o: Outcome) -> str:
    what = f"{o.verdict} ({o.detail})" if o.detail else o.verdict
    return f"{what}, {o.seconds:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--cap", type=float, default=180.0, help="seconds before a run is stopped")
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=list(SPECS))
    args = parser.parse_args(argv)
    print(f"| spec | NPAGES | explicit | bmc (--depth {BMC_DEPTH}) | induction (--depth {INDUCTION_DEPTH}) |")
    print("|---|---:|---|---|---|")
    for name in args.specs:
        for pages in args.pages:
            cells = [cell(run(engine, SPECS[name], pages, args.cap)) for engine in ("explicit", "bmc", "induction")]
            print(f"| {name} | {pages} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
