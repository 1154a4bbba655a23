"""The pdr engine (Spacer on Horn clauses): it proves what holds at every depth with no lemma
and prints the inductive invariant as the proof; what it finds reachable is violated with the
explicit engine's shortest counterexample (found by bmc); and it never proves what the
explicit engine violates (tests/test_engines_agree.py checks that on specs, test models and
random specs)."""
from __future__ import annotations

from conftest import cli
from lockcheck.api import Options, load_model
from reference.explicit import Limits, check_explicit
from lockcheck.engines.symbolic.pdr import SHALLOW_DEPTH, check_pdr
from lockcheck.engines.symbolic.shared import Settings
from lockcheck.errors import Sources

# 12 increments, then done: deeper than the shallow bmc search, so Spacer must prove it
COUNTER = """
int[0..15] n = 0;
bool done = false;
thread t { while (n < 12) { n = n + 1; } done = true; }
invariant counted: done -> n == 12;
invariant never_done: !done;
expect violation never_done;
"""


def results(path: str):
    program = load_model(path, Options(), Sources())
    return ({p.name: p for p in check_pdr(program, Settings(timeout=120)).properties},
            {p.name: p for p in check_explicit(program, Limits())[0].properties})


def test_pdr_proves_beyond_the_bmc_depth_and_prints_the_invariant(spec):
    pdr, explicit = results(spec(COUNTER))
    counted = pdr["counted"]
    assert explicit["counted"].verdict == "holds"
    assert counted.verdict == "holds" and counted.engine == "pdr"
    assert counted.detail.startswith("proved (pdr): an inductive invariant of")
    clauses = counted.detail.splitlines()[1:]
    assert clauses and any("n" in c.split() or "n " in c for c in clauses), counted.detail
    assert "search" not in counted.detail    # not bmc's exhaustive search: a proof


def test_pdr_violation_deeper_than_the_bmc_depth_has_the_shortest_trace(spec):
    pdr, explicit = results(spec(COUNTER))
    never = pdr["never_done"]
    assert never.verdict == "violated"
    assert never.trace is not None and never.trace.length == explicit["never_done"].trace.length
    assert never.trace.length > SHALLOW_DEPTH


def test_pdr_from_the_command_line_shows_the_proof(spec):
    code, out, _ = cli("verify", "--engine", "pdr", spec(COUNTER))
    assert code == 0, out
    assert "pdr engine" in out and "proved (pdr)" in out
    assert "-- counted: proved (pdr): an inductive invariant" in out
