"""The symbolic engines on their own: what bmc and k-induction report and how they say it,
lemmas, counterexamples to induction, loops inside atomic blocks, and bad requests (exit 2
or 3 with a clear message, never a traceback)."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from conftest import REPO, cli
from lockcheck.api import Options, load_model, verify
from lockcheck.engines.symbolic.bmc import check_bmc
from reference.explicit import Limits, check_explicit
from lockcheck.engines.symbolic.induction import StepCase, check_induction
from lockcheck.engines.symbolic.shared import MAX_DEPTH, Settings
from lockcheck.errors import Sources, SpecError
from lockcheck import ir
from lockcheck.result import Result

EXT4 = REPO / "specs" / "ext4.lk"
UNLOCK_EARLY = REPO / "specs" / "ext4_unlock_early.lk"

# !b is not inductive alone (from a = true one step sets b) but is with the lemma !a
NEEDS_LEMMA = """
bool a = false;
bool b = false;
thread t { b = a; b = a; }
invariant no_b: !b;
"""


def program_of(path, **defines: object) -> ir.Model:
    return (load_model(str(path), Options(defines={k: str(v) for k, v in defines.items()}), Sources()))


def prop(result: Result, name: str):
    return next(p for p in result.properties if p.name == name)


# ---- bmc ----------------------------------------------------------------------------------

def test_bmc_trace_is_the_explicit_engines_length_and_prints_the_same_way():
    program = program_of(UNLOCK_EARLY)
    explicit, _ = check_explicit(program, Limits())
    bmc = check_bmc(program, Settings(depth=9))
    assert bmc.engine == "bmc"
    for name in ("no_remove_under_writeback", "set_page_writeback.requires"):
        p, q = prop(explicit, name), prop(bmc, name)
        assert q.verdict == "violated" and q.engine == "bmc"
        assert q.trace.length == p.trace.length
        assert q.message == p.message
    code, out, err = cli("verify", "--engine", "bmc", "--depth", "9", str(UNLOCK_EARLY))
    assert "Traceback" not in err and "(bmc engine)" in out
    assert f"shortest counterexample, {prop(explicit, 'no_remove_under_writeback').trace.length} steps" in out


def test_bmc_no_violation_up_to_the_depth_is_unknown_not_holds():
    result = check_bmc(program_of(EXT4), Settings(depth=4))
    p = prop(result, "no_remove_under_writeback")
    assert p.verdict == "unknown" and p.detail == "no violation up to depth 4"
    assert result.exit_code == 3
    code, out, _ = cli("verify", "--engine", "bmc", "--depth", "4", str(EXT4))
    assert code == 3 and "unknown (no violation up to depth 4)" in out


def test_bmc_holds_once_every_reachable_state_is_seen(spec):
    path = spec("bool a = false; thread t { a = true; } invariant inv: a || !a;")
    p = prop(check_bmc(program_of(path), Settings(depth=10)), "inv")
    assert p.verdict == "holds" and "every reachable state" in p.detail


def test_bmc_is_complete_at_the_depth_asked_not_only_at_powers_of_two(spec):
    # five steps in a row: no loop-free path of 6 steps, so depth 6 (not a power of two) sees all
    path = spec("int[0..5] a = 0; thread t { a = 1; a = 2; a = 3; a = 4; a = 5; } invariant inv: a != 3 || a < 4;")
    assert prop(check_bmc(program_of(path), Settings(depth=6)), "inv").detail == \
        "every reachable state is within depth 5, all searched"
    assert prop(check_bmc(program_of(path), Settings(depth=5)), "inv").verdict == "unknown"


def test_bmc_lock_order_cycle():
    result = check_bmc(program_of(REPO / "specs" / "truncate_lock_inverted.lk"), Settings(depth=8))
    p = prop(result, "lock_order")
    assert p.verdict == "violated" and len(p.cycle) == 2 and p.trace is not None


# ---- induction ----------------------------------------------------------------------------

def test_induction_proves_the_ext4_invariant():
    result = check_induction(program_of(EXT4), Settings(depth=1))
    p = prop(result, "no_remove_under_writeback")
    assert p.verdict == "holds" and p.detail == "proved (k=1)" and p.engine == "induction"
    code, out, _ = cli("verify", "--engine", "induction", "--depth", "1", str(EXT4))
    assert "holds (proved (k=1))" in out and "(induction engine)" in out


def test_counterexample_to_induction_shows_the_missing_fact(spec):
    result = check_induction(program_of(spec(NEEDS_LEMMA)), Settings(depth=1), use_candidates=False)
    p = prop(result, "no_b")
    assert p.verdict == "unknown"
    first, *rest = p.detail.splitlines()
    assert first == "not proved by k-induction up to k=1"
    text = "\n".join(rest)
    assert "counterexample to induction" in text and "a: true" in text and "b: false" in text
    assert "b: false -> true" in text and "no_b is false" in text


def test_a_lemma_is_assumed_in_the_step_case(spec):
    path = spec(NEEDS_LEMMA + "lemma no_a: !a;\n")
    result = check_induction(program_of(path), Settings(depth=1), use_candidates=False)
    assert prop(result, "no_b").detail == "proved (k=1)"
    assert prop(result, "no_a").verdict == "holds"
    explicit, _ = check_explicit(program_of(path), Limits())
    assert prop(explicit, "no_a").verdict == "holds"   # a lemma is checked like any invariant


def test_a_false_lemma_is_violated_and_not_assumed(spec):
    path = spec(NEEDS_LEMMA.replace("thread t {", "thread u { a = true; }\nthread t {") + "lemma no_a: !a;\n")
    result = check_induction(program_of(path), Settings(depth=3), use_candidates=False)
    assert prop(result, "no_a").verdict == "violated" and prop(result, "no_a").trace.length == 1
    assert prop(result, "no_b").verdict == "violated"   # found by the base case, not proved


def test_induction_base_case_reports_shortest_violations(spec):
    path = spec("""
