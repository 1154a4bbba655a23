"""The kernel idioms of the language (docs/language.md, "Kernel idioms"): expectations per
variant, BUG_ON, guarded choice, end states, held_by, waitqueues, extend struct, index_of
and refcounts. Each on a small model whose states and transitions were counted by hand
(the derivations are in the comments), and each model across the three engines."""
from __future__ import annotations

import pytest

from conftest import cli, run, run_full, verdicts
from test_engines_agree import cross_check as symbolic_cross_check
from test_frontier import assert_agree


def cross_check(path: str, **kwargs) -> None:
    """bmc and induction against the explicit engine, and the frontier engine against it."""
    symbolic_cross_check(path, **kwargs)
    assert_agree(path)


def counts(result) -> tuple[int, int]:
    return result.stats.states, result.stats.transitions


# ---- expectations per variant -----------------------------------------------------------

VARIANT = """
const FIXED = false;
bool x = false;
thread t { x = true; BUG_ON(x && !FIXED, "x set"); x = false; }
expect violation bug when !FIXED;
expect holds bug when FIXED;
"""


def test_an_expectation_applies_only_where_its_condition_holds(spec):
    path = spec(VARIANT)
    assert cli("verify", "-q", path)[0] == 0
    assert cli("verify", "-q", "-D", "FIXED=true", path)[0] == 0
    assert verdicts(run(path))["bug"] == "violated"
    assert verdicts(run(path, FIXED=True))["bug"] == "holds"


def test_two_expectations_that_both_apply_are_an_error(spec):
    path = spec(VARIANT.replace("when FIXED;", "when true;"))
    code, _, err = cli("verify", path)
    assert code == 2 and "two expect lines that apply" in err


def test_the_condition_of_an_expectation_is_a_constant_bool(spec):
    code, _, err = cli("verify", spec(VARIANT.replace("when FIXED;", "when x;")))
    assert code == 2 and "not a constant" in err
    code, _, err = cli("verify", spec(VARIANT.replace("when FIXED;", "when 1;")))
    assert code == 2 and "constant bool" in err


# ---- BUG_ON -------------------------------------------------------------------------------

BUG = """
bool x = false;
thread t { x = true; BUG_ON(x); assert !x, "after the oops"; }
thread u { await x; x = false; }
"""


def test_bug_on_ends_the_run_there_so_nothing_after_it_is_reported(spec):
    # t: x = true (1), BUG_ON (2), assert (3); u: await x (1), x = false (2).
    # States: (t0,u0) initial; t sets x: (t1,u0,x); u awaits: (t1,u1,x); u clears: (t1,u2,!x);
    # t's BUG_ON passes only with x false: (t2,u2) -> assert -> (t3,u2). From (t1,u0) and
    # (t1,u1) the BUG_ON fails and that path ends, so its successor is not a state.
    # States: (t0,u0) (t1,u0) (t1,u1) (t1,u2) (t2,u2) (t3,u2) = 6; transitions: 1 + 1 + 1 + 1 + 1 = 5.
    result = run(spec(BUG))
    v = verdicts(result)
    assert v["bug"] == "violated" and v["assertion"] == "holds"
    assert counts(result) == (6, 5)
    bug = next(p for p in result.properties if p.name == "bug")
    assert bug.trace.length == 2 and "BUG_ON(x)" in bug.trace.steps[-1].failed


def test_bug_on_across_engines(spec):
    cross_check(spec(BUG))
    cross_check(spec(VARIANT))


# ---- guarded choice -------------------------------------------------------------------------

GUARDED = """
bool a = false;
bool b = false;
thread chooser { choose { when a; } or { when b; } }
thread setter { choose { a = true; } or { b = true; } }
"""


def test_a_guarded_branch_is_chosen_only_when_its_guard_holds(spec):
    # setter: its choice (1 step), then its store (1 step); chooser: one step, enabled once a
    # or b is set. States: initial; setter chose a or b (2); set a or b (2); chooser done
    # after either (2) = 7. Transitions: 2 + 1 + 1 + 1 + 1 = 6. Never a deadlock.
    result = run(spec(GUARDED))
    assert counts(result) == (7, 6)
    assert verdicts(result)["deadlock"] == "holds"


