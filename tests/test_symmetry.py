"""Thread symmetry (lockcheck/symmetry.py, engines/explicit/canonical.py): which thread arrays
are found interchangeable and which are refused, state counts worked out by hand, and
agreement with the search that tells every instance apart (verdicts, traces, coverage) on
the shipped spec that has such a thread array and on random specs, with and without
partial-order reduction."""
from __future__ import annotations

import pytest
from hypothesis import given

from conftest import SPECS
from lockcheck.api import Options, load_model
from lockcheck.cli import main
from lockcheck.engines.explicit import SearchLimits, check_frontier
from lockcheck.errors import Sources
from lockcheck.symmetry import find_symmetries
from random_specs import random_spec_settings, symmetric_specs, write_spec
from test_reduction import assert_agree

RANDOM_EXAMPLES = 40
RANDOM_EXAMPLES_SLOW = 300
FAIRNESS = next(p for p in SPECS if p.name == "lock_page_fairness.lk")


def symmetries(path: str, defines: dict[str, str] | None = None) -> list[str]:
    model = load_model(path, Options(defines=defines or {}), Sources())
    return [s.describe() for s in find_symmetries(model)]


def states(path: str, symmetry: bool, reduction: bool = False, defines: dict[str, str] | None = None) -> int:
    model = load_model(path, Options(defines=defines or {}), Sources())
    result, _ = check_frontier(model, SearchLimits(reduction=reduction, symmetry=symmetry))
    return result.stats.states


def full_and_symmetric(path: str, defines: dict[str, str] | None = None, reduction: bool = False):
    model = load_model(path, Options(defines=defines or {}), Sources())
    full, _ = check_frontier(model, SearchLimits())
    reduced, _ = check_frontier(model, SearchLimits(reduction=reduction, symmetry=True))
    return full, reduced


# ---- what is found interchangeable ------------------------------------------------------------

def test_waiters_with_their_own_array_elements_are_interchangeable():
    assert symmetries(str(FAIRNESS)) == ["w[0..1] with ticket[], waiting[]"]
    assert symmetries(str(FAIRNESS), {"NWAITERS": "4"}) == ["w[0..3] with ticket[], waiting[]"]


def test_no_other_shipped_spec_has_interchangeable_threads():
    """bio_end[k] ends page k's writeback, and truncate visits the pages in order: renaming
    bio_end[0] and bio_end[1] would have to rename pages[0] and pages[1] too, which truncate tells apart."""
    assert {p.name for p in SPECS if symmetries(str(p))} == {"lock_page_fairness.lk"}


def test_an_instance_alone_is_a_group_of_one(spec):
    assert symmetries(spec("bool a; thread w[1] { a = true; } thread v { a = false; }")) == []


@pytest.mark.parametrize("body, why", [
    ("x = self;", "its own number as a value"),
    ("if (self == 0) { x = 1; }", "a test of its own number"),
    ("flags[0] = true; flags[1] = flags[self];", "the companion's elements in a fixed order, then its own"),
])
def test_instances_that_can_be_told_apart_are_refused(spec, body, why):
    assert symmetries(spec(f"int[0..2] x = 0; bool flags[2]; thread w[2] {{ {body} }}")) == [], why


def test_a_property_naming_one_instance_refuses_the_symmetry(spec):
    text = "lock l; thread w[2] { acquire l; release l; } invariant one: !held_by(l, w[0]);"
    assert symmetries(spec(text)) == []
    assert symmetries(spec(text.replace("invariant one: !held_by(l, w[0]);", ""))) == ["w[0..1]"]


def test_an_array_the_others_index_in_order_does_not_go_with_the_instances(spec):
    """w[k] writes flags[k], but `reader` reads flags[0] first: the instances are alike only
    with flags kept where it is, and w[k] then differs from w[j] in what it writes. Refused."""
    text = "bool flags[2]; bool seen; thread w[2] { flags[self] = true; } thread reader { seen = flags[0]; }"
    assert symmetries(spec(text)) == []


def test_a_computed_index_into_a_companion_is_refused(spec):
    """flags[i] may be any instance's element: renaming the instances cannot say which."""
    text = "int[0..1] i = 0; bool flags[2]; thread w[2] { flags[self] = true; flags[i] = false; }"
    assert symmetries(spec(text)) == []
    assert symmetries(spec(text.replace("flags[i] = false;", "flags[self] = false;"))) == ["w[0..1] with flags[]"]


