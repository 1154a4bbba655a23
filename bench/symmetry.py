"""States and time with and without thread symmetry (docs/language.md#engines), on the spec
whose waiters are interchangeable, at several sizes: one child process per run (the CLI,
JSON out), both in the same run of this script, partial-order reduction on in both.

    python bench/symmetry.py                 # writes bench/symmetry.md
    python bench/symmetry.py --cap 120       # seconds per run (a capped run says so)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "lock_page_fairness.lk"
LRU = ROOT / "tests" / "data" / "lru_isolate.lk"


def run(waiters: int, fixed: bool, symmetry: bool, cap: float, spec: Path = SPEC, size: str = "NWAITERS",
        prop: str = "first_come_first_served") -> dict:
    cmd = [sys.executable, "-m", "lockcheck", "verify", "--format", "json", "--timeout", str(cap),
           "-D", f"{size}={waiters}", "-D", f"FIXED={'true' if fixed else 'false'}", str(spec)]
    if not symmetry:
        cmd.insert(4, "--no-symmetry")
    started = time.perf_counter()
    before = os.times()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    after = os.times()
    spec = json.loads(out.stdout)["specs"][0]
    verdicts = {p["name"]: p["verdict"] for p in spec["properties"]}
    return {"states": spec["stats"]["states"], "limit": spec["stats"]["limit"],
            "verdict": verdicts[prop],
            "wall": time.perf_counter() - started,
            "cpu": (after.children_user + after.children_system) - (before.children_user + before.children_system)}



def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return out.stdout.strip() or "unknown"


def table_row(n: int, fixed: bool, sym: dict, full: dict) -> list:
    """One row: the size, FIXED, both verdicts, states and CPU s without and with symmetry."""
    capped = f"stopped at {full['limit']}" if full["limit"] else ""
    return [n, "true" if fixed else "false", sym["verdict"], full["verdict"],
            f"{full['states']:,}", f"{sym['states']:,}", f"{full['states'] / sym['states']:.1f}x",
            f"{full['cpu']:.1f}", f"{sym['cpu']:.1f}", f"{full['cpu'] / max(sym['cpu'], 1e-9):.1f}x", capped]

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--waiters", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--pages", type=int, nargs="+", default=[2, 3, 4, 6, 8, 10])
    ap.add_argument("--cap", type=float, default=600.0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "symmetry.md"))
    args = ap.parse_args()
    rows = []
    for fixed in (False, True):
        for n in args.waiters:
            rows.append(table_row(n, fixed, run(n, fixed, True, args.cap), run(n, fixed, False, args.cap)))
            print(rows[-1], file=sys.stderr)
    objects = []
    for fixed in (False, True):
        for n in args.pages:
            objects.append(table_row(n, fixed, run(n, fixed, True, args.cap, LRU, "NPAGES", "bug"),
                                     run(n, fixed, False, args.cap, LRU, "NPAGES", "bug")))
            print(objects[-1], file=sys.stderr)
    load = os.getloadavg()[0]
    table = tabulate(rows, headers=["NWAITERS", "FIXED", "verdict (symmetry)", "verdict (none)",
                                    "states (none)", "states (symmetry)", "fewer", "CPU s (none)",
                                    "CPU s (symmetry)", "faster", "note"], tablefmt="github")
    object_table = tabulate(objects, headers=["NPAGES", "FIXED", "verdict (symmetry)", "verdict (none)",
                                              "states (none)", "states (symmetry)", "fewer", "CPU s (none)",
                                              "CPU s (symmetry)", "faster", "note"], tablefmt="github")
    Path(args.out).write_text(f"""# Thread symmetry: states and time

`python bench/symmetry.py --cap {args.cap:g}` (on commit {commit()}): specs/lock_page_fairness.lk, `first_come_first_served`,
each run a child process (`lockcheck verify --format json`), with symmetry (the default) and
with `--no-symmetry`, partial-order reduction on in both; CPU seconds of the child, which
include loading the spec and, where the property is violated, the search without symmetry
that finds the shortest trace (up to the violation's depth). Load average when it ended:
{load:.1f} (a 2-core machine shared with other work: read the ratios).

The waiters `w[0..NWAITERS-1]` with their `ticket[]` and `waiting[]` elements are
interchangeable, so a class of states has up to NWAITERS! members: the ratio of states
approaches that (2, 6, 24, 120) as the waiters spend more of the run apart.

{table}

## Object symmetry

tests/data/lru_isolate.lk, property `bug` (a page isolated twice), `NRECLAIM=2`, growing
NPAGES, the same way: every thread picks its page by `choose p in pages`, so the pages are
interchangeable (a class has up to NPAGES! members) and the two reclaimers too (x2): with
symmetry both are used, without neither. The three threads touch at most three pages, so from
NPAGES=3 on more pages add states but no classes: the states up to symmetry stay the same
(one state per class: each ordering of the reclaimers is tried and the pages are sorted
under it, engines/explicit/canonical.py).

{object_table}
""")


if __name__ == "__main__":
    main()