def test_an_await_after_the_choice_commits_and_can_deadlock(spec):
    result = run(spec(GUARDED.replace("when a;", "await a;").replace("when b;", "await b;")))
    assert verdicts(result)["deadlock"] == "violated"


def test_when_elsewhere_is_an_error(spec):
    code, _, err = cli("verify", spec("bool a; thread t { skip; when a; }"))
    assert code == 2 and "first statement" in err


def test_guarded_choice_across_engines(spec):
    cross_check(spec(GUARDED))


# ---- end states ---------------------------------------------------------------------------

END = """
bool go = false;
thread completion { end: await go; }
thread main { skip; }
"""


def test_a_thread_resting_at_an_end_label_is_no_deadlock(spec):
    # completion: at its await it can also rest for good (one step to its end); main: skip.
    # States: (c0,m0) (c0,m1) (c1,m0) (c1,m1) = 4; transitions: 2 + 1 + 1 = 4.
    result = run_full(spec(END))
    assert counts(result) == (4, 4)
    assert verdicts(result)["deadlock"] == "holds"
    assert verdicts(run(spec(END.replace("end: ", ""))))["deadlock"] == "violated"


def test_another_thread_blocked_is_still_a_deadlock(spec):
    path = spec(END.replace("thread main { skip; }", "thread main { await go; }"))
    assert verdicts(run(path))["deadlock"] == "violated"


def test_end_states_across_engines(spec):
    cross_check(spec(END))
    cross_check(spec(END.replace("thread main { skip; }", "thread main { await go; }")))


# ---- held_by -----------------------------------------------------------------------------

HELD_BY = """
lock m;
bool inside = false;
thread a { acquire m; inside = true; inside = false; release m; }
thread b { acquire m; release m; }
invariant a_holds: inside -> held_by(m, a);
invariant b_holds: inside -> held_by(m, b);
expect violation b_holds;
"""


def test_an_invariant_can_say_which_thread_holds_a_lock(spec):
    v = verdicts(run(spec(HELD_BY)))
    assert v["a_holds"] == "holds" and v["b_holds"] == "violated"
    cross_check(spec(HELD_BY))


def test_held_by_names_a_thread(spec):
    code, _, err = cli("verify", spec(HELD_BY.replace("held_by(m, b)", "held_by(m, c)")))
    assert code == 2 and "no thread 'c'" in err


# ---- waitqueues --------------------------------------------------------------------------

WAIT = """
waitqueue wq;
bool cond = false;
thread waiter { wait_event(wq, cond); }
thread waker { cond = true; wake_up(wq); }
"""


def test_wait_event_sleeps_until_woken_and_rechecks(spec):
    # waiter pcs: Q (queue and test cond, one step), Z (schedule), D (done); waker: 0 (before
    # cond = true), 1 (before wake_up), 2 (done). The waiter's slot in wq is 1 from a false
    # test until wake_up clears it.
    # waker 0 (cond false): Q Z(1)               = 2 states, 3 moves
    # waker 1 (cond true):  Q Z(1) D             = 3 states, 4 moves
    # waker 2 (woken):      Q Z(0) D             = 3 states, 2 moves (Z -> Q, Q -> D)
    result = run(spec(WAIT))
    assert counts(result) == (8, 9) and result.stats.max_depth == 3
    assert verdicts(result)["deadlock"] == "holds"


def test_a_condition_set_without_wake_up_is_a_lost_wakeup(spec):
    # with waker: cond = true only, a waiter that tested before the store sleeps for good:
    # 2 states before the store (3 moves), 3 after it (Q Z D; Q -> D: 1 move), Z stuck
    result = run(spec(WAIT.replace(" wake_up(wq);", "")))
    assert counts(result) == (5, 4)
    assert verdicts(result)["deadlock"] == "violated"


