"""Z3 gives invariants, guards and checks their meaning; the reference engine evaluates them
through compiled Python, and the transition system every engine uses through the array
evaluator (engines/explicit/evaluate.py). They must agree: on random states of every spec
(Hypothesis) and on every reachable state of the specs in specs/."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SPECS, model_of
from lockcheck import ir
from reference.explicit import Explorer, Limits
from reference.pycompile import compile_expr, compile_model
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


def _edge_sequence(edge: ir.Edge) -> list[ir.Expr]:
    """An edge's checks, guard and written values in the order the engine evaluates them."""
    seq = [c.cond for c in edge.checks if c.when == "attempt"]
    if edge.guard is not None:
        seq.append(edge.guard)
    return seq + [c.cond for c in edge.checks if c.when == "exec"] + [w.value for w in edge.writes]


class Agreement:
    """Python against Z3; each value compared is kept in `seen` (by expression) so that the
    array evaluator can be compared with it afterwards, all states of an expression at once."""

    def __init__(self, model: ir.Model):
        self.model = model
        self.vars = state_vars(model)
        self.seen: dict[int, tuple[ir.Expr, list[int], list[int]]] = {}   # expr -> (rows of `states`, values)
        self.states: list[tuple] = []
        self._row: dict[tuple, int] = {}

        def pair(e: ir.Expr):
            fast = compile_expr(e)

            def kept(state: tuple) -> int:
                value = int(fast(state))
                row = self._row.get(state)
                if row is None:
                    row = self._row[state] = len(self.states)
                    self.states.append(state)
                entry = self.seen.setdefault(id(e), (e, [], []))
                entry[1].append(row)
                entry[2].append(value)
                return value

            return kept, to_z3(e, self.vars), sorted(ir.slots_read(e))

        self.edges = {e.id: (f"edge {e.id} {e.text}", [pair(x) for x in _edge_sequence(e)]) for e in model.edges}
        self.invariants = [(f"invariant {p.name}", [pair(p.cond)]) for p in model.invariants]

    def check_invariants(self, state: tuple) -> int:
        substitution = concrete_state(self.model, self.vars, state)
        for name, seq in self.invariants:
            for fast, term, reads in seq:
                got, expected = int(fast(state)), value_in(term, [substitution[i] for i in reads])
                assert got == expected, f"{name}: python {got} != z3 {expected} in {state}"
        return len(self.invariants)

    def check(self, state: tuple, only_enabled: bool = False) -> int:
        """Compare every expression (or, with only_enabled, those of the edges at the threads'
        current pcs) and every invariant in one state; returns how many were compared."""
        if only_enabled:
            at = {(t.index, state[t.pc_slot]) for t in self.model.threads}
            groups = [g for e, g in self.edges.items()
                      if (self.model.edges[e].thread, self.model.edges[e].src) in at]
        else:
            groups = list(self.edges.values())
        substitution = concrete_state(self.model, self.vars, state)
        compared = 0
        for name, seq in groups + self.invariants:
            for fast, term, reads in seq:
                try:
                    expected = value_in(term, [substitution[i] for i in reads])
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


def array_agrees(agreement: Agreement) -> int:
    """The array evaluator gives every value Python gave (where Python could evaluate it)."""
    import numpy as np

    from lockcheck.engines.explicit.evaluate import ArrayExpr, Rows

    compared = 0
    matrix = np.asarray(agreement.states, dtype=np.int64)
    for e, rows, values in agreement.seen.values():
        got = ArrayExpr(e).values(Rows(matrix[rows]))
        expected = np.asarray(values, dtype=np.int64)
        if e.sort == "bool":
            got = got.astype(bool).astype(np.int64)
        bad = np.nonzero(got != expected)[0]
        assert not len(bad), f"{e}: arrays {got[bad[0]]} != python {expected[bad[0]]} in {agreement.states[rows[bad[0]]]}"
        compared += len(values)
    return compared


def _states(model: ir.Model):
    return st.tuples(*[st.sampled_from(slot.domain()) if slot.kind in ("ref", "enum")
                       else st.integers(slot.low, min(slot.high, slot.low + 40)) for slot in model.slots])


def _models():
    out = [(p.name, model_of(str(p))) for p in SPECS]
    return out


def agree_on_random_states(model: ir.Model, examples: int) -> None:
    agreement = Agreement(model)
    compared = []

    @settings(max_examples=examples, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_states(model))
    def run(state):
        compared.append(agreement.check(state))

    run()
    assert sum(compared) > 0
    assert array_agrees(agreement) == sum(compared)


@pytest.mark.parametrize("name,text", sorted(SMALL_MODELS.items()))
def test_small_models_agree(spec, name, text):
    agree_on_random_states(model_of(spec(text)), 300)


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_random_states_agree(path):
    agree_on_random_states(model_of(str(path)), 40)


# the specs with the most reachable states: `pytest -m slow` (.ci/run runs it)
LARGE_SPECS = {"cluster_first_only.lk", "cluster.lk", "ext3.lk", "ext3_lock_only.lk", "ext4_journal_refuse.lk"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.name in LARGE_SPECS else p
                                  for p in SPECS], ids=[p.name for p in SPECS])
def test_reachable_states_agree(path):
    """Every reachable state: the invariants; and in the first 1500 of them, every step
    enabled there (its checks, guard and written values)."""
    model = model_of(str(path))
    explorer = Explorer(compile_model(model), Limits())
    ex = explorer.explore()
    assert not ex.limit
    agreement = Agreement(model)
    compared = 0
    for i in range(ex.count):
        state = ex.state(i)
        if i < 1500:
            compared += agreement.check(state, only_enabled=True)
        else:
            compared += agreement.check_invariants(state)
    # at least one expression in each of the first 1500 states, and every invariant in the rest
    assert compared >= min(ex.count, 1500) + len(agreement.invariants) * max(ex.count - 1500, 0)
    assert array_agrees(agreement) == compared
