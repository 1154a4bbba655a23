"""The step semantics on small models whose state and transition counts were worked out by
hand (the derivations are in the comments)."""
from conftest import run, run_full, verdicts

UNLOCKED = """
int[0..2] counter = 0;
thread inc[2] {
    int[0..2] tmp = counter;
    counter = tmp + 1;
}
"""

LOCKED = """
int[0..2] counter = 0;
lock m;
thread inc[2] {
    acquire m;
    int[0..2] tmp = counter;
    counter = tmp + 1;
    release m;
}
"""

ABBA = """
lock a;
lock b;
thread t1 { acquire a; acquire b; release b; release a; }
thread t2 { acquire b; acquire a; release a; release b; }
"""


def test_unlocked_increment_counts(spec):
    # Each thread: read (tmp = counter), write (counter = tmp + 1), done. By depth:
    # 1 initial; 2 after one read; 3 at depth 2 (one thread done with counter 1 twice, both
    # read 0); 4 at depth 3; 2 final states (counter 2 and the lost update, counter 1) = 12.
    # Transitions: 2 + 4 + 4 + 4 = 14.
    result = run_full(spec(UNLOCKED))
    assert (result.stats.states, result.stats.transitions, result.stats.max_depth) == (12, 14, 4)


def test_unlocked_increment_loses_an_update(spec):
    path = spec(UNLOCKED.replace("counter = tmp + 1;", "counter = tmp + 1;\n    done[self] = true;")
                .replace("thread inc", "bool done[2];\nthread inc") +
                "thread check { await done[0] && done[1]; assert counter == 2, \"lost update\"; }\n")
    result = run(path)
    assert verdicts(result)["assertion"] == "violated"
    prop = next(p for p in result.properties if p.name == "assertion")
    assert prop.trace is not None and prop.trace.steps[-1].failed.endswith("lost update")
    # both reads come before both writes; each inc also sets its done flag (3 steps each),
    # then check awaits and asserts: 3 + 3 + 2 = 8
    assert prop.trace.length == 8


def test_locked_increment_counts(spec):
    # With the lock one thread runs acquire, read, write, release (4 steps, the lock keeps the
    # other out) and then the other does. States: the initial one, 7 after each of 2 choices
    # of the first thread = 14, the final one: 16. Each state but the first and the last has
    # exactly one move: 14 + 2 = 16 transitions; depth 8.
    result = run_full(spec(LOCKED))
    assert (result.stats.states, result.stats.transitions, result.stats.max_depth) == (16, 16, 8)


def test_abba_counts_and_verdicts(spec):
    # pcs 0..4 per thread; (p1, p2) pairs where both would hold a lock are impossible:
    # (1,2) (2,1) (2,2) (2,3) (3,2); (3,3) is unreachable. 25 - 6 = 19 states.
    # t1's moves: 4 at p1=0, 2 at p1=1, 2 at p1=2, 3 at p1=3 = 11; t2 the same: 22.
    result = run(spec(ABBA))
    assert (result.stats.states, result.stats.transitions) == (19, 22)
    v = verdicts(result)
    assert v["deadlock"] == "violated"
    assert v["lock_order"] == "violated"
    deadlock = next(p for p in result.properties if p.name == "deadlock")
    assert deadlock.trace is not None and deadlock.trace.length == 2
    assert {ts.status for ts in deadlock.trace.final} == {"blocked"}


def test_lock_order_cycle_reported_without_reachable_deadlock(spec):
    # t1 takes a then b; t2 takes b then a, but only after t1 has finished: the deadlock
    # cannot happen, the inverted order is still reported (as lockdep would).
    path = spec("""
lock a; lock b; bool t1_done = false;
thread t1 { acquire a; acquire b; release b; release a; t1_done = true; }
thread t2 { await t1_done; acquire b; acquire a; release a; release b; }
""")
    result = run(path)
    v = verdicts(result)
    assert v["deadlock"] == "holds"
    assert v["lock_order"] == "violated"
    prop = next(p for p in result.properties if p.name == "lock_order")
    assert {(e.held, e.acquired) for e in prop.cycle} == {("a", "b"), ("b", "a")}
    assert {e.span.line for e in prop.cycle} == {3, 4}


def test_condition_on_shared_state_is_its_own_step(spec):
    # check-then-act: the if reads x, then the write happens in a later step, so the other
    # thread can slip in between and both enter.
    path = spec("""
int[0..2] inside = 0;
bool taken = false;
thread t[2] {
    if (!taken) {
        taken = true;
        inside = inside + 1;
    }
}
invariant mutual_exclusion: inside <= 1;
""")
    assert verdicts(run(path))["mutual_exclusion"] == "violated"


def test_atomic_test_and_set_is_one_step(spec):
    path = spec("""
int[0..2] inside = 0;
bool taken = false;
thread t[2] {
    bool mine = false;
    atomic { if (!taken) { taken = true; mine = true; } }
    if (mine) { inside = inside + 1; }
}
invariant mutual_exclusion: inside <= 1;
""")
    assert verdicts(run(path))["mutual_exclusion"] == "holds"


def test_blocked_atomic_is_not_enabled(spec):
    # the atomic block cannot finish (it awaits a flag nobody sets), so the thread never
    # moves at all: its first write does not happen, and the run ends in deadlock.
    path = spec("""
bool flag = false; bool wrote = false;
thread t { atomic { wrote = true; await flag; } }
invariant never_wrote: !wrote;
""")
    v = verdicts(run(path))
    assert v["never_wrote"] == "holds"
    assert v["deadlock"] == "violated"


def test_choose_explores_every_branch(spec):
    # 1 initial state, 3 after the choice (one per branch), and each branch's assignment
    # gives a distinct final state: 1 + 3 + 3 = 7.
    path = spec("""
int[0..3] x = 0;
thread t { choose { x = 1; } or { x = 2; } or { x = 3; } }
""")
    assert run(path).stats.states == 7


def test_calls_are_inlined_and_locals_are_not_steps(spec):
    # The proc's local arithmetic runs with the step before it: the only visible steps are
    # the two writes to the global.
    path = spec("""
int[0..9] g = 0;
proc bump(int[0..9] by) { int[0..9] twice = by + by; g = twice; }
thread t { bump(2); bump(3); }
""")
    result = run(path)
    assert (result.stats.states, result.stats.transitions) == (3, 2)
