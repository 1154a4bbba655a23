"""Coverage counts the statements of steps that ran: a step is all or nothing, so the
statements of an atomic block that cannot finish did not run, even where its first
statements could be evaluated."""
from __future__ import annotations

from conftest import run, verdicts

from lockcheck.result import Result


def never_ran(result: Result, thread: str) -> list[tuple[str, int]]:
    (cov,) = [c for c in result.coverage if c.thread == thread]
    assert cov.unused == ()    # x is written, so nothing here is ruled out before the search
    return [(text, span.line) for text, span in cov.unreached]


# `await x == 2` right after `x = 1` inside the block can never hold: the block never
# completes, so none of it ran (a thread array, so the instances' edges are merged)
BLOCKED = """\
int[0..2] x = 0;
int[0..2] y = 0;
thread t[2] {
    atomic {
        x = 1;
        await x == 2;
        y = 2;
    }
}
invariant y_untouched: y == 0;
"""


def test_an_atomic_block_that_cannot_finish_ran_nothing(spec):
    result = run(spec(BLOCKED))
    v = verdicts(result)
    assert v["deadlock"] == "violated" and v["y_untouched"] == "holds"
    assert never_ran(result, "t") == [("atomic {", 4), ("x = 1", 5), ("await x == 2", 6), ("y = 2", 7)]


def test_only_the_branch_that_blocks_is_uncovered(spec):
    # the first branch blocks inside the block, the second finishes it: `atomic {` ran (on
    # the second), the first branch's statements did not
    path = spec("""\
int[0..2] x = 0;
int[0..2] y = 0;
thread t {
    atomic {
        choose {
            x = 1;
            await x == 2;
        } or {
            y = 1;
        }
    }
    y = 2;
}
""")
    result = run(path)
    assert never_ran(result, "t") == [("choose", 5), ("x = 1", 6), ("await x == 2", 7)]


def test_a_block_ended_by_a_fatal_check_ran_up_to_it(spec):
    # release_unheld ends the path inside the block: the step is reported with a
    # counterexample that shows `x = 1` running, so it ran; the failing release and what
    # follows did not
    path = spec("""\
lock m;
int[0..2] x = 0;
thread t {
    atomic {
        x = 1;
        release m;
        x = 2;
    }
}
expect violation release_unheld;
""")
    result = run(path)
    assert verdicts(result)["release_unheld"] == "violated"
    assert never_ran(result, "t") == [("release m", 6), ("x = 2", 7)]


def test_a_block_that_finishes_is_covered_whole(spec):
    result = run(spec(BLOCKED.replace("await x == 2;", "await x == 1;")))
    assert never_ran(result, "t") == []
