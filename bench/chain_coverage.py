"""The cost of counting coverage per ended step (the Trail of steps.py) against a baseline
commit that marked every edge at once: CPU seconds of `lockcheck verify -q` on a few specs,
the two trees alternated run by run in child processes, as ratios within one run.

    python bench/chain_coverage.py --baseline 3aa9055 [--runs 3] [SPEC[:NAME=VALUE,...] ...]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT = ["specs/ext4.lk:NPAGES=5", "specs/btrfs_flusher.lk", "specs/shmem_swap_truncate.lk",
           "specs/lock_page_fairness.lk:NWAITERS=4", "bench/blocked_atomic.lk"]


def cpu_of(tree: Path, spec: str, defines: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    argv = [sys.executable, "-c", "import lockcheck, sys; from lockcheck.cli import main; "
            f"assert lockcheck.__file__.startswith({str(tree)!r}); sys.exit(main())",
            "verify", "-q", *sum((["-D", d] for d in defines), []), str(REPO / spec)]
    env = dict(os.environ, PYTHONPATH=str(tree))
    # run in the tree: `python -c` puts the current folder first on sys.path
    done = subprocess.run(argv, cwd=tree, env=env, capture_output=True, check=False)
    if done.returncode not in (0, 1, 3):
        raise SystemExit(done.stderr.decode(errors="replace"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="the commit to compare with")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("specs", nargs="*", default=DEFAULT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-base-") as tmp:
        base = Path(tmp)
        archive = subprocess.run(["git", "archive", args.baseline, "lockcheck"], cwd=REPO, capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        print(f"baseline {args.baseline} against the working tree, {args.runs} alternated runs each, "
              f"load average {os.getloadavg()[0]:.1f} at the start\n")
        print("| spec | baseline CPU s (min) | now CPU s (min) | now / baseline |")
        print("|---|---:|---:|---:|")
        for item in args.specs:
            spec, _, defs = item.partition(":")
            defines = [d for d in defs.split(",") if d]
            old, new = [], []
            for _ in range(args.runs):
                old.append(cpu_of(base, spec, defines))
                new.append(cpu_of(REPO, spec, defines))
            label = spec + (f" ({', '.join(defines)})" if defines else "")
            print(f"| {label} | {min(old):.2f} | {min(new):.2f} | {min(new) / min(old):.3f} |")
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
