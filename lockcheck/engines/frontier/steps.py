"""What a step means, over a block of states at once: every IR edge applied to the rows
whose thread stands at its source (checks, guard, writes, dynamic loads and stores as
gathers and scatters), and a thread's local chains and atomic bodies run on for the rows
still inside them, until each row rests. The same semantics as the scalar engine's
node functions, one edge at a time."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ir
from ..errors import LocalLoopError
from .arrays import Array, xp
from .evaluate import ArrayExpr, Rows

MAX_LOCAL_STEPS = 100_000


@dataclass(frozen=True)
class CompiledCheck:
    id: int                 # index into Transitions.check_keys
    cond: ArrayExpr
    fatal: bool


@dataclass(frozen=True)
class CompiledWrite:
    slot: int               # the slot, or -1 when the address is known only at run time
    addr: ArrayExpr | None
    value: ArrayExpr


@dataclass(frozen=True)
class CompiledEdge:
    edge: ir.Edge
    pc_slot: int
    attempt: tuple[CompiledCheck, ...]
    guard: ArrayExpr | None
    exec: tuple[CompiledCheck, ...]
    post: tuple[CompiledCheck, ...]
    writes: tuple[CompiledWrite, ...]
    acquires: ArrayExpr | None


@dataclass
class Batch:
    """Rows of states on their way through one step, and where each came from: the row of
    the block it started from, the first edge of the step (its `rank` orders the steps of
    one state as the scalar engine takes them), and `order`, which way it went at each
    branch of a chain (digits, most significant first), so the outcomes of one level can be
    put in the scalar engine's order."""

    matrix: Array
    parent: Array          # row in the block
    root: Array            # edge id of the step's first edge
    rank: Array
    order: Array           # int64
    level: Array           # branches taken so far (digits of `order` used)

    @property
    def count(self) -> int:
        return int(self.matrix.shape[0])

    def take(self, idx: Array, matrix: Array | None = None) -> "Batch":
        return Batch(self.matrix[idx] if matrix is None else matrix, self.parent[idx], self.root[idx],
                     self.rank[idx], self.order[idx], self.level[idx])


@dataclass
class Failures:
    """Checks that failed, one entry each: the block row, step, order and check id."""

    parent: list[Array]
    root: list[Array]
    rank: list[Array]
    order: list[Array]
    check: list[Array]

    def add(self, batch: Batch, rows: Array, check: int, order: Array | None = None) -> None:
        if len(rows) == 0:
            return
        self.parent.append(batch.parent[rows])
        self.root.append(batch.root[rows])
        self.rank.append(batch.rank[rows])
        self.order.append(batch.order[rows] if order is None else order[rows])
        self.check.append(xp.full(len(rows), check, dtype=xp.int64))


@dataclass
class LockNotes:
    """Acquisitions made while holding another lock: block row, order, edge, held, taken."""

    parent: list[Array]
    rank: list[Array]
    order: list[Array]
    edge: list[Array]
    held: list[Array]
    taken: list[Array]


@dataclass
class Outcome:
    """The resting states one step leads to from a block, with their origins."""

    endings: Batch
    failures: Failures
    locks: LockNotes
    moved: Array            # per block row: some step ran (or failed a fatal check)


def _cat(parts: list[Array], dtype=xp.int64) -> Array:
    return xp.concatenate(parts) if parts else xp.zeros(0, dtype=dtype)


