"""The transition system: what a step means, for every engine, the trace builder and the
candidate sampling. Built on the explicit engine's array steps (explicit/steps.py), so the
meaning of a step is written once: a batch of states is a matrix, one state a one-row matrix.

It gives the initial states, every step from a batch of resting states (the resting states
they end in after their local chains and atomic bodies, the checks they fail, the locks they
take while holding others, whether each state can move), one edge at a time from one state
(to replay a path), and a breadth-first search that keeps the states (state graphs, samples).
Results come in the order of discovery the searches use: state, thread, a thread's edges in
order, the branches of a chain in order."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .. import ir
from .explicit.arrays import HASH, Array, xp
from .explicit.evaluate import ArrayExpr, Rows
from .explicit.search import Endings
from .explicit.steps import Batch, Transitions, row_layout
from .record import CheckKey, Path, Violation

# one edge's outcome from one state: (edge id, next state or None, failed check id or None)
Outcome = tuple[int, tuple | None, int | None]


@dataclass(frozen=True)
class Failure:
    """A step that fails a check: its first edge, the check's key (of that edge, or of a
    chained edge after it), the property, and whether the failure ends the path."""

    edge: int
    key: CheckKey
    prop: str
    fatal: bool

    @property
    def ending(self) -> tuple[tuple[int, CheckKey | None], CheckKey | None]:
        """As a Path ends in it: (`last`, `chain_fail`)."""
        return ((self.edge, self.key), None) if self.key[0] == self.edge else ((self.edge, None), self.key)


@dataclass(frozen=True)
class Acquisition:
    """A step whose edge `acquiring` (the step's first edge `edge`, or one chained after it)
    takes lock slot `taken` while thread `thread` holds lock slot `held`."""

    edge: int
    acquiring: int
    thread: int
    held: int
    taken: int


@dataclass
class StepsFrom:
    """Every step from one resting state, in order of discovery."""

    successors: list[tuple[int, tuple]] = field(default_factory=list)   # (first edge, resting state)
    failures: list[Failure] = field(default_factory=list)
    acquisitions: list[Acquisition] = field(default_factory=list)
    moved: bool = False      # some step ran to its end or failed a fatal check

    def moved_threads(self, model: ir.Model) -> set[int]:
        """The threads with a step that ends, or fails a fatal check."""
        edges = [e for e, _ in self.successors] + [f.edge for f in self.failures if f.fatal]
        return {model.edges[e].thread for e in edges}


@dataclass
class BlockSteps:
    """Every step from each row of a block, as arrays in order of discovery."""

    parent: Array            # successors: the row they come from
    edge: Array              # the first edge of the step
    rows: Array              # the resting states (matrix)
    hashes: Array            # their fingerprints
    fail_parent: Array
    fail_edge: Array
    fail_check: Array        # index into Transitions.check_keys
    lock_parent: Array
    lock_edge: Array
    lock_acquiring: Array
    lock_held: Array
    lock_taken: Array
    moved: Array             # bool per row of the block


@dataclass
class Reached:
    """The states a breadth-first search kept (by id, initial states first), the parent and
    edge that first reached each, and (when asked) every step between them."""

    states: list[tuple]
    parent: list[int]
    graph: list[tuple[int, int, int]] | None   # (from id, to id, first edge)
    limit: str = ""


class TransitionSystem:
    def __init__(self, model: ir.Model, steps: Transitions | None = None):
        """`steps`: the model's edges already compiled for blocks of states (a frontier
        search's), to share rather than compile again."""
        self.model = model
        self.dtype, self.width = row_layout(model)
        self.slots = len(model.slots)
        if steps is not None:
            assert (steps.width, steps.dtype) == (self.width, self.dtype)
        self.steps = steps or Transitions(model, self.width, self.dtype)
        self.threads: list[ir.Thread] = self.steps.threads   # the init thread last, if any
        self.chained = [t.chained for t in self.threads]
        self.check_keys = self.steps.check_keys
        self._check_ids = {key: i for i, key in enumerate(self.check_keys)}
        self._stride = (len(self.threads) + 1) * self.steps.base

    # ---- states <-> rows ----
    def matrix(self, states: list[tuple]) -> Array:
        m = xp.zeros((len(states), self.width), dtype=self.dtype)
        if states:
            m[:, :self.slots] = xp.asarray(states, dtype=xp.int64)
        return m

    def tuples(self, matrix: Array) -> list[tuple]:
        return [tuple(r) for r in matrix[:, :self.slots].astype(xp.int64).tolist()]

    def hashes(self, matrix: Array) -> Array:
        return self.steps.fingerprints.rows(matrix)

    def state_hash(self, state: tuple) -> int:
        return int(self.hashes(self.matrix([state]))[0])

    def check_id(self, key: CheckKey) -> int:
        return self._check_ids[key]

    def thread(self, t: int) -> ir.Thread:
        return self.threads[t]

    # ---- the initial states ----
    def initial_states(self) -> tuple[list[tuple], list[Violation]]:
        """The model's initial state with the init thread and then each thread run through
        its first local steps (every way they can go), and the checks failing on the way."""
        matrix, _, violations = self.initial_matrix()
        return self.tuples(matrix), violations

    def initial_matrix(self) -> tuple[Array, Array, list[Violation]]:
        """The initial states as rows, their fingerprints, and the checks failing on the way."""
        steps = self.steps
        states, hashes, failed = steps.initial()
        return states, hashes, [Violation(steps.check_props[c], Path(self.model.initial, (), None, steps.check_keys[c]))
                                for c in failed]

    # ---- every step from a block of resting states ----
    def expand(self, block: Array, hashes: Array | None = None, locks: bool = True) -> BlockSteps:
        """Every step of every thread from each row of `block` (resting states), in order of
        discovery; `locks`: note the acquisitions made holding another lock. Looking is not
        running: the coverage of a search sharing these steps is left as it was."""
        steps = self.steps
        if hashes is None:
            hashes = self.hashes(block)
        failures = steps.new_failures()
        notes = steps.new_locks() if locks else None
        moved = xp.zeros(len(block), dtype=bool)
        saved = bytes(steps.coverage)
        batches = [b for b in steps.expand(block, hashes, failures, notes, moved) if b.count]
        steps.coverage[:] = saved
        z = xp.zeros(0, dtype=xp.int64)
        if batches:
            endings = Endings(batches, steps)
            everything = xp.arange(len(endings.parent))
            parent, edge, rows, keys = endings.parent, endings.root, endings.rows(everything), endings.keys
        else:
            parent, edge, rows, keys = z, z, xp.zeros((0, self.width), dtype=self.dtype), z.astype(HASH)
        fp, fe, fc = z, z, z
        if failures.parent:
            fp, fe = xp.concatenate(failures.parent), xp.concatenate(failures.root)
            fo, fc = xp.concatenate(failures.order), xp.concatenate(failures.check)
            o = xp.lexsort((fo, fp * self._stride + steps.step_rank[fe]))
            fp, fe, fc = fp[o], fe[o], fc[o]
        lp = le = la = lh = lt = z
        if notes is not None and notes.parent:
            lp, le = xp.concatenate(notes.parent), xp.concatenate(notes.root)
            lo = xp.concatenate(notes.order)
            o = xp.lexsort((lo, lp * self._stride + steps.step_rank[le]))
            lp, le = lp[o], le[o]
            la, lh, lt = (xp.concatenate(notes.edge)[o], xp.concatenate(notes.held)[o],
                          xp.concatenate(notes.taken)[o])
        return BlockSteps(parent, edge, rows, keys, fp, fe, fc, lp, le, la, lh, lt, moved)

    def steps_from(self, states: list[tuple]) -> list[StepsFrom]:
        """Every step from each of these resting states."""
        if not states:
            return []
        out = [StepsFrom() for _ in states]
        b = self.expand(self.matrix(states))
        for p, e, s in zip(b.parent.tolist(), b.edge.tolist(), self.tuples(b.rows)):
            out[p].successors.append((e, s))
        steps = self.steps
        for p, e, c in zip(b.fail_parent.tolist(), b.fail_edge.tolist(), b.fail_check.tolist()):
            out[p].failures.append(Failure(e, steps.check_keys[c], steps.check_props[c], steps.check_fatal[c]))
        edge_thread = steps.edge_thread
        for p, e, a, h, t in zip(b.lock_parent.tolist(), b.lock_edge.tolist(), b.lock_acquiring.tolist(),
                                 b.lock_held.tolist(), b.lock_taken.tolist()):
            out[p].acquisitions.append(Acquisition(e, a, int(edge_thread[a]), h, t))
        for p, m in enumerate(b.moved.tolist()):
            out[p].moved = m
        return out

    def step_from(self, state: tuple) -> StepsFrom:
        return self.steps_from([state])[0]

    # ---- one edge at a time (replay) ----
    def outcomes(self, t: int, pc: int, state: tuple) -> list[Outcome]:
        """What each edge of thread t at pc does from `state`, chained steps not run on:
        its failed checks, then its next state if it completes. Replaying is not running:
        coverage is left as it was."""
        steps = self.steps
        g, i = steps.group_of[t]
        edges = steps.by_node[g].get(pc, [])
        if not edges:
            return []
        matrix = self.matrix([state])
        zero = xp.zeros(1, dtype=xp.int64)
        rows = Rows(matrix, zero + i)
        out: list[Outcome] = []
        saved = bytes(steps.coverage)
        for ce in edges:
            failures = steps.new_failures()
            eid = int(ce.edge_ids[i])
            batch = Batch(matrix, xp.zeros(1, dtype=HASH), zero, zero + eid, zero, zero, zero + i, zero - 1)
            idx, new, _ = steps.apply(ce, rows, batch, failures, None, zero)
            for checks in failures.check:
                out += [(eid, None, int(c)) for c in checks.tolist()]
            if len(idx):
                out.append((eid, tuple(int(v) for v in new[0, :self.slots]), None))
        steps.coverage[:] = saved
        return out

    # ---- breadth-first search that keeps the states ----
    def reach(self, max_states: int, max_depth: int = 1_000_000, graph: bool = False,
              stop: Callable[[], bool] = lambda: False) -> Reached:
        """The first `max_states` reachable states in breadth-first order of discovery (fewer
        if `stop()` says the time is up between levels)."""
        matrix, hashes, _ = self.initial_matrix()
        index: dict[int, int] = {}
        states: list[tuple] = []
        parent: list[int] = []
        edges: list[tuple[int, int, int]] | None = [] if graph else None
        limit = ""
        level: list[int] = []
        for h, s in zip(hashes.tolist(), self.tuples(matrix)):
            if len(states) >= max_states:
                limit = f"--max-states {max_states}"
                break
            index[h] = len(states)
            level.append(len(states))
            states.append(s)
            parent.append(-1)
        depth = 0
        while level and not limit:
            if depth >= max_depth:
                limit = f"--max-depth {max_depth}"
                break
            if stop():
                limit = "--timeout"
                break
            block = self.matrix([states[i] for i in level])
            b = self.expand(block, locks=False)
            nxt: list[int] = []
            fresh = self.tuples(b.rows)
            for p, e, h, s in zip(b.parent.tolist(), b.edge.tolist(), b.hashes.tolist(), fresh):
                j = index.get(h)
                if j is None:
                    if len(states) >= max_states:
                        limit = f"--max-states {max_states}"
                        break
                    j = index[h] = len(states)
                    states.append(s)
                    parent.append(level[p])
                    nxt.append(j)
                if edges is not None:
                    edges.append((level[p], j, e))
            level = nxt
            depth += 1
        return Reached(states, parent, edges, limit)

    # ---- expressions on concrete states ----
    def evaluate(self, expr: ir.Expr) -> "StateExpr":
        return StateExpr(self, ArrayExpr(expr))


class StateExpr:
    """An IR expression's truth in one state, by the array evaluator."""

    def __init__(self, system: TransitionSystem, expr: ArrayExpr):
        self.system = system
        self.expr = expr

    def __call__(self, state: tuple) -> bool:
        return bool(self.expr.mask(Rows(self.system.matrix([state])))[0])

    def rows(self, matrix: Array) -> Array:
        """Its truth in each row of a matrix of states."""
        return self.expr.mask(Rows(matrix))