# ---- state counts by hand ---------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3, 4])
def test_counters_count_only_how_many_finished(spec, k):
    """K instances, each one step on a shared int: without symmetry every subset of finished
    instances is a state (2^K); up to symmetry only how many finished (K + 1)."""
    path = spec(f"int[0..{k}] n = 0; thread w[{k}] {{ atomic {{ n = n + 1; }} }}")
    assert states(path, symmetry=False) == 2 ** k
    assert states(path, symmetry=True) == k + 1


@pytest.mark.parametrize("k", [2, 3])
def test_lock_holders_are_renamed_with_their_threads(spec, k):
    """acquire l; release l: each instance before, holding or done, at most one holding:
    2^K + K * 2^(K-1) states; up to symmetry (before, done, holding) counts with holding
    0 or 1: (K + 1) + K. The lock's owner must be renamed with the instances, or the
    holding instance would be confused with another."""
    path = spec(f"lock l; thread w[{k}] {{ acquire l; release l; }}")
    assert states(path, symmetry=False) == 2 ** k + k * 2 ** (k - 1)
    assert states(path, symmetry=True) == 2 * k + 1


def test_waitqueue_places_move_with_their_threads(spec):
    """Two sleepers woken one at a time by `waker`: the verdict and trace of the deadlock
    (a sleeper nobody wakes) are those of the full search, in fewer states."""
    text = ("waitqueue q; bool go; int[0..2] woken = 0;\n"
            "thread w[2] { prepare_to_wait_exclusive(q); schedule(q); woken = woken + 1; }\n"
            "thread waker { wake_up(q); }\n")
    full, reduced = full_and_symmetric(spec(text))
    assert symmetries(spec(text)) == ["w[0..1]"]
    assert reduced.stats.states < full.stats.states
    assert_agree(full, reduced)


def test_the_order_of_exclusive_waiters_is_renamed_with_them(spec):
    """tests/test_idioms.py's two exclusive waiters (11 states in all, by hand there): with the
    waker at its await, (A,A), (S,A) = (A,S), and (S,S) in either order = one class; then the
    waker past it, the first in line woken, and it finished: 6 classes, 6 steps between them
    ((A,A) has two, into one class)."""
    text = ("waitqueue wq; int[0..2] queued = 0;\n"
            "thread w[2] { atomic { prepare_to_wait_exclusive(wq); queued = queued + 1; } schedule(wq); }\n"
            "thread waker { await queued == 2; wake_up(wq); }\n")
    model = load_model(spec(text), Options(), Sources())
    result, _ = check_frontier(model, SearchLimits(symmetry=True))
    assert (result.stats.states, result.stats.transitions) == (6, 6)
    full, _ = check_frontier(model, SearchLimits())
    assert (full.stats.states, full.stats.transitions) == (11, 10)


# ---- agreement --------------------------------------------------------------------------------

@pytest.mark.parametrize("waiters", ["2", "3"])
@pytest.mark.parametrize("fixed", ["false", "true"])
@pytest.mark.parametrize("reduction", [False, True])
def test_lock_page_fairness_agrees(waiters, fixed, reduction):
    full, reduced = full_and_symmetric(str(FAIRNESS), {"NWAITERS": waiters, "FIXED": fixed}, reduction)
    assert reduced.stats.states < full.stats.states
    assert reduced.stats.symmetry == (f"w[0..{int(waiters) - 1}] with ticket[], waiting[]",)
    assert_agree(full, reduced)


def assert_symmetry_agrees(path: str) -> None:
    full, _ = full_and_symmetric(path)
    for reduction in (False, True):
        assert_agree(full, full_and_symmetric(path, reduction=reduction)[1])


@random_spec_settings(RANDOM_EXAMPLES)
@given(text=symmetric_specs())
def test_random_symmetric_specs_agree(tmp_path, text):
    assert_symmetry_agrees(write_spec(tmp_path, text))


@pytest.mark.slow
@random_spec_settings(RANDOM_EXAMPLES_SLOW)
@given(text=symmetric_specs())
def test_many_random_symmetric_specs_agree(tmp_path, text):
    assert_symmetry_agrees(write_spec(tmp_path, text))


def test_no_symmetry_on_the_command_line(capsys):
    assert main(["verify", "-D", "NWAITERS=3", str(FAIRNESS)]) == 0
    with_symmetry = capsys.readouterr().out
    assert main(["verify", "--no-symmetry", "-D", "NWAITERS=3", str(FAIRNESS)]) == 0
    without = capsys.readouterr().out
    assert "up to the symmetry of w[0..2] with ticket[], waiting[]" in with_symmetry
    assert "symmetry" not in without
    trace = [line for line in with_symmetry.splitlines() if "states" not in line]
    assert trace == [line for line in without.splitlines() if "states" not in line]
