"""Thread and object symmetry (lockcheck/symmetry.py, engines/explicit/canonical.py): which
thread arrays and object arrays are found interchangeable and which are refused, state counts
worked out by hand, and agreement with the search that tells every instance apart (verdicts,
traces, coverage) on the shipped specs that have such arrays and on random specs, with and
without partial-order reduction."""
from __future__ import annotations

from itertools import permutations, product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SPECS
from lockcheck.api import Options, load_model
from lockcheck.cli import main
from lockcheck.engines.system import TransitionSystem
from lockcheck.engines.explicit import SearchLimits, check_frontier
from lockcheck.errors import Sources
from lockcheck.symmetry import ObjectSymmetry, ThreadSymmetry, find_symmetries, object_refusal
from random_specs import random_spec_settings, symmetric_specs, write_spec
from test_reduction import assert_agree

RANDOM_EXAMPLES = 40
RANDOM_EXAMPLES_SLOW = 300
FAIRNESS = next(p for p in SPECS if p.name == "lock_page_fairness.lk")
LRU = SPECS[0].parent.parent / "tests" / "data" / "lru_isolate.lk"   # a test model, not a shipped spec


def symmetries(path: str, defines: dict[str, str] | None = None) -> list[str]:
    """The thread symmetries found."""
    model = load_model(path, Options(defines=defines or {}), Sources())
    return [s.describe() for s in find_symmetries(model) if isinstance(s, ThreadSymmetry)]


def object_symmetries(path: str, defines: dict[str, str] | None = None) -> list[str]:
    model = load_model(path, Options(defines=defines or {}), Sources())
    return [s.describe() for s in find_symmetries(model) if isinstance(s, ObjectSymmetry)]


def refusal(path: str, array: str = "pages") -> str | None:
    return object_refusal(load_model(path, Options(), Sources()), array)


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


# random specs of both kinds (threads interchangeable; objects interchangeable), drawn in the test
KINDS = pytest.mark.parametrize("kind", ["threads", "objects"])


def _draw(data, kind: str) -> str:
    specs = {"threads": symmetric_specs(), "objects": object_specs(), "both": object_specs(array=True)}
    return data.draw(specs[kind])


@KINDS
@random_spec_settings(RANDOM_EXAMPLES)
@given(data=st.data())
def test_random_symmetric_specs_agree(tmp_path, kind, data):
    assert_symmetry_agrees(write_spec(tmp_path, _draw(data, kind)))


@pytest.mark.slow
@KINDS
@random_spec_settings(RANDOM_EXAMPLES_SLOW)
@given(data=st.data())
def test_many_random_symmetric_specs_agree(tmp_path, kind, data):
    assert_symmetry_agrees(write_spec(tmp_path, _draw(data, kind)))


def test_no_symmetry_on_the_command_line(capsys):
    assert main(["verify", "-D", "NWAITERS=3", str(FAIRNESS)]) == 0
    with_symmetry = capsys.readouterr().out
    assert main(["verify", "--no-symmetry", "-D", "NWAITERS=3", str(FAIRNESS)]) == 0
    without = capsys.readouterr().out
    assert "up to the symmetry of w[0..2] with ticket[], waiting[]" in with_symmetry
    assert "symmetry" not in without
    trace = [line for line in with_symmetry.splitlines() if "states" not in line]
    assert trace == [line for line in without.splitlines() if "states" not in line]


# ---- object symmetry: what is found interchangeable -------------------------------------------

PAGE = "struct page { lock locked; bool lru = true; bool dirty = false; }\npage pages[3];\n"


def test_reclaimers_taking_any_page_make_the_pages_interchangeable():
    """tests/data/lru_isolate.lk: every thread picks its page by `choose p in pages`; the
    reclaimers are a thread array besides, and both symmetries are used at once."""
    model = load_model(str(LRU), Options(), Sources())
    assert [s.describe() for s in find_symmetries(model)] == ["reclaim[0..1]", "pages[0..2]"]
    assert object_symmetries(str(LRU), {"NPAGES": "5"}) == ["pages[0..4]"]


def test_no_shipped_spec_has_interchangeable_objects():
    """In specs/ pages are named by index (bio_end[k] ends pages[k]), visited in order (for p
    in pages) or set up apart (init: pages[0] pinned, pages[1] delalloc)."""
    assert {p.name for p in SPECS if object_symmetries(str(p))} == set()


