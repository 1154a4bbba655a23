"""The parts of a body's lowering (lockcheck/lowering/), each on its own: a lowering built
for one thread of a small spec, one part's methods called directly, the result read off the
IR it produced (slots, edges, expressions), not off a whole exploration."""
from __future__ import annotations

import pytest

from lockcheck import ir
from lockcheck import syntax as s
from lockcheck.errors import Sources, SpecError
from lockcheck.lktypes import BoolT, IntT
from lockcheck.lower import ModelBuilder
from lockcheck.lowering.body import BodyLowering
from lockcheck.lowering.places import ConstBinding, Place, RefBinding, ValueBinding, addr_add, addr_mul
from lockcheck.resolve import build_env, load

SPEC = """
struct page { lock locked; bool dirty = true; int[0..3] n = 1; }
page pages[3];
bool flag;
spinlock sp;
const K = 2;
enum e { A, B }
thread t {
    STMTS
}
"""


def lowering(spec, stmts: str = "skip;") -> tuple[BodyLowering, ModelBuilder, s.Block]:
    path = spec(SPEC.replace("STMTS", stmts))
    sources = Sources()
    env = build_env(load(path, [], sources), {})
    builder = ModelBuilder(env, sources)
    decl = env.threads[0][0]
    low = BodyLowering(builder, 0, "t", 0, IntT(0, 0))
    low.scopes.append({})
    return low, builder, decl.body


def slot(builder: ModelBuilder, name: str) -> int:
    return next(i for i, x in enumerate(builder.slots) if x.name == name)


# ---- places.py ---------------------------------------------------------------------------

def test_address_arithmetic_folds_constants():
    assert addr_add(ir.Lit(3, "int"), ir.Lit(4, "int")) == ir.Lit(7, "int")
    x = ir.Var(9, "int")
    assert addr_add(x, ir.Lit(0, "int")) == x and addr_mul(x, 1) == x
    assert addr_mul(x, 3) == ir.Bin("*", x, ir.Lit(3, "int"), "int")


# ---- graph.py ----------------------------------------------------------------------------

def test_an_edge_touching_only_locals_is_local_and_one_on_a_global_is_a_step(spec):
    low, b, _ = lowering(spec)
    mine = low.new_local("x", BoolT(), visible=True)
    a, c, d = low.new_node(), low.new_node(), low.new_node()
    low.edge(a, c, text="x = true", span=b.env.globals["flag"].span,
             writes=[ir.Write(ir.Lit(mine, "int"), ir.TRUE, (mine,))])
    g = slot(b, "flag")
    low.edge(c, d, text="flag = x;", span=b.env.globals["flag"].span,
             writes=[ir.Write(ir.Lit(g, "int"), ir.Var(mine, "bool"), (g,))])
    first, second = b.edges[-2:]
    assert first.local and first.shown      # a user statement, run with the step before it
    assert not second.local and second.shown
    assert b.slots[mine].name == "t.x" and b.slots[mine].thread == 0
    assert low.node_text[a][0] == "x = true"


def test_nodes_inside_an_atomic_block_are_marked(spec):
    low, _, _ = lowering(spec)
    outside = low.new_node()
    low.atomic_depth = 1
    inside = low.new_node()
    assert low.atomic_nodes == {inside} and outside not in low.atomic_nodes


# ---- scopes.py ---------------------------------------------------------------------------

def test_lookup_finds_the_innermost_scope_then_consts_enums_and_globals(spec):
    low, b, _ = lowering(spec)
    assert low.lookup("K", b.env.consts["K"].span) == ConstBinding(2, IntT(2, 2))
    assert low.lookup("B", b.env.consts["K"].span).value == 1
    assert isinstance(low.lookup("pages", b.env.consts["K"].span), Place)
    assert low.lookup("flag", b.env.consts["K"].span) == ValueBinding(slot(b, "flag"), BoolT())
    low.scopes.append({})
    low.bind("flag", ConstBinding(1, BoolT()), b.env.consts["K"].span)
    assert low.lookup("flag", b.env.consts["K"].span) == ConstBinding(1, BoolT())


def test_a_name_bound_twice_in_one_block_and_an_unknown_name_are_errors(spec):
    low, b, _ = lowering(spec)
    span = b.env.consts["K"].span
    low.bind("x", ConstBinding(1, BoolT()), span)
    with pytest.raises(SpecError, match="already declared"):
        low.bind("x", ConstBinding(1, BoolT()), span)
    with pytest.raises(SpecError, match="unknown name 'flg'.*flag"):
        low.lookup("flg", span)


# ---- exprs.py ----------------------------------------------------------------------------

