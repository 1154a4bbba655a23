"""Partial-order reduction (engines/explicit/reduce.py): the independence relation on small
hand-made specs, state counts it must reach on hand-counted ones, and agreement with the
search without reduction (verdicts, traces, coverage) on every spec in specs/, the test
models of the other test files and random specs; never more states than without it."""
from __future__ import annotations

import pytest
from hypothesis import given

from conftest import REPO, SPECS
from lockcheck.api import Options, load_model
from lockcheck.engines.explicit import SearchLimits, check_frontier
from lockcheck.engines.explicit.reduce import Reduction
from lockcheck.engines.explicit.search import FrontierSearch
from lockcheck.errors import Sources
from lockcheck.result import Result
from random_specs import random_spec_settings, specs as random_specs, write_spec
from test_engines_agree import TEST_MODELS

SLOW_SPECS = {"btrfs_flusher.lk", "ext3.lk", "page_mkwrite_race.lk", "ext4_reclaim_flusher.lk"}
RANDOM_EXAMPLES = 40
RANDOM_EXAMPLES_SLOW = 300
MIRROR = REPO / "bench" / "spin" / "ext4_mirror.lk"


def both(path: str, defines: dict[str, str] | None = None) -> tuple[Result, Result]:
    model = load_model(path, Options(defines=defines or {}), Sources())
    full, _ = check_frontier(model, SearchLimits(reduction=False))
    reduced, _ = check_frontier(model, SearchLimits(reduction=True))
    return full, reduced


def assert_agree(full: Result, reduced: Result) -> None:
    """Same verdicts, messages and traces (the shortest, fewest-switch ones), same
    statements never run, no more states."""
    assert not full.stats.limit and not reduced.stats.limit
    assert [(p.name, p.verdict, p.message) for p in reduced.properties] == \
           [(p.name, p.verdict, p.message) for p in full.properties]
    for p, q in zip(full.properties, reduced.properties):
        assert q.trace == p.trace, p.name
        assert q.cycle == p.cycle, p.name
    assert reduced.coverage == full.coverage
    assert reduced.warnings == full.warnings
    assert reduced.stats.states <= full.stats.states


def reduction_of(text: str, spec) -> tuple[Reduction, dict[str, int]]:
    model = load_model(spec(text), Options(), Sources())
    return Reduction(model), {t.name: t.index for t in model.threads}


def at(reduction: Reduction, **pcs: int) -> tuple:
    """The initial state with some threads moved to other pcs."""
    state = list(reduction.model.initial)
    for name, pc in pcs.items():
        state[next(t.pc_slot for t in reduction.threads if t.name == name)] = pc
    return tuple(state)


def entry(reduction: Reduction, t: int) -> int:
    return reduction.threads[t].entry


def independent(r: Reduction, t: int, u: int, **pcs: int) -> bool:
    return r.independent_in(at(r, **pcs), t, u)


# ---- the independence relation ----------------------------------------------------------------

def test_steps_on_other_slots_are_independent(spec):
    r, ids = reduction_of("bool a = false; bool b = false;\n"
                          "thread p { a = true; }\nthread q { b = true; }\n", spec)
    p, q = ids["p"], ids["q"]
    assert independent(r, p, q) and independent(r, q, p)


def test_a_write_and_a_read_of_one_slot_are_dependent(spec):
    r, ids = reduction_of("bool a = false; bool b = false;\n"
                          "thread p { a = true; }\nthread q { b = a; }\n", spec)
    p, q = ids["p"], ids["q"]
    assert not independent(r, p, q) and not independent(r, q, p)


def test_two_reads_of_one_slot_are_independent(spec):
    r, ids = reduction_of("bool a = false; bool b = false; bool c = false;\n"
                          "thread p { b = a; }\nthread q { c = a; }\n", spec)
    p, q = ids["p"], ids["q"]
    assert independent(r, p, q)


def test_a_step_depends_on_what_the_other_thread_does_later(spec):
    # q's first step touches nothing of p's, but q reads a later: p's write of a must wait,
    # until q has finished
    r, ids = reduction_of("bool a = false; bool b = false; bool c = false;\n"
                          "thread p { a = true; }\nthread q { b = true; c = a; }\n", spec)
    p, q = ids["p"], ids["q"]
    assert not independent(r, p, q)
    assert independent(r, p, q, q=r.threads[q].end)


def test_acquires_of_one_lock_are_dependent(spec):
    r, ids = reduction_of("lock l;\nthread p { acquire l; release l; }\nthread q { acquire l; release l; }\n", spec)
    p, q = ids["p"], ids["q"]
    assert not independent(r, p, q)


def test_an_acquire_reads_the_locks_its_thread_may_hold(spec):
    # p takes m while it may hold l (the lock-order check asks): q's taking l is dependent,
    # even though p's step itself only writes m
    r, ids = reduction_of("lock l; lock m;\n"
                          "thread p { acquire l; acquire m; release m; release l; }\n"
                          "thread q { acquire l; release l; }\n", spec)
    p, q = ids["p"], ids["q"]
    model = r.model
    take_m = next(e for e in model.edges if e.thread == p and e.acquires is not None and "m" in e.text)
    assert not independent(r, p, q, p=take_m.src)
    assert independent(r, p, q, p=take_m.src, q=r.threads[q].end)


