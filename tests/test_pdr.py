"""The pdr engine (Spacer on Horn clauses): it proves what holds at every depth with no lemma
and prints the inductive invariant as the proof; what it finds reachable is violated with the
explicit engine's shortest counterexample (found by bmc); and it never proves what the
explicit engine violates (tests/test_engines_agree.py checks that on specs, test models and
random specs)."""
from __future__ import annotations

import pytest
import z3
from hypothesis import given

from conftest import SPECS, cli
from lockcheck import ir
from lockcheck.api import Options, load_model
from reference.explicit import Limits, check_explicit
from lockcheck.engines.symbolic.cone import SlotReader, kept_steps
from lockcheck.engines.symbolic.encoding import Encoder
from lockcheck.engines.symbolic.clauses import ClausePrinter
from lockcheck.engines.symbolic.pdr import SHALLOW_DEPTH, Slices, check_pdr
from lockcheck.engines.symbolic.shared import Settings, goals_of, tools, trivially_safe
from lockcheck.engines.symbolic.strengthen import _text, live_locals
from lockcheck.engines.tracing import position_texts
from lockcheck.errors import Sources
from random_specs import random_spec_settings, specs as random_specs, write_spec

# 12 increments, then done: deeper than the shallow bmc search, so Spacer must prove it
COUNTER = """
int[0..15] n = 0;
bool done = false;
thread t { while (n < 12) { n = n + 1; } done = true; }
invariant counted: done -> n == 12;
invariant never_done: !done;
expect violation never_done;
"""


def results(path: str):
    program = load_model(path, Options(), Sources())
    return ({p.name: p for p in check_pdr(program, Settings(timeout=120)).properties},
            {p.name: p for p in check_explicit(program, Limits())[0].properties})


def test_pdr_proves_beyond_the_bmc_depth_and_prints_the_invariant(spec):
    pdr, explicit = results(spec(COUNTER))
    counted = pdr["counted"]
    assert explicit["counted"].verdict == "holds"
    assert counted.verdict == "holds" and counted.engine == "pdr"
    assert counted.detail.startswith("proved (pdr): an inductive invariant of")
    clauses = counted.detail.splitlines()[1:]
    assert clauses and any("n" in c.split() or "n " in c for c in clauses), counted.detail
    assert "search" not in counted.detail    # not bmc's exhaustive search: a proof


PRINTED = """
struct page { lock locked; }
page pages[3];
int[0..3] i = 0;
bool flag = false;
proc work(page p, page q) {
    acquire p.locked;
    flag = true;
    release p.locked;
}
thread w {
    choose a in pages {
        choose b in pages {
            work(a, b);
        }
    }
    i = 2;
}
"""


def test_the_invariant_is_printed_in_the_specs_terms(spec):
    """Spacer writes a slot's value as bits of its position in the slot's domain; the printer
    turns each part that reads one slot back into the values it allows, and merges the parts
    of a clause that read the same slot (each expected text below worked out from the domains)."""
    model = load_model(spec(PRINTED), Options(), Sources())
    enc = Encoder(model, bits=True)
    codec = enc.codec
    slot = {s.name: j for j, s in enumerate(model.slots)}
    w = model.threads[0]
    names = [w.pc_slot, slot["i"], slot["flag"], slot["w.work.p"], slot["w.work.q"]]
    sorts = [enc.template().x0[j].sort() for j in names]
    pc, i, flag, p, q = (z3.Var(k, sort) for k, sort in enumerate(sorts))
    printer = ClausePrinter(enc, dict(enumerate(names)), dict(enumerate(sorts)))

    def at(pc_value: int) -> z3.ExprRef:
        return pc == z3.BitVecVal(codec.domains[w.pc_slot].index(pc_value), sorts[0].size())

    text = {pc_value: t for pc_value, (t, _) in w.node_text.items()}
    flag_pc = next(v for v, t in text.items() if t == "work: flag = true")
    release_pc = next(v for v, t in text.items() if t == "work: release p.locked")
    # two parts over the pc in one clause: one condition naming both places
    assert printer.show(z3.Or(at(flag_pc), z3.Not(flag), at(release_pc))) == \
        "w at 'work: flag = true' or 'work: release p.locked' || !flag"
    # a bit of the pc's position: the resting pcs whose position has that bit
    bit = z3.Extract(0, 0, pc) == 1
    resting = [v for v in codec.domains[w.pc_slot] if v in set(ir.resting_pcs(model, w))]
    odd = [v for v in resting if codec.domains[w.pc_slot].index(v) % 2 == 1]
    shown = printer.show(bit)
    assert (shown.startswith("w at ") and shown.count("'") == 2 * len(odd)) or \
        (shown.startswith("w not at ") and shown.count("'") == 2 * (len(resting) - len(odd))), shown
    # ints in order: a prefix of the domain is `<=`, one value `=`, all but one `!=`
    assert printer.show(z3.ULE(i, 1)) == "i <= 1"
    assert printer.show(2 * z3.ZeroExt(1, i) == 4) == "i = 2"
    assert printer.show(z3.Or(i == 0, i == 1, i == 3)) == "i != 2"
    # references: by the object's name; two references compared
    p_domain = codec.domains[slot["w.work.p"]]
    page1 = z3.BitVecVal(p_domain.index(next(v for v, n in zip(model.slots[slot["w.work.p"]].values,
                                                                model.slots[slot["w.work.p"]].value_names)
                                             if n == "pages[1]")), sorts[3].size())
    assert printer.show(p != page1) == "w.work.p != pages[1]"
    assert printer.show(z3.Not(p == q)) == "w.work.p != w.work.q"



