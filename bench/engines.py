#!/usr/bin/env python3
"""Time to verdict of the three engines (explicit, bmc, induction) on specs/ext4.lk and on
its two racy variants, for growing NPAGES, in one run.

    python bench/engines.py                    # NPAGES 2 4 8 16 32, a markdown table on stdout
    python bench/engines.py --pages 2 4        # chosen sizes
    python bench/engines.py --cap 120          # seconds a run may take before it is stopped
    python bench/engines.py --bmc-depth 30 --baseline REV   # bmc on every spec: REV's code beside this one
    python bench/engines.py --bmc-depth 30 --baseline REV --only-depth --old-specs --cap 40 --new-cap 150
    python bench/engines.py --bmc-depth 30 --only-new --only-depth --cap 300   # this code alone, every spec

Each run is `python -m lockcheck verify --engine E --format json` in a process of its own,
timed from outside (start-up included). With --bmc-depth, every spec of specs/ is checked by
bmc at that depth and at the depth of its deepest violation (from the explicit engine), once
with the code of git revision REV (extracted with `git archive` into a temporary folder) and
once with the working tree's; the table gives both times, their ratio, and whether the
verdicts and counterexample lengths agree.

The engines table gives the
verdict of no_remove_under_writeback and what it means: bmc's "unknown" means "no violation
up to the depth", not "holds". A run the cap stops is "stopped". Numbers are ratios within
one run on one machine: compare rows, not runs on different days.
"""
from __future__ import annotations

import argparse
import resource
import json
import subprocess
import sys
import tarfile
import tempfile
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