def test_an_array_no_step_touches_is_left_alone(spec):
    """Its elements are interchangeable, but sorting them would gain nothing."""
    path = spec(PAGE + "bool g; thread a { g = true; }")
    assert object_symmetries(path) == [] and refusal(path) is None


@pytest.mark.parametrize("body, why", [
    ("pages[0].dirty = true;", "a literal index"),
    ("for p in pages { p.dirty = true; }", "a loop visiting the elements in order"),
    ("int[0..2] i = 0; choose { i = 1; } or { skip; } pages[i].dirty = true;", "an index computed from an int"),
    ("int[0..2] i = 0; choose p in pages { i = index_of(p); }", "the element's index as a number"),
    ("choose p in pages { p.dirty = true; } await !pages[2].dirty;", "a choice, then a literal index"),
])
def test_elements_that_can_be_told_apart_are_refused(spec, body, why):
    path = spec(PAGE + f"thread a {{ {body} }}")
    assert object_symmetries(path) == [], why
    assert refusal(path) is not None, why


def test_elements_that_start_apart_are_refused(spec):
    text = PAGE.replace("page pages[3];", "page pages[3];\ninit { pages[1].dirty = true; }") + \
        "thread a { choose p in pages { p.lru = false; } }"
    assert object_symmetries(spec(text)) == []
    assert refusal(spec(text)) == "the init block's steps tell the elements of pages apart"
    text = "bool pinned[3] = {true, false, false};\nthread a { choose p in pinned { p = false; } }"
    assert object_symmetries(spec(text)) == [] and "start alike" in refusal(spec(text), "pinned")
    assert object_symmetries(spec(text.replace("{true, false, false}", "true"))) == ["pinned[0..2]"]


def test_a_property_naming_one_element_refuses_the_symmetry(spec):
    text = PAGE + "thread a { choose p in pages { p.dirty = true; } }\n"
    assert object_symmetries(spec(text)) == ["pages[0..2]"]
    assert object_symmetries(spec(text + "invariant all: forall p in pages: !p.dirty || !p.lru;")) == ["pages[0..2]"]
    named = spec(text + "invariant one: !pages[0].dirty;")
    assert object_symmetries(named) == [] and "invariant one" in refusal(named)


def test_a_reference_to_one_element_refuses_the_symmetry(spec):
    """bio_end[k] is handed pages[k] alone: its reference cannot be renamed with the others."""
    text = PAGE + ("proc dirty(page p) { p.dirty = true; }\n"
                   "thread a { choose p in pages { p.lru = false; } } thread b { dirty(pages[1]); }")
    assert object_symmetries(spec(text)) == []
    assert "some elements" in refusal(spec(text)) or "tell" in refusal(spec(text))


# ---- object symmetry: state counts by hand -----------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 4])
def test_one_choice_of_n_pages(spec, n):
    """One thread clears the flag of any one of N pages: before (1), chosen page k (N), done
    with page k cleared (N): 2N + 1 states; up to the renaming of the pages 3."""
    path = spec(f"struct page {{ bool lru = true; }}\npage pages[{n}];\n"
                "thread r { choose p in pages { p.lru = false; } }")
    assert states(path, symmetry=False) == 2 * n + 1
    assert states(path, symmetry=True) == 3


@pytest.mark.parametrize("n", [2, 3])
def test_the_lock_inside_the_element_moves_with_it(spec, n):
    """acquire, release the lock of any page: before, chosen k, holding k's lock, done (all
    free again, the reference reset): 2N + 2; up to symmetry 4."""
    path = spec(f"struct page {{ lock locked; }}\npage pages[{n}];\n"
                "thread r { choose p in pages { acquire p.locked; release p.locked; } }")
    assert states(path, symmetry=False) == 2 * n + 2
    assert states(path, symmetry=True) == 4


def test_two_choices_count_how_the_picks_overlap(spec):
    """Two threads each clear the flag of any of 3 pages, in one step each (atomic): a state is
    which pages each has cleared; up to renaming the pages only whether a thread has cleared one,
    and whether the two cleared the same: (none), (a), (b), (a, b same), (a, b apart) = 5;
    without: 1 + 3 + 3 + 3 (same) + 6 (apart) = 16."""
    text = ("struct page { bool lru = true; bool by_a = false; bool by_b = false; }\npage pages[3];\n"
            "thread a { choose p in pages { atomic { p.lru = false; p.by_a = true; } } }\n"
            "thread b { choose p in pages { atomic { p.lru = false; p.by_b = true; } } }\n")
    path = spec(text)
    # the choice itself is a step: add the states where a thread has chosen but not cleared
    full, sym = states(path, symmetry=False), states(path, symmetry=True)
    model = load_model(path, Options(), Sources())
    assert object_symmetries(path) == ["pages[0..2]"] and len(model.threads) == 2
    # each thread: before, chosen k, done with k -> pairs (x, y); classes by equality pattern
    # full: (1 + 3 + 3)^2 = 49; up to renaming: pairs over {before, chosen, done} x same/apart:
    # 1 (before, before) + 2*2 (one before, the other chosen/done) + 4 * 2 (both past the
    # choice, same page or not) = 13
    assert (full, sym) == (49, 13)