HAND_WAIT = """
waitqueue wq;
bool cond = false;
thread waiter {
    while (true) {
        prepare_to_wait(wq);
        if (cond) { break; }
        schedule(wq);
    }
    finish_wait(wq);
}
thread waker { WAKE }
"""


def test_a_wake_up_before_the_condition_is_set_is_a_late_wakeup(spec):
    # wake_up, then cond = true: a waiter that checked cond between the two sleeps for good
    late = run(spec(HAND_WAIT.replace("WAKE", "wake_up(wq); cond = true;")))
    assert verdicts(late)["deadlock"] == "violated"
    right = run(spec(HAND_WAIT.replace("WAKE", "cond = true; wake_up(wq);")))
    assert verdicts(right)["deadlock"] == "holds"


EXCLUSIVE = """
waitqueue wq;
int[0..2] queued = 0;
thread w[2] { atomic { prepare_to_wait_exclusive(wq); queued = queued + 1; } schedule(wq); }
thread waker { await queued == 2; wake_up(wq); }
"""


def test_wake_up_wakes_one_exclusive_waiter_and_wake_up_all_every_waiter(spec):
    # w[k]: queue (atomic), schedule; waker: await both queued, wake_up. Before the wakeup:
    # (A,A) (S,A) (A,S) (S,S) and the waker past its await: 5 states. wake_up wakes w[0] or
    # w[1] (2 states), the woken one goes on (2 states): 9 states, 2+1+1+1+2+1+1 = 9
    # transitions; the other sleeps for good: a deadlock.
    result = run_full(spec(EXCLUSIVE))
    assert counts(result) == (9, 9)
    assert verdicts(result)["deadlock"] == "violated"
    # wake_up_all (or non-exclusive waiters) wakes both: 5 + 1 + 2 + 1 = 9 states,
    # 2+1+1+1+1+2+1+1 = 10 transitions, no deadlock
    for text in (EXCLUSIVE.replace("wake_up(wq)", "wake_up_all(wq)"),
                 EXCLUSIVE.replace("prepare_to_wait_exclusive", "prepare_to_wait")):
        everyone = run_full(spec(text))
        assert counts(everyone) == (9, 10)
        assert verdicts(everyone)["deadlock"] == "holds"


def test_waitqueues_across_engines(spec):
    cross_check(spec(WAIT))
    cross_check(spec(WAIT.replace(" wake_up(wq);", "")))
    cross_check(spec(HAND_WAIT.replace("WAKE", "wake_up(wq); cond = true;")))
    cross_check(spec(EXCLUSIVE))


def test_waitqueue_misuse_is_an_error(spec):
    code, _, err = cli("verify", spec("bool b; thread t { wake_up(b); }"))
    assert code == 2 and "needs a waitqueue" in err
    code, _, err = cli("verify", spec("waitqueue q; thread t { wait_event(q); }"))
    assert code == 2 and "wait_event(wq, condition)" in err


# ---- extend struct, index_of, refcounts ---------------------------------------------------

EXTEND = """
struct page { bool dirty = true; }
extend struct page { int[0..3] seen = 3; }
page pages[3];
bool done = false;
thread t { for p in pages { p.seen = index_of(p); } done = true; }
invariant indexed: done -> (forall i in 0..2: pages[i].seen == i);
"""


def test_extend_struct_adds_fields_and_index_of_gives_the_element_index(spec):
    # t: three stores and done = true, one thread: 5 states, 4 transitions
    result = run(spec(EXTEND))
    assert verdicts(result)["indexed"] == "holds" and counts(result) == (5, 4)
    cross_check(spec(EXTEND))


def test_extend_of_an_unknown_struct_is_an_error(spec):
    code, _, err = cli("verify", spec(EXTEND.replace("extend struct page", "extend struct pgae")))
    assert code == 2 and "no struct 'pgae'" in err and "page" in err