def test_pdr_violation_deeper_than_the_bmc_depth_has_the_shortest_trace(spec):
    pdr, explicit = results(spec(COUNTER))
    never = pdr["never_done"]
    assert never.verdict == "violated"
    assert never.trace is not None and never.trace.length == explicit["never_done"].trace.length
    assert never.trace.length > SHALLOW_DEPTH


def test_pdr_from_the_command_line_shows_the_proof(spec):
    code, out, _ = cli("verify", "--engine", "pdr", spec(COUNTER))
    assert code == 0, out
    assert "pdr engine" in out and "proved (pdr)" in out
    assert "-- counted: proved (pdr): an inductive invariant" in out


# ---- cone-of-influence slices ---------------------------------------------------------------

# `counted` reads n and done, which only t writes: u and v, and their slots, are out of its cone
SLICED = """
int[0..15] n = 0;
bool done = false;
int[0..3] noise = 0;
bool chatter = false;
thread t { while (n < 12) { n = n + 1; } done = true; }
thread u { chatter = true; chatter = false; chatter = true; }
thread v { noise = 1; noise = 2; noise = 3; }
invariant counted: done -> n == 12;
"""

# x becomes 2 only through a guard on `armed`, which d sets after x is 1: armed, and what d
# waits on, are in the cone of never_two (without that guard the slice could reach x == 2)
GUARDED = """
bool armed = false;
bool go = false;
int[0..3] x = 0;
bool noise = false;
thread w { await go; if (armed) { x = 2; } else { x = 1; } }
thread a { go = true; }
thread d { await x == 1; armed = true; }
thread n { noise = true; noise = false; }
invariant never_two: x != 2;
"""
ARMED = GUARDED.replace("thread a { go = true; }", "thread a { armed = true; go = true; }")


def cone_names(path: str, prop: str) -> set[str]:
    model = load_model(path, Options(), Sources())
    enc = Encoder(model, bits=True)
    system, _, _ = tools(model)
    slices = Slices(enc, system)
    goal = next(g for g in goals_of(enc, with_nesting=True) if g.name == prop)
    return {model.slots[j].name for j in slices.cone(goal)}


def test_the_slice_drops_what_the_property_does_not_depend_on_and_pdr_proves_it(spec):
    path = spec(SLICED)
    names = cone_names(path, "counted")
    assert {"n", "done", "t.pc"} <= names
    assert not names & {"noise", "chatter", "u.pc", "v.pc"}, names
    pdr, explicit = results(path)
    assert explicit["counted"].verdict == "holds"
    assert pdr["counted"].verdict == "holds"
    assert pdr["counted"].detail.splitlines()[1].startswith(
        f"(on its cone of influence: {len(names)} of 7 slots, 1 of 3 threads' positions"), pdr["counted"].detail


