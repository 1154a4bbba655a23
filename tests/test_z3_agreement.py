"""Z3 gives invariants, guards and checks their meaning; the explicit engine evaluates them
through compiled Python. The two must agree: on random states of every spec (Hypothesis)
and on every reachable state of the specs in specs/."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SPECS, model_of
from lockcheck import ir
from lockcheck.engines.explicit import Explorer, Limits
from lockcheck.pycompile import compile_expr, compile_model
from lockcheck.smt import concrete_state, state_vars, to_z3, value_in

SMALL_MODELS = {
    "arith": """
int[-4..4] a = 0; int[-4..4] b = 1; int[0..3] i = 0; bool f[4]; bool g = false;
thread t { a = -3; b = 2; i = 3; g = true; }
invariant division: b != 0 -> (a / b) * b + a % b == a;
invariant mixed: (a < b ? a : b) <= b && (g -> f[i] || !f[i]) && -a >= -4;
invariant quantified: forall k in 0..3: exists j in f: j || !f[k];
""",
}


def _expressions(model: ir.Model) -> list[tuple[str, list[ir.Expr]]]:
    """Each edge's guard and checks in the order the engine evaluates them, and each invariant."""
    out: list[tuple[str, list[ir.Expr]]] = []
    for edge in model.edges:
        seq = [c.cond for c in edge.checks if c.when == "attempt"]
        if edge.guard is not None:
            seq.append(edge.guard)
        seq += [c.cond for c in edge.checks if c.when == "exec"] + [w.value for w in edge.writes]
        out.append((f"edge {edge.id} {edge.text}", seq))
    for prop in model.invariants:
        out.append((f"invariant {prop.name}", [prop.cond]))
    return out


class Agreement:
    def __init__(self, model: ir.Model):
        self.model = model
        self.vars = state_vars(model)
        self.groups = [(name, [(compile_expr(e), to_z3(e, self.vars)) for e in exprs])
                       for name, exprs in _expressions(model)]

    def check(self, state: tuple) -> int:
        substitution = concrete_state(self.model, self.vars, state)
        compared = 0
        for name, seq in self.groups:
            for fast, term in seq:
                try:
                    expected = value_in(term, substitution)
                except Exception as err:  # pragma: no cover - would be a bug in the encoding
                    raise AssertionError(f"{name}: z3 failed: {err}")
                try:
                    got = int(fast(state))
                except IndexError:
                    break  # an address out of the state: a bounds check before it failed
                assert got == expected, f"{name}: python {got} != z3 {expected} in {state}"
                compared += 1
                if got == 0 and term.sort().name() == "Bool":
                    break  # a failed check or a false guard: what follows is not evaluated
        return compared


def _states(model: ir.Model):
    return st.tuples(*[st.sampled_from(slot.domain()) if slot.kind in ("ref", "enum")
                       else st.integers(slot.low, min(slot.high, slot.low + 40)) for slot in model.slots])


def _models():
    out = [(p.name, model_of(str(p))) for p in SPECS]
    return out


@pytest.mark.parametrize("name,text", sorted(SMALL_MODELS.items()))
def test_small_models_agree(spec, name, text):
    model = model_of(spec(text))
    agreement = Agreement(model)

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(_states(model))
    def run(state):
        agreement.check(state)

    run()


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_random_states_agree(path):
    model = model_of(str(path))
    agreement = Agreement(model)

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_states(model))
    def run(state):
        agreement.check(state)

    run()


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_reachable_states_agree_on_invariants(path):
    model = model_of(str(path))
    explorer = Explorer(compile_model(model), Limits(max_states=5000))
    states = explorer.explore().states
    vars_ = state_vars(model)
    invariants = [(compile_expr(p.cond), to_z3(p.cond, vars_)) for p in model.invariants]
    assert invariants and states
    for state in states:
        substitution = concrete_state(model, vars_, state)
        for fast, term in invariants:
            assert int(fast(state)) == value_in(term, substitution)