# ---- the classes counted by renaming every reachable state ------------------------------------

def rename(state: list[int], syms: list, perms: tuple) -> tuple[int, ...]:
    """`state` (its slots) renamed: for each symmetry, instance or element i goes to place
    perm[i]; lock holders and references renamed with them."""
    s = list(state)
    for sym, perm in zip(syms, perms):
        if isinstance(sym, ThreadSymmetry):
            holder = {t + 1: sym.threads[perm[i]] + 1 for i, t in enumerate(sym.threads)}
            for slot in sym.lock_slots:
                s[slot] = holder.get(s[slot], s[slot])
            moved = list(s)
            for i, block in enumerate(sym.blocks):
                for a, b in zip(block, sym.blocks[perm[i]]):
                    moved[b] = s[a]
        else:
            def address(v: int, sym=sym, perm=perm) -> int:
                if not sym.contains(v):
                    return v
                k, off = divmod(v - sym.base, sym.stride)
                return sym.base + perm[k] * sym.stride + off
            for slot in sym.refs:
                s[slot] = address(s[slot])
            moved = list(s)
            for slot in range(sym.base, sym.base + sym.count * sym.stride):
                moved[address(slot)] = s[slot]
        s = moved
    return tuple(s)


def classes(path: str, defines: dict[str, str] | None = None) -> tuple[int, int]:
    """(reachable states, classes of them up to every renaming of the model's symmetries),
    counted by brute force: each state is renamed by every member of the group (the
    product of all permutations of every symmetry) and the least renaming names its class."""
    model = load_model(path, Options(defines=defines or {}), Sources())
    syms = find_symmetries(model)
    group = list(product(*(permutations(range(len(s.threads) if isinstance(s, ThreadSymmetry) else s.count))
                           for s in syms)))
    reached = TransitionSystem(model).reach(max_states=200_000)
    assert not reached.limit
    n = len(model.slots)
    return len(reached.states), len({min(rename(list(st_[:n]), syms, g) for g in group) for st_ in reached.states})


@pytest.mark.parametrize("npages", ["2", "3"])
@pytest.mark.parametrize("fixed", ["false", "true"])
def test_one_state_per_class_with_threads_and_objects_interchangeable(npages, fixed):
    """tests/data/lru_isolate.lk: reclaim[0..1] and pages[] at once; the search up to symmetry
    stores exactly one state per class (a thread sort followed by an element sort stored
    several for some: a thread's signature holds the number of the page it points to)."""
    defines = {"NPAGES": npages, "FIXED": fixed}
    full, count = classes(str(LRU), defines)
    assert states(str(LRU), symmetry=False, defines=defines) == full
    assert states(str(LRU), symmetry=True, defines=defines) == count


@pytest.mark.parametrize("npages", ["3", "4", "6"])
def test_pages_no_thread_reaches_add_no_classes(npages):
    """Three threads each touch one page: from NPAGES=3 on, more pages add states but no classes."""
    assert states(str(LRU), symmetry=True, defines={"NPAGES": npages}) == \
        states(str(LRU), symmetry=True, defines={"NPAGES": "3"})


def test_one_state_per_class_of_waiters():
    full, count = classes(str(FAIRNESS), {"NWAITERS": "3"})
    assert states(str(FAIRNESS), symmetry=False, defines={"NWAITERS": "3"}) == full
    assert states(str(FAIRNESS), symmetry=True, defines={"NWAITERS": "3"}) == count


