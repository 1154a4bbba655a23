"""The transition system (lockcheck/engines/system.py) that every engine, the trace builder
and the candidate sampling use, against the scalar reference engine: the same initial
states, and from every state the same resting successors in the same order, the same failed
checks, lock-order notes and enabledness; the breadth-first search keeps the same states
in the same order; and a thread that cannot complete its atomic block is listed blocked."""
from __future__ import annotations

import pytest

from conftest import REPO, SPECS
from lockcheck.api import Options, load_model, verify
from lockcheck.engines.system import TransitionSystem
from lockcheck.errors import Sources
from reference.explicit import Exploration, Explorer, Limits
from reference.pycompile import compile_model

SMALL = [p for p in SPECS if p.name in ("ext4.lk", "truncate_lock_inverted.lk", "ext3_reclaim.lk",
                                        "shmem.lk", "btrfs.lk", "page_mkwrite_race.lk")]


def reference_steps(explorer: Explorer, state: tuple):
    """The reference engine's steps from one state: successors (first edge, state) in
    order, failed check keys, lock-order pairs, and whether any step moved."""
    program = explorer.program
    successors, failed = [], []
    ex = Exploration([], [], [])  # type: ignore[arg-type]
    moved = False
    for t, thread in enumerate(explorer.threads):
        fn = program.node_fns[t][state[thread.pc_slot]]
        for eid, ns, chk, _ in (fn(state) if fn else []):
            if chk is not None:
                failed.append((eid, program.check_keys[chk]))
                moved |= program.fatal[chk]
                continue
            if eid in program.acquires:
                explorer.note_lock_order(ex, state, 0, t, eid, program.acquires[eid](state))
            endings = explorer.run_chain(t, ns, ex, 0) if ns[thread.pc_slot] in program.chained[t] else [(ns, None, ())]
            for fs, key, _ in endings:
                if fs is None:
                    failed.append((eid, key))
                    moved |= model_prop(explorer, key) in ("assertion", "bounds") or fatal_key(explorer, key)
                else:
                    moved = True
                    successors.append((eid, fs))
    return successors, failed, set(ex.lock_edges), moved


def model_prop(explorer: Explorer, key) -> str:
    return explorer.model.edges[key[0]].checks[key[1]].prop


def fatal_key(explorer: Explorer, key) -> bool:
    from lockcheck.ir import FATAL_CHECKS

    return model_prop(explorer, key) in FATAL_CHECKS


@pytest.mark.parametrize("path", SMALL, ids=[p.name for p in SMALL])
def test_steps_are_the_reference_engines(path):
    model = load_model(str(path), Options(), Sources())
    system = TransitionSystem(model)
    explorer = Explorer(compile_model(model), Limits())
    initial, violations = system.initial_states()
    ref_initial, ref_violations = explorer.initial_states()
    assert initial == ref_initial
    assert [(v.prop, v.path) for v in violations] == [(v.prop, v.path) for v in ref_violations]
    reached = system.reach(1500)
    ex = explorer.explore()
    assert reached.states == [ex.state(i) for i in range(min(ex.count, 1500))]
    assert reached.parent == list(ex.parent[:1500])
    for steps, state in zip(system.steps_from(reached.states[:400]), reached.states):
        successors, failed, locks, moved = reference_steps(explorer, state)
        assert steps.successors == successors
        assert [(f.edge, f.key) for f in steps.failures] == failed
        assert {(a.held, a.taken) for a in steps.acquisitions} == locks
        assert steps.moved == moved


def test_graph_steps_are_the_reference_engines():
    model = load_model(str(REPO / "specs" / "truncate_lock_inverted.lk"), Options(), Sources())
    reached = TransitionSystem(model).reach(5000, graph=True)
    ex = Explorer(compile_model(model), Limits(max_states=5000), record_graph=True).explore()
    assert reached.graph == ex.graph_edges and not reached.limit and not ex.limit


ATOMIC_DEADLOCK = """\
bool go = false;
bool x = false;
thread a { atomic { await go; x = true; } }
thread b { await x; go = true; }
expect violation deadlock;
"""


def test_a_thread_that_cannot_finish_its_atomic_block_is_blocked(spec):
    result = verify(spec(ATOMIC_DEADLOCK), Options(), Sources())
    deadlock = next(p for p in result.properties if p.name == "deadlock")
    assert deadlock.verdict == "violated" and deadlock.trace is not None
    assert [(t.thread, t.status) for t in deadlock.trace.final] == [("a", "blocked"), ("b", "blocked")]


def test_a_thread_whose_atomic_block_can_run_is_ready(spec):
    path = spec(ATOMIC_DEADLOCK.replace("bool go = false", "bool go = true").replace(
        "expect violation deadlock;", "invariant never: !x;"))
    result = verify(path, Options(), Sources())
    never = next(p for p in result.properties if p.name == "never")
    assert never.trace is not None
    # the atomic block has run: a is finished, b can go on
    assert [(t.thread, t.status) for t in never.trace.final] == [("a", "finished"), ("b", "ready")]