def verify_json(argv: list[str], cap: float, code: Path) -> tuple[dict | None, float, str]:
    """One `lockcheck verify --format json` run with the package found in `code`: the spec's
    JSON (None if it failed or the cap stopped it), the CPU time it took (user + system: on a
    machine shared with other work, wall time says more about the neighbours), and why it
    failed. A run the cap (wall seconds) stops counts the CPU time it had used."""
    cmd = [sys.executable, "-m", "lockcheck", "verify", "-q", "--format", "json", *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()   # reaped: its CPU time is counted
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return None, _cpu(before, after), f"stopped after {cap:g} s of wall time"
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = _cpu(before, after)
    try:
        return json.loads(out)["specs"][0], seconds, ""
    except (ValueError, KeyError, IndexError):
        return None, seconds, (err.strip().splitlines() or ["?"])[-1]


def _cpu(before, after) -> float:
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def verdicts(spec: dict | None) -> dict[str, tuple[str, int | None]] | None:
    if spec is None:
        return None
    return {p["name"]: (p["verdict"], p["trace"]["length"] if p.get("trace") else None) for p in spec["properties"]}


def extract(rev: str, into: Path) -> Path:
    """The package as it was at git revision `rev`, unpacked under `into`."""
    archive = subprocess.run(["git", "archive", rev, "lockcheck", "models", "specs"], cwd=REPO, check=True,
                             capture_output=True).stdout
    target = into / "baseline"
    target.mkdir()
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(target)
    return target


def new_table(depth: int, cap: float, specs: list[str]) -> None:
    """bmc at `depth` with this code alone on every spec: CPU seconds and verdicts."""
    print(f"| spec | depth | CPU s | violated (trace lengths) | unknown | holds |")
    print("|---|---:|---:|---|---:|---:|")
    for spec in specs:
        result, seconds, why = verify_json(["--engine", "bmc", "--depth", str(depth), str(REPO / "specs" / spec)],
                                           cap, REPO)
        if result is None:
            print(f"| {spec} | {depth} | {seconds:.1f} ({why}) | | | |", flush=True)
            continue
        found = verdicts(result) or {}
        violated = sorted((n for n, (v, _) in found.items() if v == "violated"))
        lengths = ", ".join(f"{n} ({found[n][1]})" for n in violated) or "-"
        count = {v: sum(1 for x, _ in found.values() if x == v) for v in ("unknown", "holds")}
        print(f"| {spec} | {depth} | {seconds:.1f} | {lengths} | {count['unknown']} | {count['holds']} |", flush=True)


def bmc_table(depth: int, baseline: str, cap: float, specs: list[str], only_depth: bool = False,
              new_cap: float | None = None, old_specs: bool = False) -> None:
    """bmc on every spec at `depth` and (unless `only_depth`) at its deepest violation, baseline
    code beside this."""
    print(f"| spec | depth | {baseline} CPU s | now CPU s | speed-up | same verdicts and lengths |")
    print("|---|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        old_code = extract(baseline, Path(tmp))
        for spec in specs:
            # both codes check the same file: the baseline's spec (today's may use syntax it lacks)
            path = str((old_code if old_specs else REPO) / "specs" / spec)
            if not Path(path).exists():
                print(f"| {spec} | {depth} | (not in {baseline}) | | | |", flush=True)
                continue
            lengths: list[int] = []
            if not only_depth:
                explicit, _, _ = verify_json(["--fingerprints", path], cap, REPO)
                lengths = [n for _, n in (verdicts(explicit) or {}).values() if n is not None]
            for d in sorted({depth, *(n for n in lengths if n < depth)}, reverse=True)[:2]:
                argv = ["--engine", "bmc", "--depth", str(d), path]
                old, old_s, old_why = verify_json(argv, cap, old_code)
                new, new_s, new_why = verify_json(argv, new_cap or cap, REPO)
                same = "-" if old is None or new is None else ("yes" if verdicts(old) == verdicts(new) else "NO")
                speedup = f"{old_s / new_s:.1f}x" if new is not None and old is not None else "-"
                if old is None and new is not None and old_why.startswith("stopped"):
                    speedup = f">= {old_s / new_s:.1f}x"
                print(f"| {spec} | {d} | {old_s:.1f}{' (' + old_why + ')' if old_why else ''} | "
                      f"{new_s:.1f}{' (' + new_why + ')' if new_why else ''} | {speedup} | {same} |", flush=True)


def cell(o: Outcome) -> str:
    what = f"{o.verdict} ({o.detail})" if o.detail else o.verdict
    return f"{what}, {o.seconds:.1f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--cap", type=float, default=180.0, help="seconds before a run is stopped")
    parser.add_argument("--specs", nargs="+", default=list(SPECS), choices=list(SPECS))
    parser.add_argument("--bmc-depth", type=int, default=None, help="the bmc table at this depth instead")
    parser.add_argument("--baseline", default="HEAD", help="git revision for the bmc table's baseline")
    parser.add_argument("--bmc-specs", nargs="+", default=None, help="spec files (names in specs/) for the bmc table")
    parser.add_argument("--new-cap", type=float, default=None, help="bmc table: the cap of the working tree's runs (default --cap)")
    parser.add_argument("--old-specs", action="store_true",
                        help="bmc table: both codes check the baseline revision's specs/ (the same input)")
    parser.add_argument("--only-depth", action="store_true", help="bmc table: only --bmc-depth, not each spec's deepest violation")
    parser.add_argument("--only-new", action="store_true",
                        help="bmc table: this code alone at --bmc-depth on each spec (no baseline; implies --only-depth)")
    args = parser.parse_args(argv)
    if args.bmc_depth is not None:
        specs = args.bmc_specs or sorted(p.name for p in (REPO / "specs").glob("*.lk"))
        if args.only_new:
            new_table(args.bmc_depth, args.cap, specs)
            return 0
        bmc_table(args.bmc_depth, args.baseline, args.cap, specs, args.only_depth, args.new_cap, args.old_specs)
        return 0
    print(f"| spec | NPAGES | explicit | bmc (--depth {BMC_DEPTH}) | induction (--depth {INDUCTION_DEPTH}) |")
    print("|---|---:|---|---|---|")
    for name in args.specs:
        for pages in args.pages:
            cells = [cell(run(engine, SPECS[name], pages, args.cap)) for engine in ("explicit", "bmc", "induction")]
            print(f"| {name} | {pages} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