def test_a_field_of_a_static_element_is_a_static_slot(spec):
    low, b, body = lowering(spec, "flag = pages[1].dirty;")
    value, type_ = low.expr(body.body[0].value)
    assert value == ir.Var(slot(b, "pages[1].dirty"), "bool") and type_ == BoolT()


def test_a_dynamic_index_loads_from_every_candidate_and_obliges_the_bounds(spec):
    low, b, body = lowering(spec, "int[0..3] i = 0; flag = pages[i].dirty;")
    i = low.new_local("i", IntT(0, 3), visible=True)
    low.bind("i", ValueBinding(i, IntT(0, 3)), body.span)
    value, _ = low.expr(body.body[1].value)
    assert isinstance(value, ir.Load)
    assert value.candidates == tuple(slot(b, f"pages[{k}].dirty") for k in range(3))
    (check,) = low.take_obligations("exec")
    assert check.prop == "bounds" and "0..2" in check.message


def test_short_circuit_guards_the_obligations_on_its_right(spec):
    low, b, body = lowering(spec, "int[0..3] i = 0; flag = i < 3 && pages[i].dirty;")
    i = low.new_local("i", IntT(0, 3), visible=True)
    low.bind("i", ValueBinding(i, IntT(0, 3)), body.span)
    low.expr(body.body[1].value)
    (check,) = low.take_obligations("exec")
    assert isinstance(check.cond, ir.Bin) and check.cond.op == "->"


def test_type_errors_in_expressions(spec):
    low, _, body = lowering(spec, "flag = 1 + true;")
    with pytest.raises(SpecError, match="expected an integer"):
        low.expr(body.body[0].value)


# ---- locks.py ----------------------------------------------------------------------------

def test_acquire_is_guarded_by_the_lock_being_free_and_writes_the_owner(spec):
    low, b, body = lowering(spec, "acquire pages[0].locked;")
    src = low.new_node()
    low.stmt(body.body[0], src)
    edge = b.edges[-1]
    lock = slot(b, "pages[0].locked")
    assert edge.guard == ir.Bin("==", ir.Var(lock, "int"), ir.Lit(0, "int"), "bool")
    assert edge.writes == (ir.Write(ir.Lit(lock, "int"), ir.Lit(1, "int"), (lock,)),)
    assert {c.prop for c in edge.checks} == {"double_acquire", "sleep_under_spinlock"}


def test_exit_checks_cover_every_lock(spec):
    low, b, _ = lowering(spec)
    checks = low.exit_checks(b.env.consts["K"].span)
    assert len(checks) == 4 and {c.prop for c in checks} == {"exit_holding_lock"}


# ---- control.py --------------------------------------------------------------------------

def test_an_if_on_shared_state_is_two_guarded_steps(spec):
    low, b, body = lowering(spec, "if (flag) { skip; }")
    src = low.new_node()
    low.stmt(body.body[0], src)
    branches = [e for e in b.edges if e.src == src]
    assert [e.branch for e in branches] == ["true", "false"]
    assert branches[1].guard == ir.negate(branches[0].guard)
    assert not any(e.local for e in branches)


def test_break_outside_a_loop_is_an_error(spec):
    low, _, body = lowering(spec, "break;")
    with pytest.raises(SpecError, match="outside a loop"):
        low.stmt(body.body[0], low.new_node())


# ---- calls.py ----------------------------------------------------------------------------

def test_a_call_binds_a_reference_and_its_steps_carry_the_proc_as_context(spec):
    path_text = "proc clean(page p) { p.dirty = false; }\n"
    low, b, body = lowering(spec, "clean(pages[2]);")
    b.env.procs["clean"] = _proc(spec, path_text)
    low.stmt(body.body[0], low.new_node())
    store = next(e for e in b.edges if e.text == "p.dirty = false")
    assert store.context == ("clean",)
    ref = next(x for x in b.slots if x.name == "t.clean.p")
    assert ref.kind == "ref" and ref.value_names == ("pages[2]",)
    assert dict(store.refs)["p"] == b.slots.index(ref)


def _proc(spec, text: str) -> s.ProcDecl:
    path = spec(SPEC.replace("STMTS", "skip;") + text)
    env = build_env(load(path, [], Sources()), {})
    return env.procs["clean"]


def test_a_ref_binding_reads_through_its_slot(spec):
    low, b, _ = lowering(spec)
    ref = low.new_local("p", b.env.structs["page"], visible=False, values=(0, 3, 6))
    low.bind("p", RefBinding(ref, b.env.structs["page"], (0, 3, 6)), b.env.consts["K"].span)
    place = low.place(s.Name(b.env.consts["K"].span, "p"))
    assert place.addr == ir.Var(ref, "int") and place.candidates == (0, 3, 6)
