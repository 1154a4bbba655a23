"""What a step means, over a block of states at once: every IR edge applied to the rows
whose thread stands at its source (checks, guard, writes, dynamic loads and stores as
gathers and scatters), and a thread's local chains and atomic bodies run on for the rows
still inside them, until each row rests. The same semantics as the scalar engine's
node functions, one edge at a time."""
from __future__ import annotations

import heapq
from dataclasses import dataclass

from ... import ir
from ..errors import LocalLoopError
from .arrays import HASH, Array, Fingerprints, xp
from .evaluate import ArrayExpr, Rows, slot_ranges

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
    negated: bool = False   # the guard is the negation of a sibling's: `guard` is the sibling's
    pc_word: Array | None = None   # what moving the pc from src to dst does to a fingerprint


@dataclass
class Batch:
    """Rows of states on their way through one step, and where each came from: the row of
    the block it started from, the first edge of the step, and `order`, which way it went
    at each branch of a chain (digits, most significant first), so that the outcomes of a
    level can be put in the scalar engine's order."""

    matrix: Array
    hash: Array            # each row's fingerprint (Fingerprints)
    parent: Array          # row in the block
    root: Array            # edge id of the step's first edge
    order: Array           # int64
    level: Array           # branches taken so far (digits of `order` used)
    steps: int = 0         # chained steps taken so far (the most of any row)

    @property
    def count(self) -> int:
        return int(self.matrix.shape[0])

    def take(self, idx: Array) -> "Batch":
        return Batch(self.matrix[idx], self.hash[idx], self.parent[idx], self.root[idx], self.order[idx],
                     self.level[idx], self.steps)


@dataclass
class Failures:
    """Checks that failed, one entry each: the block row, step, order and check id."""

    parent: list[Array]
    root: list[Array]
    order: list[Array]
    check: list[Array]

    def add(self, batch: Batch, rows: Array, check: int, order: Array) -> None:
        if len(rows) == 0:
            return
        self.parent.append(batch.parent[rows])
        self.root.append(batch.root[rows])
        self.order.append(order[rows])
        self.check.append(xp.full(len(rows), check, dtype=xp.int64))


@dataclass
class LockNotes:
    """Acquisitions made while holding another lock: block row, step, order, the acquiring
    edge, the lock held and the lock taken."""

    parent: list[Array]
    root: list[Array]
    order: list[Array]
    edge: list[Array]
    held: list[Array]
    taken: list[Array]


def _cat(parts: list[Array], dtype=xp.int64) -> Array:
    return xp.concatenate(parts) if parts else xp.zeros(0, dtype=dtype)