def test_a_slot_read_by_a_guard_of_a_step_writing_the_cone_is_kept(spec):
    path = spec(GUARDED)
    names = cone_names(path, "never_two")
    assert {"x", "armed", "go", "w.pc", "a.pc", "d.pc"} <= names, names
    assert not names & {"noise", "n.pc"}, names
    pdr, explicit = results(path)
    assert explicit["never_two"].verdict == "holds"
    assert pdr["never_two"].verdict == "holds", pdr["never_two"].detail


def test_when_the_guarding_slot_can_be_set_pdr_finds_the_violation_on_the_whole_model(spec):
    pdr, explicit = results(spec(ARMED))
    assert explicit["never_two"].verdict == "violated"
    assert pdr["never_two"].verdict == "violated"
    assert pdr["never_two"].trace is not None
    assert pdr["never_two"].trace.length == explicit["never_two"].trace.length


def assert_slices_cover_the_model(path: str) -> None:
    """Every step of the model from a reachable state, projected on a property's cone, is a
    step of the slice or leaves the projection as it was (what makes a proof on the slice
    a proof on the model), for every property pdr would ask Spacer about; and the cone is
    closed (what keeps the slice exact). Locals the Horn
    clauses reset when they are dead (pdr's docstring) are not compared."""
    model = load_model(path, Options(), Sources())
    enc = Encoder(model, bits=True)
    system, _, _ = tools(model)
    slices = Slices(enc, system)
    codec, x0 = enc.codec, enc.template().x0
    reached = system.reach(100_000)
    assert not reached.limit
    live = {t.index: live_locals(model, t) for t in model.threads}

    def encode(state: tuple) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        return [(x0[j], codec.const(j, v)) for j, v in enumerate(state) if not codec.is_constant(j)]

    for goal in goals_of(enc, with_nesting=True):
        if trivially_safe(enc, goal):
            continue
        cone = slices.cone(goal)
        kept = kept_steps(slices.steps, cone)
        assert cone >= SlotReader(x0)(slices.bad(goal))
        for s in kept:   # closed: what a kept step reads to run, and to write into the cone, is in it
            assert s.reads <= cone and all(s.value_reads[j] <= cone for j in cone & s.writes.keys()), goal.name
        for state in reached.states:
            subst = encode(state)
            for _, after in system.step_from(state).successors:
                moved = [t for t in model.threads if state[t.pc_slot] != after[t.pc_slot]
                         or any(state[j] != after[j] for j in t.local_slots)]
                dead = {j for t in moved for j in t.local_slots
                        if j != t.pc_slot and j not in live[t.index].get(after[t.pc_slot], set())}
                compare = [j for j in sorted(cone) if j not in dead]
                if all(state[j] == after[j] for j in compare):
                    continue      # a stutter of the projection
                target = [codec.const(j, after[j]) for j in compare]
                assert any(z3.is_true(z3.simplify(z3.substitute(s.ok, *subst)))
                           and all(z3.simplify(z3.substitute(s.writes.get(j, x0[j]), *subst)).eq(z3.simplify(v))
                                   for j, v in zip(compare, target))
                           for s in kept), (goal.name, state, after)


@pytest.mark.parametrize("text", [SLICED, GUARDED, ARMED])
def test_the_slices_of_the_hand_made_specs_cover_the_model(spec, text):
    assert_slices_cover_the_model(spec(text))


@random_spec_settings(15)
@given(text=random_specs())
def test_the_slices_of_random_specs_cover_the_model(tmp_path, text):
    assert_slices_cover_the_model(write_spec(tmp_path, text))


@random_spec_settings(6)
@given(text=random_specs())
def test_pdr_on_its_slices_agrees_with_the_explicit_engine_on_random_specs(tmp_path, text):
    """What the sliced pdr proves holds; what it finds violated is, with the same trace length;
    and what the unsliced clauses prove, the slices prove too or leave unknown, never violated."""
    path = write_spec(tmp_path, text)
    program = load_model(path, Options(), Sources())
    explicit = {p.name: p for p in check_explicit(program, Limits())[0].properties}
    sliced = {p.name: p for p in check_pdr(program, Settings(timeout=10)).properties}
    whole = {p.name: p for p in check_pdr(program, Settings(timeout=10), sliced=False).properties}
    for name, q in sliced.items():
        p = explicit[name]
        if q.verdict == "holds":
            assert p.verdict == "holds", (name, q.detail)
        if q.verdict == "violated":
            assert p.verdict == "violated", name
            assert q.trace is not None and p.trace is not None and q.trace.length == p.trace.length, name
        if whole[name].verdict == "holds":
            assert q.verdict != "violated", name