def test_a_step_writing_an_invariant_slot_is_never_ample_alone(spec):
    r, ids = reduction_of("bool a = false; bool b = false;\n"
                          "bool c = false;\nthread p { a = true; }\nthread q { b = true; }\ninvariant i: !a || c;\n", spec)
    p = ids["p"]
    assert not r.candidate_in(at(r), p)
    assert r.candidate_in(at(r), ids["q"])


# ---- hand-counted reduced state spaces -------------------------------------------------------

def test_independent_threads_run_one_after_the_other(spec):
    # without reduction 4 x 4 = 16 states; with it, p runs to its end first (fewest
    # successors, then thread order), then q: 4 + 3 = 7
    path = spec("bool a = false; bool b = false; bool c = false; bool d = false; bool e = false; bool f = false;\n"
                "thread p { a = true; b = true; c = true; }\nthread q { d = true; e = true; f = true; }\n")
    full, reduced = both(path)
    assert (full.stats.states, reduced.stats.states) == (16, 7)
    assert_agree(full, reduced)


def test_a_violation_is_found_with_the_same_shortest_trace(spec):
    # p's and q's private steps are independent; p's write of a and q's assert are not
    path = spec("bool a = false; bool c = false; bool d = false;\n"
                "thread p { c = true; a = true; }\nthread q { d = true; assert !a; }\n")
    full, reduced = both(path)
    assert {p.name: p.verdict for p in full.properties}["assertion"] == "violated"
    assert reduced.stats.states < full.stats.states
    assert_agree(full, reduced)


def test_a_violation_found_deep_under_reduction_is_traced_by_the_shortest_path(spec):
    # r's private steps come first under reduction (thread order breaks the tie), so the
    # reduced search reaches q's failing assert only at depth 3 + 3; the re-search without
    # reduction prints the shortest trace, of 3 steps, as the full search does
    path = spec("bool e = false; bool f = false; bool g = false; bool d = false; bool x = false;\n"
                "thread r { e = true; f = true; g = true; }\n"
                "thread p { d = true; x = true; }\nthread q { assert !x; }\n")
    model = load_model(path, Options(), Sources())
    search = FrontierSearch(model, SearchLimits(reduction=True))
    search.run()
    assert search.found_at["assertion"][0] == 6
    full, reduced = both(path)
    assert {p.name: p.trace.length for p in full.properties if p.trace}["assertion"] == 3
    assert_agree(full, reduced)


def test_a_violation_is_told_once_at_its_smallest_depth(spec):
    # the reduced search meets q's assert at depth 6 (above); on_violation hears of it from
    # the search without reduction, at 3, the trace's length
    import lockcheck

    path = spec("bool e = false; bool f = false; bool g = false; bool d = false; bool x = false;\n"
                "thread r { e = true; f = true; g = true; }\n"
                "thread p { d = true; x = true; }\nthread q { assert !x; }\n")
    told: list[lockcheck.ViolationFound] = []
    result = lockcheck.verify(path, on_violation=told.append)
    lengths = {p.name: p.trace.length for p in result.properties if p.trace is not None}
    assert [(f.prop, f.depth) for f in told] == [("assertion", 3)] and lengths == {"assertion": 3}


def test_a_loop_behind_another_is_independent_of_it(spec):
    # both threads walk every cell, so by their code alone every step of one conflicts with
    # the other's future; from their positions (LocalAnalysis: the loop's counter and cell),
    # p's write to a cell q has passed is independent of q, and the states shrink
    path = spec("struct cell { bool v = false; bool w = false; }\ncell cells[3];\n"
                "thread p { for c in cells { c.v = true; } }\nthread q { for c in cells { c.w = c.v; } }\n")
    full, reduced = both(path)
    assert reduced.stats.states < full.stats.states
    assert_agree(full, reduced)


def test_a_deadlock_is_kept(spec):
    path = spec("lock l; lock m; bool a = false; bool b = false;\n"
                "thread p { a = true; acquire l; acquire m; release m; release l; }\n"
                "thread q { b = true; acquire m; acquire l; release l; release m; }\n")
    full, reduced = both(path)
    assert {p.name: p.verdict for p in full.properties}["deadlock"] == "violated"
    assert reduced.stats.states < full.stats.states
    assert_agree(full, reduced)


# ---- agreement --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_SPECS else p
                                  for p in SPECS], ids=[p.name for p in SPECS])
def test_every_spec_agrees(path):
    assert_agree(*both(str(path)))


@pytest.mark.parametrize("npages", [2, 3])
def test_the_spin_mirror_agrees(npages):
    for variant in ({}, {"UNLOCK_BEFORE_WB": "true"}, {"NO_WAIT_WB": "true"}):
        assert_agree(*both(str(MIRROR), {"NPAGES": str(npages), **variant}))


@pytest.mark.parametrize("name", sorted(TEST_MODELS))
def test_test_models_agree(spec, name):
    assert_agree(*both(spec(TEST_MODELS[name])))


@random_spec_settings(RANDOM_EXAMPLES)
@given(text=random_specs())
def test_random_specs_agree(tmp_path, text):
    assert_agree(*both(write_spec(tmp_path, text)))


@pytest.mark.slow
@random_spec_settings(RANDOM_EXAMPLES_SLOW)
@given(text=random_specs())
def test_many_random_specs_agree(tmp_path, text):
    assert_agree(*both(write_spec(tmp_path, text)))
