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


BROKEN_WRITEPAGE = """
import "writeback.lk";
const NPAGES = 1;
const FORGETS = true;
page pages[NPAGES];
// a ->writepage that (when FORGETS) neither redirties the page nor sets PG_writeback
proc writepage(page p, writeback_control wbc) -> aop {
    if (!FORGETS) { redirty_page_for_writepage(p); }
    unlock_page(p);
    return WRITEPAGE_OK;
}
thread flusher { write_cache_pages(false); }
expect violation writepage_redirty_or_writeback when FORGETS;
"""


def test_a_model_invariant_is_expected_per_spec_like_any_property(spec):
    # models/writeback.lk's invariant, broken by this spec's ->writepage in one variant only
    path = spec(BROKEN_WRITEPAGE)
    assert verdicts(run(path))["writepage_redirty_or_writeback"] == "violated"
    assert verdicts(run(path, FORGETS=False))["writepage_redirty_or_writeback"] == "holds"
    assert cli("verify", "-q", path)[0] == 0
    assert cli("verify", "-q", "-D", "FORGETS=false", path)[0] == 0
    # without the expect line the violation is unexpected
    assert cli("verify", "-q", spec(BROKEN_WRITEPAGE.replace("expect violation", "// expect")))[0] == 1


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
    # w[k]: queue (atomic), schedule; waker: await both queued, wake_up. The queue keeps the
    # order of the exclusive waiters, so (S,S) is two states, w[0] first or w[1] first.
    # Waker at its await: (A,A) (S,A) (A,S) (S,S)x2 = 5 states; past it: 2 more (6 moves:
    # 2+1+1+1+1). wake_up wakes the first in line (2 states), which goes on (2 states):
    # 11 states, 6+2+2 = 10 transitions; the other sleeps for good: a deadlock.
    result = run_full(spec(EXCLUSIVE))
    assert counts(result) == (11, 10)
    assert verdicts(result)["deadlock"] == "violated"
    # wake_up_all wakes both, and both orders end in one state: 7 + 1 + 3 = 11 states,
    # 6 + 2 + 4 = 12 transitions, no deadlock
    everyone = run_full(spec(EXCLUSIVE.replace("wake_up(wq)", "wake_up_all(wq)")))
    assert counts(everyone) == (11, 12)
    assert verdicts(everyone)["deadlock"] == "holds"
    # non-exclusive waiters have no order and are all woken: (A,A) (S,A) (A,S) (S,S), the
    # waker past its await, the wakeup, then the diamond: 5 + 1 + 3 = 9 states, 5 + 1 + 4 = 10
    shared = run_full(spec(EXCLUSIVE.replace("prepare_to_wait_exclusive", "prepare_to_wait")))
    assert counts(shared) == (9, 10)
    assert verdicts(shared)["deadlock"] == "holds"


FIFO = """
waitqueue wq;
int[0..2] queued = 0;
int[0..2] place[2];        // place[k]: w[k] was the place[k]-th to queue
bool woken[2];
thread w[2] {
    atomic { prepare_to_wait_exclusive(wq); queued = queued + 1; place[self] = queued; }
    schedule(wq);
    woken[self] = true;
}
thread waker { await queued == 2; wake_up(wq); end: skip; }
invariant first_come_first_woken: forall k in 0..1: woken[k] -> place[k] == 1;
expect violation deadlock;   // the second waiter is never woken
"""

LEAVE = """
waitqueue wq;
int[0..3] step = 0;
bool woken_b = false;
bool woken_c = false;
// a queues first, then b; a leaves (finish_wait); c queues behind b; one wake_up wakes b
thread a { prepare_to_wait_exclusive(wq); step = 1; await step == 2; finish_wait(wq); step = 3; }
thread b { await step == 1; prepare_to_wait_exclusive(wq); step = 2; schedule(wq); woken_b = true; }
thread c { await step == 3; prepare_to_wait_exclusive(wq); wake_up(wq); AGAIN schedule(wq); woken_c = true; }
invariant b_before_c: woken_c -> woken_b;
"""