class Transitions:
    """The model's edges compiled for blocks of states."""

    def __init__(self, model: ir.Model, width: int, dtype: xp.dtype):
        self.model = model
        self.width = width          # columns of a row (slots, then padding)
        self.dtype = dtype
        self.threads: list[ir.Thread] = list(model.threads) + ([model.init_thread] if model.init_thread else [])
        self.check_keys: list[tuple[int, int]] = []
        self.check_props: list[str] = []
        self.check_fatal: list[bool] = []
        self.coverage = bytearray(len(model.edges))
        self.by_node: list[dict[int, list[CompiledEdge]]] = [dict() for _ in self.threads]
        self.rank: dict[int, int] = {}
        for edge in model.edges:
            node = self.by_node[edge.thread].setdefault(edge.src, [])
            self.rank[edge.id] = len(node)
            node.append(self._compile(edge))
        self.max_degree = max([len(es) for node in self.by_node for es in node.values()] + [1])
        self.base = self.max_degree + 1
        digits = 0
        while self.base ** (digits + 1) < 2 ** 62:
            digits += 1
        self.digits = digits
        # the weight of the digit for the k-th branch of a chain (0 past the last digit)
        self.powers = xp.asarray([self.base ** (digits - 1 - k) for k in range(digits)] + [0], dtype=xp.int64)
        self.fatal_of = xp.asarray(self.check_fatal + [False], dtype=bool)
        self.lock_slots = [(lk.slot, lk.reader_slots) for lk in model.locks]

    def _compile(self, edge: ir.Edge) -> CompiledEdge:
        def checks(when: str) -> tuple[CompiledCheck, ...]:
            out = []
            for k, c in enumerate(edge.checks):
                if c.when == when:
                    self.check_keys.append((edge.id, k))
                    self.check_props.append(c.prop)
                    self.check_fatal.append(c.prop in ir.FATAL_CHECKS)
                    out.append(CompiledCheck(len(self.check_keys) - 1, ArrayExpr(c.cond), c.prop in ir.FATAL_CHECKS))
            return tuple(out)

        attempt, exec_, post = checks("attempt"), checks("exec"), checks("post")
        guard = ArrayExpr(edge.guard) if edge.guard is not None and edge.guard != ir.TRUE else None
        writes = tuple(CompiledWrite(w.addr.value, None, ArrayExpr(w.value)) if isinstance(w.addr, ir.Lit)
                       else CompiledWrite(-1, ArrayExpr(w.addr), ArrayExpr(w.value)) for w in edge.writes)
        acquires = ArrayExpr(edge.acquires) if edge.acquires is not None else None
        return CompiledEdge(edge, self.threads[edge.thread].pc_slot, attempt, guard, exec_, post, writes, acquires)

    # ---- one edge over a batch ----
    def apply(self, ce: CompiledEdge, batch: Batch, failures: Failures, locks: LockNotes | None,
              order: Array) -> tuple[Array, Array]:
        """Run edge `ce` on every row of `batch` (all stand at its source). Failed checks go
        to `failures` (with `order` for the rows); returns the rows that complete the step
        and their next states."""
        rows = Rows(batch.matrix)
        n = rows.count
        alive = xp.ones(n, dtype=bool)
        for c in ce.attempt:
            ok = c.cond.mask(rows)
            failures.add(batch, xp.nonzero(~ok)[0], c.id, order)
            if c.fatal:
                alive &= ok
        if ce.guard is not None:
            alive &= ce.guard.mask(rows)
        for c in ce.exec:
            ok = c.cond.mask(rows)
            failures.add(batch, xp.nonzero(alive & ~ok)[0], c.id, order)
            if c.fatal:
                alive &= ok
        idx = xp.nonzero(alive)[0]
        if len(idx) == 0:
            return idx, batch.matrix[:0]
        values = [(w, w.value.values(rows)[idx], None if w.addr is None else w.addr.values(rows)[idx])
                  for w in ce.writes]
        new = batch.matrix[idx]
        if values and any(w.slot < 0 for w, _, _ in values):
            ar = xp.arange(len(idx))
        for w, v, a in values:
            if w.slot >= 0:
                new[:, w.slot] = v
            else:
                new[ar, xp.clip(a, 0, self.width - 1)] = v
        new[:, ce.pc_slot] = ce.edge.dst
        self.coverage[ce.edge.id] = 1
        if ce.post:
            after = Rows(new)
            keep = xp.ones(len(idx), dtype=bool)
            sub = batch.take(idx, new)
            for c in ce.post:
                ok = c.cond.mask(after)
                failures.add(sub, xp.nonzero(keep & ~ok)[0], c.id, order[idx])
                if c.fatal:
                    keep &= ok
            if not keep.all():
                idx, new = idx[keep], new[keep]
        if locks is not None and ce.acquires is not None and len(idx):
            self._note_locks(ce, rows, idx, batch, order, locks)
        return idx, new

    def _note_locks(self, ce: CompiledEdge, rows: Rows, idx: Array, batch: Batch, order: Array,
                    locks: LockNotes) -> None:
        t = ce.edge.thread
        me = t + 1
        taken = ce.acquires.values(rows)[idx]  # type: ignore[union-attr]
        for slot, readers in self.lock_slots:
            held = rows.column(slot)[idx] == me
            if readers:
                held |= rows.column(readers[t])[idx] != 0
            held &= taken != slot
            sel = xp.nonzero(held)[0]
            if len(sel) == 0:
                continue
            src = idx[sel]
            locks.parent.append(batch.parent[src])
            locks.rank.append(batch.rank[src])
            locks.order.append(order[src])
            locks.edge.append(xp.full(len(sel), ce.edge.id, dtype=xp.int64))
            locks.held.append(xp.full(len(sel), slot, dtype=xp.int64))
            locks.taken.append(taken[sel])

    # ---- whole steps ----
    def step(self, block: Array, t: int, failures: Failures, locks: LockNotes | None,
             moved: Array) -> list[Batch]:
        """Every step thread t can take from each row of `block` (resting states): the
        batches of resting states they end in."""
        thread = self.threads[t]
        nodes = self.by_node[t]
        pcs = block[:, thread.pc_slot]
        endings: list[Batch] = []
        pool: list[Batch] = []
        for pc in xp.unique(pcs).tolist():
            edges = nodes.get(pc)
            if not edges:
                continue
            sel = xp.nonzero(pcs == pc)[0]
            zero = xp.zeros(len(sel), dtype=xp.int64)
            base = Batch(block[sel], sel, zero, zero, zero, zero)
            for ce in edges:
                start = Batch(base.matrix, sel, xp.full(len(sel), ce.edge.id, dtype=xp.int64),
                              xp.full(len(sel), self.rank[ce.edge.id], dtype=xp.int64), zero, zero)
                before = len(failures.parent)
                idx, new = self.apply(ce, start, failures, locks, start.order)
                for k in range(before, len(failures.parent)):
                    moved[failures.parent[k][self.fatal_of[failures.check[k]]]] = True
                if len(idx) == 0:
                    continue
                out = start.take(idx, new)
                (pool if ce.edge.dst in thread.chained else endings).append(out)
        if pool:
            self._chain(t, pool, endings, failures, locks, moved)
        for b in endings:
            moved[b.parent] = True
        return endings

    def _chain(self, t: int, pool: list[Batch], endings: list[Batch], failures: Failures,
               locks: LockNotes | None, moved: Array | None) -> None:
        """Run thread t's chained steps on the rows of `pool` until each rests (into
        `endings`), fails a fatal check, or blocks inside an atomic body (it vanishes)."""
        thread = self.threads[t]
        nodes = self.by_node[t]
        batch = _concat(pool)
        steps = 0
        while batch.count:
            steps += 1
            if steps > MAX_LOCAL_STEPS:
                pc = int(batch.matrix[0, thread.pc_slot])
                text, span = thread.node_text.get(pc, ("?", None))
                raise LocalLoopError(thread.name, text, span)
            pcs = batch.matrix[:, thread.pc_slot]
            nxt: list[Batch] = []
            for pc in xp.unique(pcs).tolist():
                edges = nodes.get(pc)
                if not edges:
                    continue
                sel = xp.nonzero(pcs == pc)[0]
                here = batch.take(sel)
                branching = len(edges) > 1
                for k, ce in enumerate(edges):
                    order = here.order
                    if branching:
                        digit = (k + 1) * self.powers[xp.minimum(here.level, self.digits)]
                        order = here.order + digit
                    before = len(failures.parent)
                    idx, new = self.apply(ce, here, failures, locks, order)
                    if moved is not None:
                        for j in range(before, len(failures.parent)):
                            moved[failures.parent[j][self.fatal_of[failures.check[j]]]] = True
                    if len(idx) == 0:
                        continue
                    out = Batch(new, here.parent[idx], here.root[idx], here.rank[idx], order[idx],
                                here.level[idx] + (1 if branching else 0))
                    (nxt if ce.edge.dst in thread.chained else endings).append(out)
            batch = _concat(nxt) if nxt else batch.take(xp.zeros(0, dtype=xp.int64))

    def settle(self, block: Array, t: int, failures: Failures) -> list[Batch]:
        """Thread t's chained steps from each row of `block` (initial states): its rows at
        resting pcs as they are, the others run on until they rest."""
        thread = self.threads[t]
        n = block.shape[0]
        ar = xp.arange(n)
        zero = xp.zeros(n, dtype=xp.int64)
        whole = Batch(block, ar, zero - 1, zero, zero, zero)
        inside = xp.isin(block[:, thread.pc_slot], list(thread.chained)) if thread.chained else xp.zeros(n, bool)
        endings = [whole.take(xp.nonzero(~inside)[0])]
        if inside.any():
            self._chain(t, [whole.take(xp.nonzero(inside)[0])], endings, failures, None, None)
        return endings

    def new_failures(self) -> Failures:
        return Failures([], [], [], [], [])

    @staticmethod
    def new_locks() -> LockNotes:
        return LockNotes([], [], [], [], [], [])


def _concat(batches: list[Batch]) -> Batch:
    if len(batches) == 1:
        return batches[0]
    return Batch(xp.concatenate([b.matrix for b in batches]), _cat([b.parent for b in batches]),
                 _cat([b.root for b in batches]), _cat([b.rank for b in batches]),
                 _cat([b.order for b in batches]), _cat([b.level for b in batches]))


def concat(batches: list[Batch], width: int, dtype: xp.dtype) -> Batch:
    batches = [b for b in batches if b.count]
    if not batches:
        z = xp.zeros(0, dtype=xp.int64)
        return Batch(xp.zeros((0, width), dtype=dtype), z, z, z, z, z)
    return _concat(batches)
