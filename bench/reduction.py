#!/usr/bin/env python3
"""Partial-order reduction: explored states with and without it, in one run.

    python bench/reduction.py                  # markdown tables on stdout (bench/reduction.md)
    python bench/reduction.py --pages 2 3 4    # other NPAGES for the SPIN table
    python bench/reduction.py --no-spin        # without SPIN (apt-get install spin gcc)

Table 1: bench/spin/ext4_mirror.lk (lockcheck) beside bench/spin/ext4.pml (SPIN), the same
model statement for statement, for the correct model and both bug variants at each NPAGES:
lockcheck's states without and with reduction, SPIN's without (-DNOREDUCE) and with its
partial-order reduction. SPIN runs `./pan -m100000 -c0` (it goes on past errors, so it
explores the whole reachable space, as lockcheck does). Table 2: every spec in specs/ at
its defaults. Each lockcheck row checks that the verdicts, messages and traces are the same
with and without reduction ("same"). Times are wall seconds of the search on a shared
machine: read the ratios, not the absolute numbers.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lockcheck.api import Options, verify  # noqa: E402
from lockcheck.errors import Sources  # noqa: E402
from lockcheck.result import Result  # noqa: E402

SPIN_MODEL = REPO / "bench" / "spin" / "ext4.pml"
MIRROR = REPO / "bench" / "spin" / "ext4_mirror.lk"
VARIANTS = {"correct": {}, "UNLOCK_BEFORE_WB": {"UNLOCK_BEFORE_WB": "true"}, "NO_WAIT_WB": {"NO_WAIT_WB": "true"}}
PAGES = [2, 3, 4, 5, 6, 7, 8]


def check(path: Path, defines: dict[str, str], reduction: bool) -> tuple[Result, float]:
    started = time.perf_counter()
    result = verify(str(path), Options(defines=defines, reduction=reduction), Sources())
    return result, time.perf_counter() - started


def outcome(result: Result) -> list[tuple]:
    return [(p.name, p.verdict, p.message, p.trace) for p in result.properties]


def lockcheck_pair(path: Path, defines: dict[str, str]) -> dict:
    full, t_full = check(path, defines, False)
    reduced, t_reduced = check(path, defines, True)
    same = outcome(full) == outcome(reduced) and full.coverage == reduced.coverage
    violated = sorted(p.name for p in full.properties if p.verdict == "violated")
    return {"full": full.stats.states, "reduced": reduced.stats.states, "t_full": t_full,
            "t_reduced": t_reduced, "same": same, "violated": violated}


def spin_states(n: int, variant: str, reduce: bool, work: Path) -> tuple[int, int]:
    """(states stored, errors) of `./pan -m100000 -c0` on ext4.pml."""
    d = work / f"{variant}-{n}-{'por' if reduce else 'full'}"
    d.mkdir()
    shutil.copy(SPIN_MODEL, d / "ext4.pml")
    defs = [f"-DNPAGES={n}"] + ([] if variant == "correct" else [f"-D{variant}"])
    subprocess.run(["spin", "-a"] + defs + ["ext4.pml"], cwd=d, check=True, capture_output=True)
    flags = ["-O2", "-DSAFETY"] + ([] if reduce else ["-DNOREDUCE"])
    subprocess.run(["gcc"] + flags + ["-o", "pan", "pan.c"], cwd=d, check=True, capture_output=True)
    out = subprocess.run(["./pan", "-m100000", "-c0"], cwd=d, capture_output=True, text=True).stdout
    states = re.search(r"(\d+) states, stored", out)
    errors = re.search(r"errors: (\d+)", out)
    assert states and errors, out
    return int(states.group(1)), int(errors.group(1))


def mirror_table(pages: list[int], spin: bool) -> list[str]:
    rows = ["| NPAGES | variant | lockcheck states, no reduction | lockcheck states, reduction | ratio |"
            " verdicts and traces | SPIN states, no POR | SPIN states, POR | SPIN ratio |"
            " lockcheck (reduction) / SPIN (POR) |",
            "|---:|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    work = Path(tempfile.mkdtemp())
    try:
        for n in pages:
            for variant, defines in VARIANTS.items():
                r = lockcheck_pair(MIRROR, {"NPAGES": str(n), **defines})
                cells = [str(n), variant, f"{r['full']:,}", f"{r['reduced']:,}", f"{r['full'] / r['reduced']:.2f}x",
                         "same" if r["same"] else "DIFFERENT"]
                if spin:
                    off, _ = spin_states(n, variant, False, work)
                    on, errors = spin_states(n, variant, True, work)
                    assert bool(errors) == bool(r["violated"]), (n, variant, errors, r["violated"])
                    cells += [f"{off:,}", f"{on:,}", f"{off / on:.2f}x", f"{r['reduced'] / on:.2f}"]
                else:
                    cells += ["-"] * 4
                rows.append("| " + " | ".join(cells) + " |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def specs_table() -> list[str]:
    rows = ["| spec | states, no reduction | states, reduction | ratio | search s, no reduction |"
            " search s, reduction | verdicts and traces |", "|---|---:|---:|---:|---:|---:|---|"]
    for path in sorted((REPO / "specs").glob("*.lk")):
        r = lockcheck_pair(path, {})
        rows.append(f"| {path.name} | {r['full']:,} | {r['reduced']:,} | {r['full'] / r['reduced']:.2f}x | "
                    f"{r['t_full']:.2f} | {r['t_reduced']:.2f} | {'same' if r['same'] else 'DIFFERENT'} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, nargs="+", default=PAGES)
    ap.add_argument("--no-spin", action="store_true")
    args = ap.parse_args()
    spin = not args.no_spin and shutil.which("spin") is not None and shutil.which("gcc") is not None
    lines = ["## bench/spin's model: lockcheck and SPIN, with and without reduction", ""]
    if spin:
        version = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
        lines += [f"SPIN: {version}; `gcc -O2 -DSAFETY [-DNOREDUCE]`; `./pan -m100000 -c0`.", ""]
    lines += mirror_table(args.pages, spin) + ["", "## specs/ at their defaults", ""] + specs_table()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