# ---- lock_order when locks are taken nested ------------------------------------------------

# a -> b and b -> c are taken; c -> a only on a branch x rules out: no cycle
NESTED_IN_ORDER = """
lock a;
lock b;
lock c;
bool x = false;
thread t { acquire a; acquire b; x = true; release b; release a; }
thread u { acquire b; acquire c; release c; release b; }
thread v { await x; acquire c; if (x) { skip; } else { acquire a; release a; } release c; }
"""
# a -> b and b -> a; every state is within the shallow bmc search's depth (it must not
# conclude from that that lock_order holds: it does not look for lock-order cycles)
INVERTED = """
lock a;
lock b;
thread t { acquire a; acquire b; release b; release a; }
thread u { acquire b; acquire a; release a; }
"""


def test_pdr_proves_lock_order_with_nested_locks_edge_by_edge(spec):
    pdr, explicit = results(spec(NESTED_IN_ORDER))
    assert explicit["lock_order"].verdict == "holds"
    order = pdr["lock_order"]
    assert order.verdict == "holds", order.detail
    assert order.detail.startswith("proved (pdr): no lock-order cycle"), order.detail
    lines = {line.strip().split(": ")[0]: line.split(": ")[1].split(", ") for line in order.detail.splitlines()[1:]}
    assert "c -> a" in lines["never taken"] and {"a -> b", "b -> c"} <= set(lines["taken"]), order.detail


def test_pdr_finds_a_lock_order_cycle_even_when_every_state_is_shallow(spec):
    pdr, explicit = results(spec(INVERTED))
    assert explicit["lock_order"].verdict == "violated"
    order = pdr["lock_order"]
    assert order.verdict == "violated", order.detail
    assert order.trace is not None and explicit["lock_order"].trace is not None
    assert order.trace.length == explicit["lock_order"].trace.length


# ---- seeded with the facts k-induction's Houdini loop proves --------------------------------

def test_a_seeded_proof_prints_the_invariant_and_the_facts_it_relied_on(spec):
    path = spec(COUNTER)
    program = load_model(path, Options(), Sources())
    seeded = {p.name: p for p in check_pdr(program, Settings(timeout=120)).properties}
    plain = {p.name: p for p in check_pdr(program, Settings(timeout=120), seeded=False).properties}
    counted = seeded["counted"].detail
    assert seeded["counted"].verdict == plain["counted"].verdict == "holds"
    assert "seeded facts (invariants proved by k-induction's Houdini loop at k=1)" in counted.splitlines()[0]
    facts = counted.split("\nwith the seeded facts:\n", 1)[1].splitlines()
    assert facts and all(" at '" in f and " -> " in f for f in facts), counted
    assert "seeded" not in plain["counted"].detail
    assert {n: p.verdict for n, p in seeded.items()} == {n: p.verdict for n, p in plain.items()}


def reachable_matrix(system):
    reached = system.reach(1_000_000)
    return system.matrix(reached.states)


@pytest.mark.parametrize("path, defines", [("specs/ext4.lk", {"NPAGES": "1"}),
                                           ("specs/page_mkwrite_race.lk", {"NPAGES": "2"}),
                                           ("specs/end_writeback_nrpages.lk", {"NPAGES": "2"})])
def test_every_seeded_fact_is_true_in_every_reachable_state(path, defines):
    from pathlib import Path
    from lockcheck.engines.symbolic.pdr import proved_facts
    program = load_model(str(Path(__file__).resolve().parent.parent / path), Options(defines=defines), Sources())
    seeding = proved_facts(program, 120)
    facts = seeding.facts
    assert facts and seeding.finished and seeding.warning() is None
    system, _, _ = tools(program)
    reachable = reachable_matrix(system)
    refuted = [f.text for f in facts if not system.evaluate(f.expr).rows(reachable).all()]
    assert not refuted, refuted


