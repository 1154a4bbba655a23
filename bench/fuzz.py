"""Run N mutants of specs/ and models/ through lockcheck's main() (tests/fuzz_lk.py) and print
what it found: `python bench/fuzz.py 20000 --seed 1`. Exit 1 if anything misbehaved; each
finding's input is written to the --out folder to become a regression test."""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import fuzz_lk  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("count", type=int, help="mutants to run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per input")
    parser.add_argument("--out", default="fuzz-findings", help="folder for the inputs that misbehaved")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long even if fewer ran")
    parser.add_argument("--memory-gb", type=float, default=4.0,
                        help="address-space limit of this process (a runaway input gets MemoryError, not the OOM killer)")
    args = parser.parse_args()
    import resource

    cap = int(args.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
        done, runner = fuzz_lk.fuzz(args.count, args.seed, Path(scratch), args.seconds, deadline)
    seconds = time.perf_counter() - started
    kinds = collections.Counter(f.kind for f in runner.findings)
    print(f"{done} mutants (seed {args.seed}), {runner.runs} lockcheck runs, {seconds:.0f} s "
          f"({done / seconds:.1f} mutants/s): {len(runner.findings)} findings {dict(kinds)}")
    if runner.findings:
        out = Path(args.out)
        out.mkdir(exist_ok=True)
        for i, f in enumerate(runner.findings):
            (out / f"{i:04d}-{f.kind}.lk").write_bytes(f.data)
            (out / f"{i:04d}-{f.kind}.txt").write_text(f"{' '.join(f.argv)}\n{f.detail}\n")
        print(f"inputs in {out}/")
    return 1 if runner.findings else 0


if __name__ == "__main__":
    sys.exit(main())