def test_wake_up_wakes_the_exclusive_waiters_in_the_order_they_queued(spec):
    # include/linux/wait.h __add_wait_queue_tail, kernel/sched.c __wake_up_common: FIFO
    result = run(spec(FIFO))
    assert verdicts(result)["first_come_first_woken"] == "holds"
    assert verdicts(result)["deadlock"] == "violated"
    # c wakes the queue: b, the first in line after a left, not c itself
    one = run(spec(LEAVE.replace("AGAIN", "")))
    assert verdicts(one)["b_before_c"] == "holds"
    assert verdicts(one)["deadlock"] == "violated"        # c sleeps: nobody wakes it
    two = run(spec(LEAVE.replace("AGAIN", "wake_up(wq);")))
    assert verdicts(two)["deadlock"] == "holds"           # the second wakes c, first in line now
    fixed = run(spec(LEAVE.replace("AGAIN", "").replace(
        "woken_b = true; }", "woken_b = true; wake_up(wq); }")))
    assert verdicts(fixed)["deadlock"] == "holds" and verdicts(fixed)["b_before_c"] == "holds"


def test_a_waiter_that_queues_again_keeps_its_place(spec):
    # prepare_to_wait_exclusive on a thread already queued: list_empty() is false, so it
    # stays where it is (a[0] first), and a non-exclusive waiter made exclusive goes first
    again = FIFO.replace("atomic { prepare_to_wait_exclusive(wq);",
                         "atomic { prepare_to_wait_exclusive(wq); prepare_to_wait_exclusive(wq);")
    assert verdicts(run(spec(again)))["first_come_first_woken"] == "holds"
    head = FIFO.replace("atomic { prepare_to_wait_exclusive(wq); queued = queued + 1; place[self] = queued; }",
                        "atomic { if (self == 1 && queued == 1) { prepare_to_wait(wq); } "
                        "prepare_to_wait_exclusive(wq); queued = queued + 1; place[self] = queued; }")
    # w[1] queued second but was non-exclusive first, at the head: it may be woken first
    assert verdicts(run(spec(head)))["first_come_first_woken"] == "violated"


def test_a_wake_up_on_a_queue_nobody_waits_on_is_no_step(spec):
    # nobody reachable queues on idle (prepare_to_wait only in a proc no thread calls), so
    # wake_up(idle) changes nothing and runs with the step before it: t is x = true, then
    # done; u awaits x: (0,0) (1,0) (1,1) = 3 states, 2 moves, as without the wake_up
    text = """
waitqueue idle;
waitqueue used;
bool x = false;
proc never() { prepare_to_wait(idle); }
thread t { x = true; WAKE }
thread u { await x; }
"""
    plain = run(spec(text.replace("WAKE", "")))
    assert counts(plain) == (3, 2)
    assert counts(run(spec(text.replace("WAKE", "wake_up(idle);")))) == (3, 2)
    # a queue somebody may wait on is a step of its own: t at the wake_up is a state more
    busy = text.replace("WAKE", "wake_up(used);").replace("thread u { await x; }",
                                                           "thread u { await x; }\nproc v() { prepare_to_wait(used); }\n"
                                                           "thread w { v(); finish_wait(used); }")
    assert counts(run(spec(busy)))[0] > counts(run(spec(busy.replace("wake_up(used);", ""))))[0]


PAGE_LOCK_WAIT = """
import "pagecache.lk";
page pages[1];
thread holder { lock_page(pages[0]); unlock_page(pages[0]); }
thread waiter { wait_on_page_locked(pages[0]); }
"""