lock m;
int[0..3] n = 0;
thread t[2] { acquire m; int[0..3] v = n; release m; acquire m; n = v + 1; release m; }
thread check { await n > 0; assert n == 2, "lost update"; }
""")
    program = program_of(path)
    explicit, _ = check_explicit(program, Limits())
    result = check_induction(program, Settings(depth=8))
    p = prop(result, "assertion")
    assert p.verdict == "violated" and p.trace.length == prop(explicit, "assertion").trace.length
    assert p.trace.steps[-1].failed.endswith("lost update")


def test_candidate_invariants_are_needed_for_ext4_and_reported():
    program = program_of(EXT4)
    plain = check_induction(program, Settings(depth=1), use_candidates=False)
    assert prop(plain, "no_remove_under_writeback").verdict == "unknown"
    helped = check_induction(program, Settings(depth=1))
    assert prop(helped, "no_remove_under_writeback").verdict == "holds"
    assert any("candidate invariants" in w for w in helped.warnings)


def test_lock_facts_prove_the_lock_checks_of_ext4():
    # which locks a thread can hold where it stands: without them a step case may start with
    # truncate holding the lock of a page it is done with (double_acquire, exit_holding_lock)
    result = check_induction(program_of(EXT4), Settings(depth=1))
    for name in ("double_acquire", "exit_holding_lock", "lock_order", "release_unheld"):
        assert prop(result, name).verdict == "holds", (name, prop(result, name).detail)


@pytest.mark.slow
def test_more_candidates_prove_the_io_assertion_of_ext4():
    # the I/O completion's assertion needs what the flusher has not reached yet, that a loop
    # index and its page agree, and the await bio_end passed: the costlier shapes
    for pages in (2, 4):
        program = program_of(EXT4, NPAGES=pages)
        assert prop(check_induction(program, Settings(depth=1)), "io_on_cached_page").verdict == "unknown"
        more = check_induction(program, Settings(depth=1, more_candidates=True))
        assert prop(more, "io_on_cached_page").detail == "proved (k=1)", pages
        assert prop(more, "assertion").verdict == "holds"
    code, out, _ = cli("verify", "--engine", "induction", "--more-candidates", "--depth", "1", str(EXT4))
    assert "io_on_cached_page               assertion  holds (proved (k=1))" in out


def test_a_counterexample_to_induction_starts_where_threads_can_rest():
    # not at a node number lowering left unused, which no step leaves (an endless "deadlock")
    result = check_induction(program_of(EXT4), Settings(depth=1))
    ctis = [p.detail for p in result.properties if "counterexample to induction" in p.detail]
    assert ctis
    for text in ctis:
        assert " at '?'" not in text, text


def test_counterexamples_to_induction_of_built_in_checks_are_one_flag_away():
    _, out, _ = cli("verify", "--engine", "induction", "--depth", "1", str(EXT4))
    assert "(-v shows the counterexamples to induction of deadlock" in out and "-- deadlock:" not in out
    _, out, _ = cli("verify", "-v", "--engine", "induction", "--depth", "1", str(EXT4))
    assert "-- deadlock: not proved by k-induction up to k=1" in out and "-v shows" not in out


# ---- the encoding: loops inside chains ------------------------------------------------------

def test_a_loop_inside_an_atomic_block_is_unrolled(spec):
    path = spec("""
