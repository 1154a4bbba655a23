"""A Hypothesis strategy for small random specs: 2-3 threads over a few locks, bools and a
small int, with awaits, asserts, branches, atomic blocks and nondeterministic choice, and
an invariant or a lemma. Small enough that the explicit engine sees every state at once, so
every engine can be held to its verdicts."""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


@dataclass(frozen=True)
class Shape:
    locks: int
    bools: int
    threads: int


def _bool(shape: Shape) -> st.SearchStrategy[str]:
    return st.integers(0, shape.bools - 1).map(lambda i: f"b{i}")


def _cond(shape: Shape) -> st.SearchStrategy[str]:
    b = _bool(shape)
    return st.one_of(
        b,
        b.map(lambda x: f"!{x}"),
        st.tuples(b, b).map(lambda p: f"{p[0]} && !{p[1]}"),
        st.tuples(b, b).map(lambda p: f"{p[0]} || {p[1]}"),
        st.integers(0, 2).map(lambda v: f"x == {v}"),
        st.integers(0, 2).map(lambda v: f"x < {v}"),
    )


def _simple(shape: Shape) -> st.SearchStrategy[str]:
    """Statements that may go inside an atomic block."""
    b = _bool(shape)
    return st.one_of(
        st.tuples(b, st.sampled_from(["true", "false"])).map(lambda p: f"{p[0]} = {p[1]};"),
        st.tuples(b, b).map(lambda p: f"{p[0]} = !{p[1]};"),
        st.just("x = x + 1;"),
        st.just("x = 0;"),
        _cond(shape).map(lambda c: f"assert {c};"),
        st.just("skip;"),
    )


def _stmt(shape: Shape, depth: int) -> st.SearchStrategy[str]:
    lock = st.integers(0, shape.locks - 1)
    options = [
        _simple(shape),
        lock.map(lambda i: f"acquire l{i};"),
        lock.map(lambda i: f"release l{i};"),
        _cond(shape).map(lambda c: f"await {c};"),
        st.lists(_simple(shape), min_size=1, max_size=3).map(lambda ss: "atomic { " + " ".join(ss) + " }"),
    ]
    if depth > 0:
        inner = st.lists(_stmt(shape, depth - 1), min_size=1, max_size=2).map(" ".join)
        options += [
            st.tuples(_cond(shape), inner, inner).map(lambda p: f"if ({p[0]}) {{ {p[1]} }} else {{ {p[2]} }}"),
            st.tuples(inner, inner).map(lambda p: f"choose {{ {p[0]} }} or {{ {p[1]} }}"),
        ]
    return st.one_of(options)


def _locked_section(shape: Shape) -> st.SearchStrategy[str]:
    """acquire; body; release, the common well-formed case."""
    return st.tuples(st.integers(0, shape.locks - 1), st.lists(_simple(shape), min_size=1, max_size=2)).map(
        lambda p: f"acquire l{p[0]}; {' '.join(p[1])} release l{p[0]};")


@st.composite
def specs(draw: st.DrawFn) -> str:
    shape = Shape(draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(2, 3)))
    lines = [f"lock l{i};" for i in range(shape.locks)]
    lines += [f"bool b{i} = {draw(st.sampled_from(['true', 'false']))};" for i in range(shape.bools)]
    lines.append("int[0..2] x = 0;")
    for t in range(shape.threads):
        body = draw(st.lists(st.one_of(_stmt(shape, 1), _locked_section(shape)), min_size=1, max_size=4))
        lines.append(f"thread t{t} {{ {' '.join(body)} }}")
    kind = draw(st.sampled_from(["invariant", "lemma", "none"]))
    if kind != "none":
        lines.append(f"{kind} p0: {draw(_cond(shape))};")
    if draw(st.booleans()):
        lines.append(f"invariant p1: {draw(_cond(shape))} || {draw(_cond(shape))};")
    return "\n".join(lines) + "\n"


def random_spec_settings(examples: int):
    """Hypothesis settings for a test over random specs: reproducible, no deadline (a spec
    may take a while to check), and quiet about a tmp_path fixture reused across examples."""
    return settings(max_examples=examples, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def write_spec(tmp_path, text: str, name: str = "random.lk") -> str:
    """A generated spec written to a file (a Hypothesis example reuses tmp_path): its path."""
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _own(shape: Shape) -> st.SearchStrategy[str]:
    """Statements of a thread array's instance on its own element of `mine`, and symmetric
    tests over all of them."""
    return st.one_of(
        st.sampled_from(["true", "false"]).map(lambda v: f"mine[self] = {v};"),
        st.just("mine[self] = !mine[self];"),
        st.just("await !mine[self];"),
        _bool(shape).map(lambda b: f"mine[self] = {b};"),
        _bool(shape).map(lambda b: f"assert !mine[self] || {b};"),
        st.just("assert forall k in 0..K-1: (k != self && mine[k]) -> !mine[self];"),
    )


@st.composite
def symmetric_specs(draw: st.DrawFn) -> str:
    """A thread array `w[K]` of instances alike but for their own element of `mine`, beside
    a thread of another kind: specs where the instances are interchangeable, unless the
    other thread tells them apart (mine[0]), for the symmetry reduction."""
    shape = Shape(draw(st.integers(1, 2)), draw(st.integers(1, 2)), 2)
    k = draw(st.integers(2, 3))
    lines = [f"const K = {k};"]
    lines += [f"lock l{i};" for i in range(shape.locks)]
    lines += [f"bool b{i} = {draw(st.sampled_from(['true', 'false']))};" for i in range(shape.bools)]
    lines += ["int[0..2] x = 0;", "bool mine[K];"]
    own = st.one_of(_own(shape), _stmt(shape, 1), _locked_section(shape))
    body = draw(st.lists(own, min_size=1, max_size=4))
    lines.append(f"thread w[K] {{ {' '.join(body)} }}")
    # now and then the other thread tells the instances apart: the symmetry must then be refused
    other = draw(st.lists(st.one_of(_stmt(shape, 1), _locked_section(shape)), min_size=1, max_size=3))
    if draw(st.booleans()):
        apart = draw(st.sampled_from(["mine[0] = true;", "await !mine[1];", "b0 = mine[0];"]))
        other.insert(draw(st.integers(0, len(other))), apart)
    lines.append(f"thread other {{ {' '.join(other)} }}")
    if draw(st.booleans()):
        lines.append(f"invariant p0: {draw(_cond(shape))};")
    if draw(st.booleans()):
        lines.append("invariant p1: forall k in 0..K-1: mine[k] -> (b0 || x < 2);")
    return "\n".join(lines) + "\n"