def test_wait_on_page_locked_sleeps_until_unlock_page_wakes_it(spec):
    # models/pagecache.lk: unlock_page is release, then wake_up(lock_wait) (two steps now
    # that a thread waits on lock_wait); wait_on_page_locked: Q (queue and test PG_locked),
    # Z (io_schedule), D. holder H0 (before lock), H1 (before release), H2 (before wake), H3.
    # H0: Q D (lock free: Q -> D); H1: Q Z D; H2: Q Z D (Z still queued); H3: Q Z D (Z
    # woken) = 11 states; moves 2+1 (H0) + 2+1+1 (H1) + 2+1+1 (H2) + 1+1 (H3) = 13
    result = run(spec(PAGE_LOCK_WAIT))
    assert counts(result) == (11, 13)
    assert verdicts(result)["deadlock"] == "holds"
    # clearing PG_locked without the wakeup: the waiter that saw it set sleeps for good
    lost = run(spec(PAGE_LOCK_WAIT.replace("unlock_page(pages[0]); }", "release pages[0].locked; }")))
    assert verdicts(lost)["deadlock"] == "violated"


def test_lock_page_waiters_on_the_waitqueue_each_get_the_lock(spec):
    # __lock_page: exclusive waiters, each unlock_page wakes the first; a woken waiter that
    # loses the bit to another locker queues again: no waiter is left asleep
    text = PAGE_LOCK_WAIT.replace("thread waiter { wait_on_page_locked(pages[0]); }",
                                  "thread w[2] { __lock_page(pages[0]); unlock_page(pages[0]); }")
    assert verdicts(run(spec(text)))["deadlock"] == "holds"
    cross_check(spec(PAGE_LOCK_WAIT))


def test_waitqueues_across_engines(spec):
    cross_check(spec(WAIT))
    cross_check(spec(WAIT.replace(" wake_up(wq);", "")))
    cross_check(spec(HAND_WAIT.replace("WAKE", "wake_up(wq); cond = true;")))
    cross_check(spec(EXCLUSIVE))
    cross_check(spec(FIFO))
    cross_check(spec(LEAVE.replace("AGAIN", "")))


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
    assert prop.trace.length == 2 and "use after free: o.data of a obj whose count is 0" in prop.trace.steps[-1].failed


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


REF_UAF = """
struct obj { refcount[2] count = 1; bool data = false; }
obj objs[2];
proc touch(obj p) { p.data = true; }
thread user { for p in objs { touch(p); } }
thread freer { objs[1].count = objs[1].count - 1; }
"""


def test_a_use_after_free_through_a_reference_names_the_object(spec):
    racy = run(spec(REF_UAF))
    prop = next(p for p in racy.properties if p.name == "use_after_free")
    assert prop.verdict == "violated"
    assert "use after free: objs[1].data of a obj whose count is 0" in prop.trace.steps[-1].failed
    assert prop.trace.summary.startswith("use after free: objs[1].data")


INDEX_LOCAL = """
bool flags[2];
thread setter { int[0..1] k = 1; flags[k] = k == 1; }
invariant none_set: !flags[1];
expect violation none_set;
"""

INDEX_EXPRESSION = """
bool flags[3];
thread setter { int[0..1] k = 1; flags[k + 1] = true; flags[k - 1] = k == 1; }
invariant none_set: !flags[2];
expect violation none_set;
"""


@pytest.mark.parametrize("source, shown", [
    (INDEX_LOCAL, "flags[1] = k == 1"),       # the index by its value, the value read by name
    (INDEX_EXPRESSION, "flags[2] = true"),    # inside an index expression: the index it makes
])
def test_a_local_used_as_an_index_shows_its_value_in_the_trace(spec, source, shown):
    result = run(spec(source))
    prop = next(p for p in result.properties if p.name == "none_set")
    texts = [s.text for s in prop.trace.steps]
    assert shown in texts, texts


def test_an_index_of_integers_added_and_subtracted_is_folded_and_anything_else_kept():
    from lockcheck.engines.tracing import _folded
    assert [_folded(i) for i in ("1 + 1", "3 - 1 + 2", "-1 + 1", "1 + n", "n", "0..3")] == \
        ["2", "4", "0", "1 + n", "n", "0..3"]