@pytest.mark.parametrize("kind", ["threads", "objects", "both"])
@random_spec_settings(RANDOM_EXAMPLES // 2)
@given(data=st.data())
def test_random_symmetric_specs_store_one_state_per_class(tmp_path, kind, data):
    path = write_spec(tmp_path, _draw(data, kind))
    full, count = classes(path)
    assert states(path, symmetry=False) == full
    assert states(path, symmetry=True) == count


# ---- object symmetry: agreement ----------------------------------------------------------------

@pytest.mark.parametrize("npages", ["2", "3"])
@pytest.mark.parametrize("fixed", ["false", "true"])
@pytest.mark.parametrize("reduction", [False, True])
def test_lru_isolate_agrees(npages, fixed, reduction):
    full, reduced = full_and_symmetric(str(LRU), {"NPAGES": npages, "FIXED": fixed}, reduction)
    assert reduced.stats.states < full.stats.states
    assert reduced.stats.symmetry == ("reclaim[0..1]", f"pages[0..{int(npages) - 1}]")
    assert_agree(full, reduced)
    assert {p.name: p.verdict for p in reduced.properties}["bug"] == ("violated" if fixed == "false" else "holds")


def test_a_lock_order_cycle_through_two_members_of_an_orbit(spec):
    """x takes any page's lock, then any other's: the full search sees pages[0] then pages[1]
    and pages[1] then pages[0]; up to symmetry one of the two, so the pairs are closed under
    the renaming before the cycle is looked for (else lock_order would wrongly hold)."""
    text = ("struct page { lock locked; bool lru = true; }\npage pages[2];\n"
            "thread x { choose p in pages { when p.lru; p.lru = false; acquire p.locked;\n"
            "  choose q in pages { when q.lru; acquire q.locked; release q.locked; } release p.locked; } }\n")
    path = spec(text)
    assert object_symmetries(path) == ["pages[0..1]"]
    full, reduced = full_and_symmetric(path)
    assert {p.name: p.verdict for p in full.properties}["lock_order"] == "violated"
    assert_agree(full, reduced)


@st.composite
def object_specs(draw: st.DrawFn, array: bool = False) -> str:
    """Two threads over K objects, each picking objects by `choose ... in` (sometimes guarded)
    and working on the one picked; now and then a statement or an invariant that tells the
    objects apart (the symmetry must then be refused). `array`: the threads are the two
    instances of one thread array (interchangeable too, unless a statement tells them apart)."""
    k = draw(st.integers(2, 3))
    lines = [f"struct obj {{ lock l; bool a = {draw(st.sampled_from(['true', 'false']))}; bool b = false; }}",
             f"obj objs[{k}];", "bool g = false;", "int[0..3] x = 0;"]
    on_p = st.sampled_from(["p.a = true;", "p.a = false;", "p.b = !p.a;", "g = p.b;", "x = x + 1;",
                            "await p.a || g;", "assert !p.b || p.a || g;", "if (p.b) { g = true; }",
                            "atomic { p.b = true; p.a = false; }", "acquire p.l; p.b = true; release p.l;",
                            "acquire p.l; g = !g; release p.l;"])
    guard = st.sampled_from(["", "when p.a; ", "when !p.b; ", "when g; "])
    choice = st.tuples(guard, st.lists(on_p, min_size=1, max_size=3)).map(
        lambda gb: f"choose p in objs {{ {gb[0]}{' '.join(gb[1])} }}")
    other = st.sampled_from(["g = !g;", "skip;", "await g;", "x = 0;"])
    apart = st.sampled_from(["objs[0].a = true;", "for q in objs { q.b = true; }", "await !objs[1].b;"])
    for name in (["t[2]"] if array else ["t0", "t1"]):
        body = draw(st.lists(st.one_of(choice, choice, other), min_size=1, max_size=3))
        if draw(st.integers(0, 4)) == 0:
            body.insert(draw(st.integers(0, len(body))), draw(apart))
        lines.append(f"thread {name} {{ {' '.join(body)} }}")
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["invariant p0: forall q in objs: q.b -> q.a || g;",
                                           "invariant p1: exists q in objs: !q.b || x < 2;",
                                           "invariant p2: !objs[0].b || g;"])))
    return "\n".join(lines) + "\n"




def test_object_symmetry_on_the_command_line(capsys):
    assert main(["verify", str(LRU)]) == 0
    with_symmetry = capsys.readouterr().out
    assert main(["verify", "--no-symmetry", str(LRU)]) == 0
    without = capsys.readouterr().out
    assert "up to the symmetry of reclaim[0..1]; pages[0..2]" in with_symmetry
    assert "symmetry" not in without
    assert main(["verify", "-D", "FIXED=false", str(LRU)]) == 0
    bug = capsys.readouterr().out
    assert main(["verify", "--no-symmetry", "-D", "FIXED=false", str(LRU)]) == 0
    assert [line for line in bug.splitlines() if "states" not in line] == \
        [line for line in capsys.readouterr().out.splitlines() if "states" not in line]
