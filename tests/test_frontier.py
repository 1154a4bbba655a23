"""The frontier engine (numpy, whole levels at once) against the scalar engine it replaces,
kept here as the reference: the same states, transitions and depth, the same verdict for
every property, counterexamples of the same length with as few thread switches, the same
statements left unrun. On every spec in specs/, the small models of the other tests, the
random specs of tests/random_specs.py, and random specs with arrays, dynamic indices,
references, nondeterminism inside atomic blocks and an init block (below)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SPECS
from lockcheck.api import Options, load_model
from reference.explicit import Limits, check_explicit
from lockcheck.engines.explicit import SearchLimits, check_frontier
from lockcheck.errors import Sources
from reference.pycompile import compile_model
from lockcheck.result import Result
from random_specs import random_spec_settings, write_spec, specs as random_specs

RANDOM_EXAMPLES = 10          # of each generator in the default run; `pytest -m slow` runs more
RANDOM_EXAMPLES_SLOW = 300


def switches(trace) -> int:
    threads = [s.thread for s in trace.steps if s.number is not None]
    return sum(1 for a, b in zip(threads, threads[1:]) if a != b)


def summary(result: Result) -> dict:
    props = {}
    for p in result.properties:
        trace = (p.trace.length, switches(p.trace), p.trace.steps[-1].failed if p.trace.steps else "") \
            if p.trace is not None else None
        props[p.name] = (p.verdict, trace)
    coverage = {c.thread: ([t for t, _ in c.unreached], [t for t, _ in c.unused]) for c in result.coverage}
    s = result.stats
    return {"states": s.states, "transitions": s.transitions, "depth": s.max_depth, "limit": s.limit,
            "properties": props, "coverage": coverage}


def assert_agree(path: str, **defines: str) -> Result:
    model = load_model(path, Options(defines=defines), Sources())
    reference, _ = check_explicit(compile_model(model), Limits())
    frontier, _ = check_frontier(model, SearchLimits())
    assert summary(frontier) == summary(reference)
    return frontier


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_every_spec_agrees(path):
    assert_agree(str(path))


def test_ext4_with_more_pages_agrees():
    result = assert_agree(str(SPECS[0].parent / "ext4.lk"), NPAGES="3")
    assert result.stats.states == 14879   # (6667 before wait_on_page_writeback became the waitqueue loop)


def _test_models() -> dict[str, str]:
    from test_engines_agree import TEST_MODELS
    return TEST_MODELS


@pytest.mark.parametrize("name", sorted(_test_models()))
def test_test_models_agree(spec, name):
    assert_agree(spec(_test_models()[name]))


@random_spec_settings(RANDOM_EXAMPLES)
@given(text=random_specs())
def test_random_specs_agree(tmp_path, text):
    assert_agree(write_spec(tmp_path, text, "random.lk"))


# ---- random specs over arrays of objects ----------------------------------------------------

_STATEMENTS = [
    "touch(objs[self % K]);",
    "touch(objs[i]);",
    "i = (i + 1) % K;",
    "flags[i] = !flags[i];",
    "for o in objs { if (o.f) { o.n = o.n / 2; } }",
    "atomic { choose { objs[i].f = true; } or { objs[i].f = false; i = 0; } }",
    "atomic { await flags[i]; flags[i] = false; }",
    "acquire objs[i].l; objs[i].f = !objs[i].f; release objs[i].l;",
    "bool got = try_acquire objs[self % K].l; if (got) { objs[self % K].n = 3; release objs[self % K].l; }",
    "acquire s; flags[self % 3] = true; release s;",
    "int[0..3] k = 0; while (k < objs[i].n) { k = k + 1; }",
    "assert objs[i].n != 3;",
    "int[0..3] m = 6 / (objs[0].n + 1);",
    "acquire objs[0].l; acquire objs[K - 1].l; release objs[K - 1].l; release objs[0].l;",
    "acquire objs[K - 1].l; acquire objs[0].l; release objs[0].l; release objs[K - 1].l;",
    "if (objs[i].n > 1 && flags[2]) { objs[i].n = objs[i].n - 1; } else { flags[2] = true; }",
    "choose { i = K - 1; } or { atomic { i = 0; flags[0] = !flags[1]; } }",
]

_INVARIANTS = [
    "forall o in objs: o.n < 3 || !o.f",
    "exists o in objs: !o.f",
    "!(flags[0] && flags[1] && flags[2])",
    "objs[i].n <= 2 || locked(objs[i].l)",
]


@st.composite
def object_specs(draw: st.DrawFn) -> str:
    k = draw(st.integers(1, 3))
    lines = [f"const K = {k};",
             "struct obj { lock l; bool f = false; int[0..3] n = 0; }",
             "obj objs[K];", f"int[0..{k - 1}] i = 0;", "bool flags[3];", "spinlock s;",
             "proc touch(obj o) requires !o.f || o.n < 3 { acquire o.l; o.n = (o.n + 1) % 4; release o.l; }"]
    if draw(st.booleans()):
        lines.append("init { choose { flags[1] = true; } or { objs[0].f = true; } or { skip; } }")
    statements = st.sampled_from(_STATEMENTS)
    for t in range(draw(st.integers(1, 2))):
        count = draw(st.sampled_from(["", "[2]"]))
        body = " ".join(draw(st.lists(statements, min_size=1, max_size=3, unique=True)))
        lines.append(f"thread w{t}{count} {{ {body} }}")
    lines.append(f"invariant inv: {draw(st.sampled_from(_INVARIANTS))};")
    return "\n".join(lines) + "\n"


@random_spec_settings(RANDOM_EXAMPLES)
@given(text=object_specs())
def test_random_object_specs_agree(tmp_path, text):
    assert_agree(write_spec(tmp_path, text, "objects.lk"))


@pytest.mark.slow
@random_spec_settings(RANDOM_EXAMPLES_SLOW)
@given(text=random_specs())
def test_many_random_specs_agree(tmp_path, text):
    assert_agree(write_spec(tmp_path, text, "random.lk"))


@pytest.mark.slow
@random_spec_settings(RANDOM_EXAMPLES_SLOW)
@given(text=object_specs())
def test_many_random_object_specs_agree(tmp_path, text):
    assert_agree(write_spec(tmp_path, text, "objects.lk"))
