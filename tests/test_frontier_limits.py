"""The frontier engine at its limits: --max-states, --timeout, --max-memory and an
interrupt stop it with what it found (exit 3), and specs as large as the language allows
(arrays of 4096, expressions nested 150 deep, 190-term conditions) check without
generating any Python source."""
from __future__ import annotations

import pytest

from conftest import REPO, cli, model_of
from lockcheck.engines.explicit import SearchLimits, check_frontier
from lockcheck.engines.explicit.search import SearchProgress

EXT4 = str(REPO / "specs" / "ext4.lk")
RACE = str(REPO / "specs" / "ext4_truncate_nowait.lk")


def test_max_states_keeps_exactly_that_many():
    result, _ = check_frontier(model_of(EXT4), SearchLimits(max_states=500))
    assert result.stats.states == 500 and result.stats.limit == "--max-states 500"
    assert result.exit_code == 3


def test_timeout_stops_the_search():
    result, _ = check_frontier(model_of(EXT4, NPAGES=4), SearchLimits(timeout=0.05))
    assert result.stats.limit == "--timeout 0.05" and 0 < result.stats.states < 47751
    code, out, _ = cli("verify", "--timeout", "0.05", "-D", "NPAGES=4", EXT4)
    assert code == 3 and "stopped at --timeout 0.05" in out


def test_memory_limit_stops_the_search():
    code, out, _ = cli("verify", "--max-memory", "1M", EXT4)
    assert code == 3 and "stopped at --max-memory 1M" in out


@pytest.mark.parametrize("size", ["x", "2Q", "100"])
def test_bad_memory_sizes_are_command_errors(size):
    code, _, err = cli("verify", "--max-memory", size, EXT4)
    assert code == 2 and "max-memory" in err


def test_an_interrupt_keeps_what_was_found():
    """Ctrl-C in the middle: the violation met on the way keeps its shortest trace."""
    def interrupt(p: SearchProgress) -> None:
        if p.depth >= 12:
            raise KeyboardInterrupt

    model = model_of(RACE, NPAGES=4)
    search_result, _ = check_frontier(model, SearchLimits())
    import lockcheck.engines.explicit.search as search

    old_every, search.PROGRESS_SECONDS = search.PROGRESS_SECONDS, 0.0
    try:
        result, _ = check_frontier(model, SearchLimits(), interrupt)
    finally:
        search.PROGRESS_SECONDS = old_every
    assert result.stats.limit == "an interrupt" and result.stats.states < search_result.stats.states
    race = {p.name: p for p in result.properties}["no_remove_under_writeback"]
    full = {p.name: p for p in search_result.properties}["no_remove_under_writeback"]
    assert race.verdict == "violated" and race.trace.length == full.trace.length == 10
    assert result.exit_code == 3


def _big_spec() -> str:
    wide = " || ".join(f"(x == {i % 3} && b{i % 4})" for i in range(190))
    return f"""
const N = 4096;
bool flags[N];
int[0..2] x = 0;
bool b0 = false; bool b1 = false; bool b2 = false; bool b3 = false;
int[0..4095] k = 0;
thread a {{ x = 1; b1 = true; flags[N - 1] = true; k = 4095; }}
thread b {{ x = 2; flags[k] = !flags[k]; }}
invariant all_clear: forall i in 0..N-1: !flags[i] || i == N - 1;
invariant wide: !({wide}) || x != 1;
invariant deep: {"(" * 150}x <= 2{")" * 150};
expect violation all_clear;
expect violation wide;
"""


def test_specs_as_large_as_the_language_allows(spec):
    result, _ = check_frontier(model_of(spec(_big_spec())), SearchLimits())
    verdicts = {p.name: p.verdict for p in result.properties}
    assert verdicts["all_clear"] == verdicts["wide"] == "violated" and verdicts["deep"] == "holds"
    wide = {p.name: p for p in result.properties}["wide"]
    assert wide.trace.length == 2          # a: x = 1; b1 = true
    # b: x = 2; flags[k] = !flags[k] with k still 0
    assert {p.name: p for p in result.properties}["all_clear"].trace.length == 2
    # a has 5 positions and b 3; with who wrote x last and which flag b toggled: 5 + 9 + 11
    assert result.stats.states == 25 and not result.stats.limit


def test_a_stopped_second_search_keeps_the_first_searchs_paths():
    """The second search (for the fewest-switch traces) interrupted: the first search's
    verdicts stand, traced by first discovery, as short, with a warning; exit 3."""
    model = model_of(RACE, NPAGES=2)
    full, _ = check_frontier(model, SearchLimits())
    depths: list[int] = []

    def interrupt_the_second(p: SearchProgress) -> None:
        if depths and p.depth < depths[-1]:   # a new search starts from depth 0
            raise KeyboardInterrupt
        depths.append(p.depth)

    import lockcheck.engines.explicit.search as search

    old_every, search.PROGRESS_SECONDS = search.PROGRESS_SECONDS, 0.0
    try:
        result, _ = check_frontier(model, SearchLimits(), interrupt_the_second)
    finally:
        search.PROGRESS_SECONDS = old_every
    race = {p.name: p for p in result.properties}["no_remove_under_writeback"]
    shortest = {p.name: p for p in full.properties}["no_remove_under_writeback"]
    assert race.verdict == "violated" and race.trace.length == shortest.trace.length == 10
    assert result.stats.states == full.stats.states and result.stats.limit == "an interrupt"
    assert any("fewest-switch" in w for w in result.warnings) and result.exit_code == 3