REFS = """
struct obj { refcount[2] count = 1; bool data = false; }
obj o;
thread user { GET o.data = true; PUT }
thread freer { o.count = o.count - 1; }
"""


def test_a_field_touched_at_refcount_zero_is_a_use_after_free(spec):
    racy = run(spec(REFS.replace("GET", "").replace("PUT", "")))
    assert verdicts(racy)["use_after_free"] == "violated"
    prop = next(p for p in racy.properties if p.name == "use_after_free")
    assert prop.trace.length == 2 and "use after free: .data" in prop.trace.steps[-1].failed


def test_a_reference_taken_before_the_free_keeps_the_object_alive(spec):
    # user: get (count 1 -> 2) before freer's put; the check is the same but the user only
    # runs while its own reference holds the count above 0 if freer cannot drop both
    guarded = REFS.replace("thread user {", "bool got = false;\nthread user {").replace(
        "GET", "atomic { o.count = o.count + 1; got = true; }").replace("PUT", "o.count = o.count - 1;").replace(
        "thread freer { o.count", "thread freer { await got; o.count")
    result = run(spec(guarded))
    assert verdicts(result)["use_after_free"] == "holds"
    cross_check(spec(guarded))
    cross_check(spec(REFS.replace("GET", "").replace("PUT", "")))


def test_invariants_read_freed_objects_without_a_check(spec):
    path = spec(REFS.replace("GET", "").replace("PUT", "") + "invariant fine: o.count == 0 -> !o.data || o.data;\n"
                "expect violation use_after_free;\n")
    assert verdicts(run(path))["fine"] == "holds"


@pytest.mark.parametrize("bad, message", [
    ("refcount[0] c;", "between 1 and 64"),
    ("waitqueue q = 1;", "takes no initial value"),
])
def test_type_errors_of_the_new_types(spec, bad, message):
    code, _, err = cli("verify", spec(bad + "\nthread t { skip; }\n"))
    assert code == 2 and message in err


# ---- small ones: `-> forall`, multi-line invariants, bounds messages -----------------------

def test_an_implication_into_a_quantifier_needs_no_parentheses(spec):
    path = spec("bool d = true;\nbool a[2];\nthread t { skip; }\n"
                "invariant x: d -> forall i in 0..1: !a[i];\n"
                "invariant y: d ->\n    exists i in 0..1:\n        a[i];\nexpect violation y;\n")
    result = run(path)
    assert verdicts(result)["x"] == "holds" and verdicts(result)["y"] == "violated"
    y = next(p for p in result.properties if p.name == "y")
    assert y.description == "d -> exists i in 0..1: a[i]"     # the whole invariant, not its first line


def test_a_bounds_violation_names_the_variable_and_the_index(spec):
    def message(text: str) -> str:
        return next(p.message for p in run(spec(text)).properties if p.name == "bounds")

    assert "value of n outside int[0..1]" in message("int[0..1] n = 1;\nthread t { n = n + 1; }\n")
    assert "index out of bounds 0..1: i in a[i]" in message(
        "bool a[2];\nthread u { int[0..3] i = 3; a[i] = true; }\n")


def test_statements_of_a_thread_array_name_the_instance_and_readers_their_thread(spec):
    from conftest import model_of
    model = model_of(spec('bool x[2];\nrwlock sem;\nthread t[2] { x[self] = true; assert x[self], "self"; '
                          'acquire_read sem; release_read sem; }\n'))
    texts = {(model.threads[e.thread].name, e.text) for e in model.edges}
    assert ("t[0]", "x[0] = true") in texts and ("t[1]", "x[1] = true") in texts
    assert ("t[1]", 'assert x[1], "self"') in texts          # not inside a string
    assert {s.name for s in model.slots if s.kind == "rw_reader"} == {"sem.read_by[t[0]]", "sem.read_by[t[1]]"}


def test_a_one_step_counterexample_says_step(spec):
    code, out, _ = cli("verify", spec("bool x;\nthread t { x = true; }\ninvariant never: !x;\n"))
    assert "shortest counterexample, 1 step:" in out
