"""Every always-on check: one minimal spec that triggers it and one that does not."""
import pytest

from conftest import run, verdicts

CASES = {
    "assertion": (
        "int[0..3] x = 0; thread t { x = 1; assert x == 2; }",
        "int[0..3] x = 0; thread t { x = 2; assert x == 2; }",
    ),
    "double_acquire": (
        "lock m; thread t { acquire m; acquire m; }",
        "lock m; thread t { acquire m; release m; acquire m; release m; }",
    ),
    "release_unheld": (
        "lock m; thread t { release m; }",
        "lock m; thread t { acquire m; release m; }",
    ),
    "sleep_under_spinlock": (
        "spinlock s; lock m; thread t { acquire s; acquire m; release m; release s; }",
        "spinlock s; lock m; thread t { acquire m; acquire s; release s; release m; }",
    ),
    "exit_holding_lock": (
        "lock m; thread t { acquire m; }",
        "lock m; thread t { acquire m; release m; }",
    ),
    "bounds": (
        "int[0..2] x = 2; thread t { x = x + 1; }",
        "int[0..2] x = 1; thread t { x = x + 1; }",
    ),
    "deadlock": (
        "bool go = false; thread t { await go; }",
        "bool go = false; thread t { go = true; } thread u { await go; }",
    ),
    "lock_order": (
        "lock a; lock b; thread t { acquire a; acquire b; release b; release a; }"
        " thread u { acquire b; acquire a; release a; release b; }",
        "lock a; lock b; thread t { acquire a; acquire b; release b; release a; }"
        " thread u { acquire a; acquire b; release b; release a; }",
    ),
    "f.requires": (
        "lock m; proc f() requires held(m) { skip; } thread t { f(); }",
        "lock m; proc f() requires held(m) { skip; } thread t { acquire m; f(); release m; }",
    ),
    "f.ensures": (
        "int[0..3] x = 0; proc f() -> int[0..3] ensures result == x { return 1; } thread t { int[0..3] r = f(); }",
        "int[0..3] x = 0; proc f() -> int[0..3] ensures result == x { return x; } thread t { int[0..3] r = f(); }",
    ),
    "inv": (
        "int[0..3] x = 0; thread t { x = 3; } invariant inv: x < 3;",
        "int[0..3] x = 0; thread t { x = 2; } invariant inv: x < 3;",
    ),
}


@pytest.mark.parametrize("prop", sorted(CASES))
def test_check_triggers(spec, prop):
    bad, _ = CASES[prop]
    result = run(spec(bad))
    assert verdicts(result)[prop] == "violated"
    violated = next(p for p in result.properties if p.name == prop)
    assert violated.trace is not None
    assert result.exit_code == 1  # no expect line: a violation is unexpected


@pytest.mark.parametrize("prop", sorted(CASES))
def test_check_quiet_on_correct_spec(spec, prop):
    _, good = CASES[prop]
    result = run(spec(good))
    assert all(p.verdict == "holds" for p in result.properties), verdicts(result)
    assert result.exit_code == 0


def test_array_index_out_of_bounds(spec):
    result = run(spec("bool a[2]; int[0..3] i = 0; thread t { i = 2; a[i] = true; }"))
    assert verdicts(result)["bounds"] == "violated"
    prop = next(p for p in result.properties if p.name == "bounds")
    assert "index out of bounds" in prop.message


def test_short_circuit_guards_an_index(spec):
    # a[i] is only read when i < 2: no bounds violation, although i reaches 2
    result = run(spec("bool a[2]; int[0..2] i = 2; bool seen = false;"
                      " thread t { if (i < 2 && a[i]) { seen = true; } }"))
    assert verdicts(result)["bounds"] == "holds"


def test_failed_assert_does_not_stop_exploration(spec):
    # the invariant breaks only after the failed assert: both are found
    result = run(spec("int[0..3] x = 0; thread t { assert x == 1; x = 3; } invariant inv: x < 3;"))
    v = verdicts(result)
    assert v["assertion"] == "violated" and v["inv"] == "violated"


def test_expect_violation_met_exits_zero(spec):
    result = run(spec("lock m; thread t { acquire m; } expect violation exit_holding_lock;"))
    assert result.exit_code == 0


def test_expect_violation_unmet_exits_one(spec):
    result = run(spec("lock m; thread t { acquire m; release m; } expect violation exit_holding_lock;"))
    assert result.exit_code == 1


def test_rwlock_readers_share_writer_excludes(spec):
    result = run(spec("""
rwlock sem; int[0..2] readers = 0; bool writing = false;
thread r[2] { acquire_read sem; readers = readers + 1; readers = readers - 1; release_read sem; }
thread w { acquire sem; writing = true; writing = false; release sem; }
invariant no_reader_while_writing: !(writing && readers > 0);
invariant two_readers_possible: readers < 2;
"""))
    v = verdicts(result)
    assert v["no_reader_while_writing"] == "holds"
    assert v["two_readers_possible"] == "violated"  # both readers inside at once is reachable


def test_try_acquire_never_blocks(spec):
    result = run(spec("""
lock m; int[0..2] got = 0;
thread t[2] { bool ok = try_acquire m; if (ok) { got = got + 1; release m; } }
"""))
    assert all(p.verdict == "holds" for p in result.properties)