class Transitions:
    """The model's edges compiled for blocks of states."""

    def __init__(self, model: ir.Model, width: int, dtype: xp.dtype):
        self.model = model
        self.width = width          # columns of a row (slots, then padding)
        self.slots = len(model.slots)
        self.dtype = dtype
        self.threads: list[ir.Thread] = list(model.threads) + ([model.init_thread] if model.init_thread else [])
        self.check_keys: list[tuple[int, int]] = []
        self.check_props: list[str] = []
        self.check_fatal: list[bool] = []
        self.coverage = bytearray(len(model.edges))
        self.by_node: list[dict[int, list[CompiledEdge]]] = [dict() for _ in self.threads]
        self.ranges = slot_ranges(model, width)
        self.fingerprints = Fingerprints(self.ranges[:len(model.slots)])
        rank = [0] * len(model.edges)
        for edge in model.edges:
            node = self.by_node[edge.thread].setdefault(edge.src, [])
            rank[edge.id] = len(node)
            node.append(self._compile(edge, node))
        self.max_degree = max([len(es) for node in self.by_node for es in node.values()] + [1])
        self.base = self.max_degree + 1
        digits = 0
        while self.base ** (digits + 1) < 2 ** 62:
            digits += 1
        self.digits = digits
        # the weight of the digit for the k-th branch of a chain (0 past the last digit)
        self.powers = xp.asarray([self.base ** (digits - 1 - k) for k in range(digits)] + [0], dtype=xp.int64)
        self.fatal_of = xp.asarray(self.check_fatal + [False], dtype=bool)
        # the scalar engine takes a state's steps thread by thread, a thread's in edge order
        self.step_rank = xp.asarray([e.thread * self.base + rank[e.id] for e in model.edges] + [0], dtype=xp.int64)
        self.edge_thread = xp.asarray([e.thread for e in model.edges] + [0], dtype=xp.int64)
        self.lock_slots = [(lk.slot, lk.reader_slots) for lk in model.locks]

    def _compile(self, edge: ir.Edge, siblings: list[CompiledEdge]) -> CompiledEdge:
        def checks(when: str) -> tuple[CompiledCheck, ...]:
            out = []
            for k, c in enumerate(edge.checks):
                if c.when == when:
                    self.check_keys.append((edge.id, k))
                    self.check_props.append(c.prop)
                    self.check_fatal.append(c.prop in ir.FATAL_CHECKS)
                    out.append(CompiledCheck(len(self.check_keys) - 1, ArrayExpr(c.cond, self.ranges),
                                             c.prop in ir.FATAL_CHECKS))
            return tuple(out)

        attempt, exec_, post = checks("attempt"), checks("exec"), checks("post")
        guard, negated = None, False
        if edge.guard is not None and edge.guard != ir.TRUE:
            # an if/else: `!g` after `g` reuses g's value
            if isinstance(edge.guard, ir.Un) and edge.guard.op == "!":
                for other in siblings:
                    if other.guard is not None and not other.negated and other.edge.guard == edge.guard.arg:
                        guard, negated = other.guard, True
                        break
            if guard is None:
                guard = ArrayExpr(edge.guard, self.ranges)
        writes = tuple(CompiledWrite(w.addr.value, None, ArrayExpr(w.value, self.ranges))
                       if isinstance(w.addr, ir.Lit)
                       else CompiledWrite(-1, ArrayExpr(w.addr, self.ranges, address=True),
                                          ArrayExpr(w.value, self.ranges)) for w in edge.writes)
        acquires = ArrayExpr(edge.acquires, self.ranges) if edge.acquires is not None else None
        pc = self.threads[edge.thread].pc_slot
        pc_word = self.fingerprints.word(pc, xp.asarray(edge.src)) ^ self.fingerprints.word(pc, xp.asarray(edge.dst))
        return CompiledEdge(edge, pc, attempt, guard, exec_, post, writes, acquires, negated, pc_word)

    # ---- one edge over a batch ----
    def apply(self, ce: CompiledEdge, rows: Rows, batch: Batch, failures: Failures, locks: LockNotes | None,
              order: Array) -> tuple[Array, Array, Array]:
        """Run edge `ce` on every row of `batch` (all stand at its source; `rows` reads
        them). Failed checks go to `failures` (with `order` for the rows); returns the rows
        that complete the step, their next states and those states' fingerprints."""
        n = rows.count
        alive: Array | None = None      # None: every row so far
        for c in ce.attempt:
            ok = c.cond.mask(rows)
            if not ok.all():
                failures.add(batch, xp.nonzero(~ok)[0], c.id, order)
                if c.fatal:
                    alive = ok if alive is None else alive & ok
        if ce.guard is not None:
            g = rows.guard(ce.guard, ce.negated)
            alive = g if alive is None else alive & g
        for c in ce.exec:
            ok = c.cond.mask(rows)
            bad = ~ok if alive is None else alive & ~ok
            if bad.any():
                failures.add(batch, xp.nonzero(bad)[0], c.id, order)
                if c.fatal:
                    alive = ok if alive is None else alive & ok
        if alive is None:
            idx, everything = xp.arange(n), True
        else:
            idx = xp.nonzero(alive)[0]
            if len(idx) == 0:
                return idx, batch.matrix[:0], batch.hash[:0]
            everything = len(idx) == n
        values = []
        for w in ce.writes:
            v = w.value.values(rows)
            a = None if w.addr is None else w.addr.values(rows)
            if not everything:
                v = v[idx]
                a = None if a is None else a[idx]
            values.append((w, v, a))
        new = batch.matrix.copy() if everything else batch.matrix[idx]
        h = batch.hash ^ ce.pc_word if everything else batch.hash[idx] ^ ce.pc_word
        table, base = self.fingerprints.table, self.fingerprints.base
        for w, v, a in values:
            if w.slot >= 0:
                h ^= table[base[w.slot] + new[:, w.slot]] ^ table[base[w.slot] + v]
                new[:, w.slot] = v
            else:
                if not w.addr.safe:  # type: ignore[union-attr]
                    a = xp.minimum(xp.maximum(a, 0), self.slots - 1)
                ar = xp.arange(len(idx))
                h ^= table[base[a] + new[ar, a]] ^ table[base[a] + v]
                new[ar, a] = v
        new[:, ce.pc_slot] = ce.edge.dst
        self.coverage[ce.edge.id] = 1
        if ce.post:
            after = Rows(new)
            keep: Array | None = None
            sub = Batch(new, h, batch.parent[idx], batch.root[idx], order[idx], batch.level[idx])
            for c in ce.post:
                ok = c.cond.mask(after)
                bad = ~ok if keep is None else keep & ~ok
                if bad.any():
                    failures.add(sub, xp.nonzero(bad)[0], c.id, sub.order)
                    if c.fatal:
                        keep = ok if keep is None else keep & ok
            if keep is not None:
                idx, new, h = idx[keep], new[keep], h[keep]
        if locks is not None and ce.acquires is not None and len(idx):
            self._note_locks(ce, rows, idx, batch, order, locks)
        return idx, new, h

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
            locks.root.append(batch.root[src])
            locks.order.append(order[src])
            locks.edge.append(xp.full(len(sel), ce.edge.id, dtype=xp.int64))
            locks.held.append(xp.full(len(sel), slot, dtype=xp.int64))
            locks.taken.append(taken[sel])

    # ---- whole steps ----
    def expand(self, block: Array, hashes: Array, failures: Failures, locks: LockNotes | None,
               moved: Array) -> list[Batch]:
        """Every step each thread can take from each row of `block` (resting states, with
        their fingerprints): the batches of resting states they end in. `moved[row]` is set
        where some step ran to its end or failed a fatal check."""
        endings: list[Batch] = []
        for t in range(len(self.model.threads)):
            endings += self.step(block, hashes, t, failures, locks, moved)
        return endings

    def step(self, block: Array, hashes: Array, t: int, failures: Failures, locks: LockNotes | None,
             moved: Array) -> list[Batch]:
        thread = self.threads[t]
        nodes = self.by_node[t]
        endings: list[Batch] = []
        pool: dict[int, list[Batch]] = {}
        before = len(failures.parent)
        for pc, sel in _groups(block[:, thread.pc_slot]):
            edges = nodes.get(pc)
            if not edges:
                continue
            zero = xp.zeros(len(sel), dtype=xp.int64)
            matrix = block[sel]
            rows = Rows(matrix)
            start_hash = hashes[sel]
            for ce in edges:
                start = Batch(matrix, start_hash, sel, xp.full(len(sel), ce.edge.id, dtype=xp.int64), zero, zero)
                idx, new, h = self.apply(ce, rows, start, failures, locks, zero)
                if len(idx):
                    out = Batch(new, h, sel[idx], start.root[idx], zero[idx], zero[idx])
                    if ce.edge.dst in thread.chained:
                        pool.setdefault(ce.edge.dst, []).append(out)
                    else:
                        endings.append(out)
        if pool:
            self._chain(t, pool, endings, failures, locks)
        for k in range(before, len(failures.parent)):
            moved[failures.parent[k][self.fatal_of[failures.check[k]]]] = True
        for b in endings:
            moved[b.parent] = True
        return endings

    def _chain(self, t: int, pool: dict[int, list[Batch]], endings: list[Batch], failures: Failures,
               locks: LockNotes | None) -> None:
        """Run thread t's chained steps on the rows waiting in `pool` (by pc) until each
        rests (into `endings`), fails a fatal check, or blocks inside an atomic body (it
        vanishes). Rows that reach the same pc by different ways are run together."""
        thread = self.threads[t]
        nodes = self.by_node[t]
        waiting = list(pool)
        heapq.heapify(waiting)
        while waiting:
            pc = heapq.heappop(waiting)
            here = _concat(pool.pop(pc))
            if here.steps >= MAX_LOCAL_STEPS:
                text, span = thread.node_text.get(pc, ("?", None))
                raise LocalLoopError(thread.name, text, span)
            edges = nodes.get(pc)
            if not edges:
                continue
            rows = Rows(here.matrix)
            # an if/else sends each row one way: only a real choice is a branch of the order
            branching = len(edges) > 1 and not (len(edges) == 2 and edges[1].negated and not edges[1].attempt)
            for k, ce in enumerate(edges):
                order = here.order
                if branching:
                    order = here.order + (k + 1) * self.powers[xp.minimum(here.level, self.digits)]
                idx, new, h = self.apply(ce, rows, here, failures, locks, order)
                if len(idx) == 0:
                    continue
                out = Batch(new, h, here.parent[idx], here.root[idx], order[idx],
                            here.level[idx] + 1 if branching else here.level[idx], here.steps + 1)
                dst = ce.edge.dst
                if dst in thread.chained:
                    if dst not in pool:
                        pool[dst] = []
                        heapq.heappush(waiting, dst)
                    pool[dst].append(out)
                else:
                    endings.append(out)

    def settle(self, block: Array, hashes: Array, t: int, failures: Failures) -> list[Batch]:
        """Thread t's chained steps from each row of `block` (initial states): its rows at
        resting pcs as they are, the others run on until they rest."""
        thread = self.threads[t]
        n = block.shape[0]
        ar = xp.arange(n)
        zero = xp.zeros(n, dtype=xp.int64)
        whole = Batch(block, hashes, ar, zero - 1, zero, zero)
        pcs = block[:, thread.pc_slot]
        inside = xp.isin(pcs, list(thread.chained)) if thread.chained else xp.zeros(n, bool)
        endings = [whole.take(xp.nonzero(~inside)[0])]
        pool: dict[int, list[Batch]] = {}
        for pc, sel in _groups(pcs):
            if pc in thread.chained:
                pool[pc] = [whole.take(sel)]
        if pool:
            self._chain(t, pool, endings, failures, None)
        return endings

    def new_failures(self) -> Failures:
        return Failures([], [], [], [])

    @staticmethod
    def new_locks() -> LockNotes:
        return LockNotes([], [], [], [], [], [])


def _groups(values: Array) -> list[tuple[int, Array]]:
    """The rows with each distinct value, value by value (rows in order)."""
    order = xp.argsort(values, kind="stable")
    ordered = values[order]
    cuts = xp.nonzero(ordered[1:] != ordered[:-1])[0] + 1
    bounds = [0] + cuts.tolist() + [len(values)]
    return [(int(ordered[a]), order[a:b]) for a, b in zip(bounds, bounds[1:]) if b > a]


def _concat(batches: list[Batch]) -> Batch:
    if len(batches) == 1:
        return batches[0]
    return Batch(xp.concatenate([b.matrix for b in batches]), _cat([b.hash for b in batches], HASH),
                 _cat([b.parent for b in batches]),
                 _cat([b.root for b in batches]), _cat([b.order for b in batches]),
                 _cat([b.level for b in batches]), max(b.steps for b in batches))


def concat(batches: list[Batch], width: int, dtype: xp.dtype) -> Batch:
    batches = [b for b in batches if b.count]
    if not batches:
        z = xp.zeros(0, dtype=xp.int64)
        return Batch(xp.zeros((0, width), dtype=dtype), z.astype(HASH), z, z, z, z)
    return _concat(batches)