def test_an_invariant_the_houdini_rounds_prove_is_seeded_too():
    from pathlib import Path
    path = str(Path(__file__).resolve().parent.parent / "specs/ext4.lk")
    from lockcheck.engines.symbolic.pdr import proved_facts
    from lockcheck.engines.symbolic.shared import Budget
    program = load_model(path, Options(defines={"NPAGES": "2"}), Sources())
    seeding = proved_facts(program, 120)
    own = "no_remove_under_writeback (the spec's own, proved by k-induction at k=1)"
    assert own in [f.text for f in seeding.facts]
    enc = Encoder(program, bits=True)
    system, _, _ = tools(program)
    slices = Slices(enc, system, True, seeding.facts)
    goal = next(g for g in goals_of(enc) if g.name == "no_remove_under_writeback")
    result, proof, _ = slices.horn(slices.cone(goal)).query(goal, slices.bad(goal), Budget(60))
    assert result == z3.unsat and proof is not None
    assert own in proof.text()


def test_why_a_property_the_houdini_rounds_left_is_not_proved_is_their_counterexample_to_induction():
    from pathlib import Path
    from lockcheck.engines.symbolic.pdr import proved_facts
    path = str(Path(__file__).resolve().parent.parent / "specs/ext4.lk")
    seeding = proved_facts(load_model(path, Options(defines={"NPAGES": "2"}), Sources()), 120)
    assert seeding.why_not("no_remove_under_writeback") is None      # proved there
    why = seeding.why_not("deadlock")
    assert why is not None
    text, cti = why
    assert "counterexample to induction" in text and "and then no thread can move" in text
    assert cti.k == 1 and cti.start


def test_seeding_cut_short_says_so_and_a_spacer_timeout_says_how_long_it_had():
    from pathlib import Path
    path = str(Path(__file__).resolve().parent.parent / "specs/ext4.lk")
    program = load_model(path, Options(defines={"NPAGES": "8"}), Sources())
    result = check_pdr(program, Settings(timeout=2))
    assert any("Houdini rounds" in w and "did not all finish in their" in w for w in result.warnings), result.warnings
    details = [p.detail for p in result.properties if p.verdict == "unknown" and p.detail]
    assert details and not any("b'" in d for d in details), details


@pytest.mark.slow   # 45 s: an agreement run (timeout 120), with the other long ones
def test_seeded_pdr_agrees_with_the_explicit_engine_on_a_spec(tmp_path):
    from pathlib import Path
    path = str(Path(__file__).resolve().parent.parent / "specs/end_writeback_nrpages.lk")
    program = load_model(path, Options(defines={"NPAGES": "2"}), Sources())
    pdr = {p.name: p for p in check_pdr(program, Settings(timeout=120)).properties}
    explicit = {p.name: p for p in check_explicit(program, Limits())[0].properties}
    for name, p in pdr.items():
        if p.verdict != "unknown":
            assert p.verdict == explicit[name].verdict, (name, p.detail)
    assert any("seeded facts" in p.detail for p in pdr.values() if p.detail)


def test_every_place_a_thread_rests_at_has_a_name_of_its_own():
    """Proofs, seeded facts and counterexamples to induction name a thread's place by its
    statement; where statements read alike (a proc inlined at several call sites), the
    names still differ, on every shipped spec."""
    for path in SPECS:
        model = load_model(str(path), Options(), Sources())
        for thread in model.threads:
            names = position_texts(model, thread)
            assert set(names) == set(ir.resting_pcs(model, thread)) | {thread.end}
            assert len(set(names.values())) == len(names), (path.name, thread.name)


def test_a_seeded_fact_names_lock_holders_and_objects(spec):
    """The candidate facts print a lock's holder and a reference's object by name."""
    model = load_model(spec(PRINTED), Options(), Sources())
    slot = {s.name: j for j, s in enumerate(model.slots)}
    w = model.threads[0]
    held = ir.Bin("==", ir.Var(slot["pages[0].locked"], "int"), ir.Lit(w.index + 1, "int"), "bool")
    assert _text(model, held) == "pages[0].locked = held by w"
    page = model.slots[slot["w.work.p"]]
    pages2 = page.values[page.value_names.index("pages[2]")]
    points = ir.Bin("!=", ir.Var(slot["w.work.p"], "int"), ir.Lit(pages2, "int"), "bool")
    assert _text(model, points) == "w.work.p != pages[2]"
