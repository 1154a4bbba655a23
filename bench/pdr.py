#!/usr/bin/env python3
"""What `--engine pdr` proves on every spec of specs/, at NPAGES 4, 8 and 16 (a spec without
an NPAGES constant at its own size), against the set of properties that hold.

    python bench/pdr.py                          # every spec, NPAGES 4 8 16, a markdown table on stdout
    python bench/pdr.py --pages 4 --cap 20       # chosen sizes, seconds of pdr per spec and size
    python bench/pdr.py --specs ext4.lk shmem.lk
    python bench/pdr.py --cap 20 --baseline REV  # also pdr with git revision REV's code, in the same run

Per spec and size, three runs, each `python -m lockcheck verify --format json` in a process
of its own: the explicit engine (--timeout --cap, --max-memory 2G) for the verdicts; where
a limit stops it, k-induction (--timeout --cap), whose proofs are then the holding set
(nothing else is counted as holding: no verdict is invented); and pdr with --timeout --cap
(its time is shared out evenly over the properties it asks Spacer about). The columns:
properties in all; holding (from the explicit engine, or "≥ N" from induction's proofs);
violated by the explicit engine; proved by pdr, and of those by Spacer itself (the others
are properties no check of the spec can fail, or a bmc search that covered every reachable
state); pdr's unknowns among the holding ones and
why (the first words of pdr's own reason); and DISAGREE if pdr proved something the explicit
engine violates, or violated something it proves (that would be a bug). A size is skipped
for a spec, and said so, when Spacer proved none of its holding properties at the size before:
the larger instance only costs more. CPU seconds (user + system) of the pdr run.

With --baseline REV, each spec and size also runs pdr with the code of REV (`git archive`
into a temporary folder, on the same spec files), just before this code's run: the
"before" columns are that run's proved (by Spacer) count and CPU seconds, and a size is
skipped only when neither code's Spacer proved anything at the size before.
"""
from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    spec: dict | None
    cpu: float
    why: str


def verify(args: list[str], cap: float, code: Path = REPO) -> Run:
    cmd = [sys.executable, "-m", "lockcheck", "verify", "-q", "--format", "json", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=cap + 60)   # the engines' own --timeout ends them first
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        out, err = "", f"stopped after {cap + 60:g} s of wall time"
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        return Run(json.loads(out)["specs"][0], cpu, "")
    except (ValueError, KeyError, IndexError):
        return Run(None, cpu, (err.strip().splitlines() or ["?"])[-1])


def verdicts(run: Run) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["verdict"], p.get("detail") or "") for p in (run.spec or {}).get("properties", [])}


def reason(detail: str) -> str:
    first = detail.splitlines()[0] if detail else "?"
    first = first.removeprefix("not proved: ")
    for short, long_ in (("Spacer timeout", "Spacer did not finish"), ("--timeout", "--timeout stopped Z3"),
                         ("Spacer gave up", "Spacer gave up")):
        if first.startswith(long_):
            return short
    return first[:60]


def extract(rev: str, into: Path) -> Path:
    """The package as it was at git revision `rev`, unpacked under `into`."""
    archive = subprocess.run(["git", "archive", rev, "lockcheck"], cwd=REPO, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into)
    return into


def spacer_proved(run: Run, holding: set[str]) -> set[str]:
    """The holding properties Spacer itself proved in a pdr run."""
    return {n for n, (v, d) in verdicts(run).items() if v == "holds" and d.startswith("proved (pdr)")} & holding