int[0..3] n = 0;
bool seen[3];
thread t { atomic { for i in 0..2 { if (!seen[i]) { n = n + 1; seen[i] = true; } } } }
thread u { seen[1] = true; }
invariant at_most_three: n <= 3;
invariant not_three: n != 3;
""")
    program = program_of(path)
    explicit, _ = check_explicit(program, Limits())
    bmc = check_bmc(program, Settings(depth=4))
    assert prop(explicit, "not_three").verdict == prop(bmc, "not_three").verdict == "violated"
    assert prop(bmc, "not_three").trace.length == prop(explicit, "not_three").trace.length
    assert prop(bmc, "at_most_three").verdict == "holds"


def test_a_local_loop_is_unrolled_as_far_as_the_values_allow(spec):
    path = spec("""
int[0..3] g = 2;
thread t { int[0..3] k = g; int[0..3] i = 0; while (i < k) { i = i + 1; } g = i; }
thread u { g = 3; }
invariant below_three: g < 3;
""")
    program = program_of(path)
    explicit, _ = check_explicit(program, Limits())
    bmc = check_bmc(program, Settings(depth=4))
    assert prop(bmc, "below_three").verdict == "violated"
    assert prop(bmc, "below_three").trace.length == prop(explicit, "below_three").trace.length


def test_a_local_loop_that_may_not_end_is_refused_clearly(spec):
    path = spec("""
