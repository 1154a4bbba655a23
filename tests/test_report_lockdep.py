"""The lockdep-shaped block of a deadlock is built from what the engine recorded of the end
state (which lock each blocked thread waits for, which locks each holds), not from the text
of the statements the threads stand at."""
from __future__ import annotations

from conftest import cli
from lockcheck.api import Options, verify
from lockcheck.errors import Sources
from lockcheck.report.text import deadlock_cycle, render_violation
from lockcheck.result import LockOrderEdge, ThreadState, Trace
from lockcheck.source import Span

# b takes m[1 - i]: it stands at `acquire m[1 - 1]`, which names no lock as written
ABBA_BY_INDEX = """lock m[2];

thread a {
    for i in 0..1 {
        acquire m[i];
    }
    release m[1];
    release m[0];
}

thread b {
    for i in 0..1 {
        acquire m[1 - i];
    }
    release m[0];
    release m[1];
}
expect violation deadlock;
expect violation lock_order;
"""


def test_a_deadlock_on_computed_lock_addresses_is_a_lockdep_cycle(spec):
    path = spec(ABBA_BY_INDEX)
    result = verify(path, Options(), Sources())
    deadlock = next(p for p in result.properties if p.name == "deadlock")
    assert deadlock.trace is not None
    ends = {ts.thread: (ts.status, ts.at, ts.holds, ts.waits_for) for ts in deadlock.trace.final}
    assert ends == {"a": ("blocked", "acquire m[1]", ("m[0]",), "m[1]"),
                    "b": ("blocked", "acquire m[1 - 1]", ("m[1]",), "m[0]")}
    edges = deadlock_cycle(deadlock.trace)
    assert [(e.thread, e.held, e.acquired) for e in edges] == [("b", "m[1]", "m[0]"), ("a", "m[0]", "m[1]")]
    lines = [line[3:] for line in render_violation(deadlock).splitlines()]
    assert lines[lines.index("a is blocked acquiring lock:") + 1].startswith(" (m[1]), at: ")
    assert lines[lines.index("but task is already holding lock:") + 1] == " (m[0])"
    code, out, _ = cli("verify", path)
    assert code == 0 and out.count("WARNING: possible circular locking dependency detected") == 2
    # the end state says which lock `acquire m[1 - 1]` waits for; a plain `acquire m[1]` needs no note
    assert "at acquire m[1 - 1] (" in out and ":13), waiting for m[0]" in out and "waiting for m[1]" not in out


def _thread(name: str, at: str, holds: tuple[str, ...], waits_for: str, status: str = "blocked") -> ThreadState:
    return ThreadState(name, status, at, Span("x.lk", 3, 5), holds, waits_for)  # type: ignore[arg-type]


def test_the_cycle_follows_the_recorded_waits_not_the_statement_text():
    # the statements say nothing of the locks (a proc call, an await): only the data does
    trace = Trace((), (_thread("t1", "lock_both(x)", ("A",), "B"), _thread("t2", "grab(y)", ("B",), "A")), "")
    assert deadlock_cycle(trace) == [LockOrderEdge("B", "A", "t2", Span("x.lk", 3, 5)),
                                     LockOrderEdge("A", "B", "t1", Span("x.lk", 3, 5))]
    # reading like an acquire is not waiting for a lock: t2 awaits a condition
    trace = Trace((), (_thread("t1", "acquire B", ("A",), "B"), _thread("t2", "acquire A", ("B",), "")), "")
    assert deadlock_cycle(trace) == []
    # a lock nobody holds, or a thread that holds nothing, closes no cycle
    trace = Trace((), (_thread("t1", "", ("A",), "C"), _thread("t2", "", (), "A")), "")
    assert deadlock_cycle(trace) == []


def test_sarif_says_which_lock_each_thread_waits_for(spec):
    from lockcheck.report.json_report import Run
    from lockcheck.report.sarif import sarif_log

    result = verify(spec(ABBA_BY_INDEX.replace("expect violation deadlock;", "expect holds deadlock;")),
                    Options(), Sources())
    log = sarif_log(Run([result], [], result.exit_code))
    (alert,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "deadlock"]
    ends = {tf["id"]: tf["locations"][-1]["location"]["message"]["text"] for tf in alert["codeFlows"][0]["threadFlows"]}
    assert ends == {"a": "at the end: blocked at acquire m[1], waiting for m[1], holding m[0]",
                    "b": "at the end: blocked at acquire m[1 - 1], waiting for m[0], holding m[1]"}