def row(spec: str, pages: int | None, cap: float, baseline: Path | None = None) -> tuple[str, int]:
    """The table row, and how many holding properties pdr proved (either code's, with a baseline)."""
    path = str(REPO / "specs" / spec)
    size = ["-D", f"NPAGES={pages}"] if pages is not None else []
    explicit = verify([*size, "--timeout", f"{cap:g}", "--max-memory", "2G", path], cap)
    ev = verdicts(explicit)
    complete = explicit.spec is not None and not explicit.spec["stats"].get("limit")
    if complete:
        holding = {n for n, (v, _) in ev.items() if v == "holds"}
        held = f"{len(holding)}"
    else:
        induction = verify([*size, "--engine", "induction", "--timeout", f"{cap:g}", path], cap)
        holding = {n for n, (v, _) in verdicts(induction).items() if v == "holds"}
        held = f"≥ {len(holding)} (induction)"
    violated = {n for n, (v, _) in ev.items() if v == "violated"}
    old_cells, old_spacer = "", 0
    if baseline is not None:
        old = verify([*size, "--engine", "pdr", "--timeout", f"{cap:g}", path], cap, baseline)
        if old.spec is None:
            old_cells = f"failed: {old.why} | {old.cpu:.1f} | "
        else:
            old_spacer = len(spacer_proved(old, holding))
            old_proved = {n for n, (v, _) in verdicts(old).items() if v == "holds"}
            old_cells = f"{len(old_proved & holding)} ({old_spacer}) | {old.cpu:.1f} | "
    pdr = verify([*size, "--engine", "pdr", "--timeout", f"{cap:g}", path], cap)
    pv = verdicts(pdr)
    if pdr.spec is None:
        return (f"| {spec} | {pages or '-'} | {len(ev) or '?'} | {held} | {len(violated)} | {old_cells}- | - | "
                f"pdr failed: {pdr.why} | {pdr.cpu:.1f} |"), old_spacer
    proved = {n for n, (v, _) in pv.items() if v == "holds"}
    # Spacer's own proofs; the rest are pdr's "no step of the spec can fail it" (no such check exists)
    # or a bmc search that covered every reachable state
    spacer = spacer_proved(pdr, holding)
    pdr_violated = {n for n, (v, _) in pv.items() if v == "violated"}
    unknown = [n for n in sorted(holding) if pv.get(n, ("unknown", ""))[0] == "unknown"]
    whys: dict[str, int] = {}
    for n in unknown:
        whys[reason(pv[n][1])] = whys.get(reason(pv[n][1]), 0) + 1
    why = ", ".join(f"{k} ({v})" for k, v in sorted(whys.items(), key=lambda kv: -kv[1])) or "-"
    wrong = (proved & violated) | (pdr_violated & holding)
    flag = f" DISAGREE on {', '.join(sorted(wrong))}" if wrong else ""
    return (f"| {spec} | {pages or '-'} | {len(pv)} | {held} | {len(violated)} | {old_cells}"
            f"{len(proved & holding)} ({len(spacer)}) (+{len(proved - holding)}) | {len(pdr_violated)} | "
            f"{len(unknown)}: {why}{flag} | {pdr.cpu:.1f} |"), max(len(spacer), old_spacer)


def has_npages(spec: str) -> bool:
    return any(line.strip().startswith("const NPAGES") for line in (REPO / "specs" / spec).read_text().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--cap", type=float, default=60.0, help="seconds of each engine per spec and size")
    parser.add_argument("--specs", nargs="+", default=None, help="spec files (names in specs/)")
    parser.add_argument("--baseline", default=None, help="git revision whose pdr runs beside this code's")
    args = parser.parse_args(argv)
    specs = args.specs or sorted(p.name for p in (REPO / "specs").glob("*.lk"))
    before = "" if args.baseline is None else f"{args.baseline}: pdr proved (by Spacer) | {args.baseline}: CPU s | "
    print(f"| spec | NPAGES | properties | holding | violated (explicit) | {before}pdr proved (by Spacer) "
          "(+ not in holding) | pdr violated | holding, pdr unknown: why (count) | pdr CPU s |")
    print("|---|---:|---:|---|---:|" + ("---:|---:|" if before else "") + "---:|---:|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        baseline = extract(args.baseline, Path(tmp)) if args.baseline is not None else None
        for spec in specs:
            sizes: list[int | None] = list(args.pages) if has_npages(spec) else [None]
            for i, pages in enumerate(sizes):
                text, proved = row(spec, pages, args.cap, baseline)
                print(text, flush=True)
                if proved == 0 and pages is not None and i + 1 < len(sizes):
                    rest = ", ".join(str(p) for p in sizes[i + 1:])
                    print(f"| {spec} | {rest} | | | | not run: Spacer proved none at NPAGES {pages} | | | |", flush=True)
                    break
    return 0


if __name__ == "__main__":
    sys.exit(main())