bool g = false;
thread t { bool x = g; int[0..3] j = 1; while (x) { j = 0; } }
""")
    with pytest.raises(SpecError, match="loops on local or atomic steps"):
        check_bmc(program_of(path), Settings(depth=3))
    code, out, err = cli("verify", "--engine", "bmc", path)
    assert code == 2 and "use --engine explicit" in err and "Traceback" not in err


# ---- requests ------------------------------------------------------------------------------

@pytest.mark.parametrize("settings, message", [
    (Settings(depth=0), "--depth must be at least 1"),
    (Settings(depth=MAX_DEPTH + 1), "too deep"),
    (Settings(depth=3, timeout=0), "--timeout must be positive"),
])
def test_bad_settings_are_spec_errors(settings, message):
    with pytest.raises(SpecError, match=message):
        check_bmc(program_of(EXT4), settings)


def test_bad_requests_exit_two_without_a_traceback():
    for argv in (["--depth", "0"], ["--timeout", "0"], ["--timeout", "-1"], ["--depth", str(MAX_DEPTH + 1)]):
        code, out, err = cli("verify", "--engine", "bmc", *argv, str(EXT4))
        assert code == 2 and "Traceback" not in err and "error" in err, argv


def test_timeout_leaves_unknowns_and_exit_three():
    result = check_bmc(program_of(EXT4), Settings(depth=60, timeout=0.3))
    assert result.stats.limit == "--timeout 0.3" and result.exit_code == 3
    assert "--timeout stopped Z3" in prop(result, "no_remove_under_writeback").detail
    result = check_induction(program_of(EXT4), Settings(depth=3, timeout=0.05))
    assert result.exit_code == 3 and "--timeout" in prop(result, "no_remove_under_writeback").detail
    code, out, err = cli("verify", "--engine", "induction", "--timeout", "0.05", str(EXT4))
    assert code == 3 and "Traceback" not in err and "stopped at --timeout 0.05" in out


def test_a_timeout_in_the_lock_fact_round_keeps_what_the_first_round_proved(monkeypatch):
    rounds = []
    real = StepCase.houdini

    def houdini(self, goals, cands, judge, **kwargs):
        rounds.append(len(cands))
        if len(rounds) == 2:   # Z3 runs out of time in the second round, at k = 1
            self.budget.ran_out = True
            return None
        return real(self, goals, cands, judge, **kwargs)

    monkeypatch.setattr(StepCase, "houdini", houdini)
    result = check_induction(program_of(EXT4), Settings(depth=3, timeout=100))
    assert len(rounds) == 2 and rounds[0] and rounds[1]   # the literals, then the lock facts
    assert prop(result, "no_remove_under_writeback").detail == "proved (k=1)"
    assert prop(result, "double_acquire").detail.startswith("not proved: --timeout stopped Z3 (k=1)")
    assert result.exit_code == 3 and result.stats.limit == "--timeout 100"


def test_a_spec_without_properties_of_its_own(spec):
    path = spec("bool go = false; thread t { go = true; } thread u { await go; }")
    for engine in ("bmc", "induction"):
        result = verify(path, Options(engine=engine, depth=3), Sources())
        assert any("no property of its own" in w for w in result.warnings)
        assert result.exit_code in (0, 3)
    code, out, err = cli("verify", "--engine", "bmc", "--depth", "3", path)
    assert code in (0, 3) and "Traceback" not in err


def test_auto_says_which_engine_answered():
    result = verify(str(EXT4), Options(engine="auto", max_states=50, depth=1), Sources())
    assert result.engine == "explicit+induction"
    assert any("explicit engine stopped" in w for w in result.warnings)
    p = prop(result, "no_remove_under_writeback")
    assert p.verdict == "holds" and p.engine == "induction"
    assert result.stats.states >= 50 and result.search_summary.startswith(f"{result.stats.states} states")
    result = verify(str(EXT4), Options(engine="auto"), Sources())
    assert result.engine == "explicit" and result.exit_code == 0


def test_auto_keeps_what_the_explicit_engine_found():
    result = verify(str(UNLOCK_EARLY), Options(engine="auto", max_states=600, depth=1), Sources())
    assert result.engine == "explicit+induction"
    race = prop(result, "no_remove_under_writeback")
    assert race.verdict == "violated" and race.engine == "explicit" and race.trace.length == 9
    assert prop(result, "unlock_page.requires").engine == "induction"


# ---- the bit-vector codec (bmc) against the explicit engine's Python ----------------------

ARITH = """
int[-4..4] a = 0; int[-4..4] b = 1; int[0..3] i = 0; bool f[4]; bool g = false; int[2..9] w = 2;
thread t { a = -3; b = 2; i = 3; g = true; w = 9; a = 4; b = -4; i = 1; w = 5; }
thread u { f[i] = !f[i]; w = (w * 3 + a) % 8 + 2; b = b / 2 - 1; i = (i + 1) % 4; a = -a; }
invariant division: b != 0 -> (a / b) * b + a % b == a;
invariant mixed: (a < b ? a : b) <= b && (g -> f[i] || !f[i]) && -a >= -4 && w * a - b >= -45;
"""


def _bit_value(codec, value, subst) -> int:
    import z3
    term = value if z3.is_expr(value) else codec.number(value)
    out = z3.simplify(z3.substitute(term, *subst))
    if z3.is_true(out) or z3.is_false(out):
        return int(z3.is_true(out))
    return out.as_signed_long()


@pytest.mark.parametrize("source", ["arith", "ext4.lk", pytest.param("truncate_lock_inverted.lk", marks=pytest.mark.slow)])
def test_bit_codec_agrees_with_python_on_reachable_states(spec, source):
    from lockcheck.engines.symbolic.codec import BitCodec
    from reference.explicit import Explorer
    from reference.pycompile import compile_expr, compile_model

    path = spec(ARITH) if source == "arith" else str(REPO / "specs" / source)
    model = program_of(path)
    program = compile_model(model)
    codec = BitCodec(model, 8)
    xs = codec.state("")
    exprs = [e for edge in model.edges for e in ([edge.guard] if edge.guard is not None else [])
             + [c.cond for c in edge.checks] + [w.value for w in edge.writes] + [w.addr for w in edge.writes]]
    exprs += [p.cond for p in model.invariants]
    pairs = [(e, compile_expr(e), codec.value(e, xs)) for e in exprs]
    writes = [(w, codec.write(w.addr.value, codec.value(w.value, xs)))
              for edge in model.edges for w in edge.writes if isinstance(w.addr, ir.Lit)]
    ex = Explorer(program, Limits(max_states=300)).explore()
    states = [ex.state(i) for i in range(0, ex.count, max(1, ex.count // (40 if source == 'arith' else 8)))]
    compared = 0
    for state in states:
        subst = [(x, codec.const(j, state[j])) for j, x in enumerate(xs) if not codec.is_constant(j)]
        for e, fast, value in pairs:
            try:
                expected = int(fast(state))
            except (IndexError, ZeroDivisionError):
                continue   # an address out of the state or a division by zero: a bounds check fails first
            assert _bit_value(codec, value, subst) == expected, (e, state)
            compared += 1
        for w, term in writes:
            try:
                v = int(compile_expr(w.value)(state))
            except (IndexError, ZeroDivisionError):
                continue
            slot = w.addr.value
            if v in codec.domains[slot] and model.slots[slot].sort == "int" and not codec.is_constant(slot):
                got = codec.decode(slot, z3_value(term, subst))
                assert got == v, (model.slots[slot].name, state)
    assert compared > 100


def z3_value(term, subst) -> int:
    import z3
    return z3.simplify(z3.substitute(term, *subst)).as_long()


# ---- --property: one property, the engine's whole time ------------------------------------------

def test_only_the_properties_asked_for_are_checked_and_reported(spec):
    """ext4_unlock_early.lk: no_remove_under_writeback is violated (expected); asked alone, it is
    the only row, and the run says it checked no more; the verdict and trace are the full run's.
    Each symbolic engine likewise reports the one property asked for, with the verdict it gives
    when asked everything."""
    full = verify(str(UNLOCK_EARLY), Options(), Sources())
    one = verify(str(UNLOCK_EARLY), Options(properties=("no_remove_under_writeback",)), Sources())
    assert [p.name for p in one.properties] == ["no_remove_under_writeback"]
    assert prop(one, "no_remove_under_writeback").trace.length == prop(full, "no_remove_under_writeback").trace.length
    assert "only the properties asked for" in one.warnings[0] and one.exit_code == 0
    path = spec("lock m;\nint[0..2] n = 0;\nthread t[2] { acquire m; n = n + 1; release m; }\n"
                "invariant bounded: n <= 2;\ninvariant never_two: n != 2;\n")
    for engine in ("bmc", "induction", "pdr"):
        everything = {p.name: p.verdict for p in verify(path, Options(engine=engine), Sources()).properties}
        for name in ("bounded", "never_two"):
            result = verify(path, Options(engine=engine, properties=(name,)), Sources())
            assert [(p.name, p.verdict) for p in result.properties] == [(name, everything[name])], engine
        # n == 2 is 5 steps in: beyond induction's base case at k <= 4
        expected = ("holds", "unknown" if engine == "induction" else "violated")
        assert (everything["bounded"], everything["never_two"]) == expected, engine


def test_bmc_searches_only_for_the_property_asked_for(spec):
    """Two invariants broken at depths 1 and 3: asked for the deep one only, bmc finds it and
    says nothing of the other (not searched, not reported)."""
    path = spec("int[0..3] n = 0;\nthread t { n = 1; n = 2; n = 3; }\n"
                "invariant shallow: n != 1;\ninvariant deep: n != 3;\n")
    model = replace(program_of(path), asked=frozenset({"deep"}))
    result = check_bmc(model, Settings(depth=5))
    assert prop(result, "deep").verdict == "violated" and prop(result, "deep").trace.length == 3
    assert verify(path, Options(engine="bmc", properties=("deep",)), Sources()).properties[0].name == "deep"


def test_induction_asked_for_one_property_still_assumes_the_lemmas(spec):
    path = spec(NEEDS_LEMMA + "lemma no_a: !a;\n")
    result = check_induction(replace(program_of(path), asked=frozenset({"no_b"})), Settings(depth=1),
                             use_candidates=False)
    assert prop(result, "no_b").detail == "proved (k=1)"


def test_a_property_the_spec_does_not_have_is_an_error():
    code, out, err = cli("verify", "--property", "no_such_thing", str(EXT4))
    assert code == 2 and "Traceback" not in err
    assert "--property no_such_thing" in err and "no_remove_under_writeback" in err
    code, out, err = cli("verify", "--property", "*.ensures_nothing", str(EXT4))
    assert code == 2 and "--property *.ensures_nothing" in err


def test_a_pattern_names_every_property_it_matches():
    model = load_model(str(EXT4), Options(), Sources())
    contracts = sorted(n for n, p in model.properties.items() if p.kind == "requires")
    result = verify(str(EXT4), Options(properties=("*.requires", "deadlock")), Sources())
    assert sorted(p.name for p in result.properties) == sorted(contracts + ["deadlock"])
    assert len(contracts) > 5 and all(name.endswith(".requires") for name in contracts)


def test_a_built_in_check_asked_for_has_its_row():
    """Built-in checks that hold are listed on one line after the table; asked for alone,
    deadlock gets the table's one row (not an empty table)."""
    code, out, _ = cli("verify", "--property", "deadlock", str(UNLOCK_EARLY))
    rows = [line.split() for line in out.splitlines() if line.startswith("deadlock")]
    assert code == 0 and rows and rows[0][:3] == ["deadlock", "builtin", "holds"], out
    assert "also checked" not in out


def test_progress_says_what_a_symbolic_engine_is_doing(spec):
    """--progress (or a terminal): bmc's depth, induction's k, the property Spacer is asked
    about, each with the time so far, on stderr; the report on stdout is the same as without."""
    path = spec(NEEDS_LEMMA + "lemma no_a: !a;\n")
    for engine, said in (("bmc", "bmc: depth 3 of 5"), ("induction", "induction: k=1 of 5"),
                         ("pdr", "pdr: the shallow bmc search: depth 0 of 8")):
        code, out, err = cli("verify", "--engine", engine, "--depth", "5", "--progress", path)
        quiet_code, quiet_out, quiet_err = cli("verify", "--engine", engine, "--depth", "5", path)
        assert code == quiet_code == 0 and said in err and quiet_err == "", (engine, err)
        timed = re.compile(r"\d s\b")   # the summary line's seconds differ between runs
        assert [line for line in out.splitlines() if not timed.search(line)] == \
            [line for line in quiet_out.splitlines() if not timed.search(line)]
    code, out, err = cli("verify", "--engine", "bmc", "--progress", "--property", "no_b", path)
    assert code == 0 and "bmc: depth 1 of 30, 1 property open" in err, err
