"""What a step means, over a block of states at once: every IR edge applied to the rows
whose thread stands at its source (checks, guard, writes, dynamic loads and stores as
gathers and scatters), and a thread's local chains and atomic bodies run on for the rows
still inside them, until each row rests. The same semantics as the scalar engine's
node functions, one edge at a time. The threads of a thread array step together
(groups.py): a row and an instance of the group make one step."""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field, replace

from ... import ir
from ...symmetry import Symmetry
from ..errors import LocalLoopError
from .canonical import Canonical
from .arrays import (HASH, Array, Fingerprints, cells, first_occurrences, get_cells, keep_rows, padded_width,
                     row_dtype, set_cells, take_rows, xp)
from .evaluate import ArrayExpr, Rows, slot_ranges
from .groups import MergedEdge, merge_edge, thread_groups

MAX_LOCAL_STEPS = 100_000


@dataclass(frozen=True)
class CompiledCheck:
    ids: Array              # per instance: index into Transitions.check_keys
    cond: ArrayExpr
    fatal: bool


@dataclass(frozen=True)
class CompiledWrite:
    slot: int               # the slot when every instance writes the same one, else -1
    slots: Array | None     # per instance, a static slot that differs between instances
    addr: ArrayExpr | None  # an address known only at run time
    value: ArrayExpr


@dataclass(frozen=True)
class CompiledEdge:
    """The edge at one position of a group's code, for every instance of the group."""

    edge: ir.Edge           # the first instance's
    edge_ids: Array         # per instance
    pc_slots: Array         # per instance
    attempt: tuple[CompiledCheck, ...]
    guard: ArrayExpr | None
    exec: tuple[CompiledCheck, ...]
    post: tuple[CompiledCheck, ...]
    writes: tuple[CompiledWrite, ...]
    acquires: ArrayExpr | None
    negated: bool           # the guard is the negation of a sibling's: `guard` is the sibling's
    pc_words: Array         # per instance: what moving the pc from src to dst does to a fingerprint
    merged: MergedEdge


@dataclass
class Batch:
    """Rows of states on their way through one step, and where each came from: the row of
    the block it started from, the first edge of the step, which instance of its thread
    group steps (`inst`), and `order`, which way it went at each branch of a chain
    (digits, most significant first), so that the outcomes of a level can be put in the
    scalar engine's order. `trail` is the row's last node in a Trail (-1: none yet): the
    edges it ran since its step began, covered once the step ends."""

    matrix: Array
    hash: Array            # each row's fingerprint (Fingerprints)
    parent: Array          # row in the block
    root: Array            # edge id of the step's first edge
    order: Array           # int64
    level: Array           # branches taken so far (digits of `order` used)
    inst: Array            # the instance of the group (0 for a thread on its own)
    trail: Array           # int64: node in the step's Trail, -1 before the first chained edge
    steps: int = 0         # chained steps taken so far (the most of any row)

    @property
    def count(self) -> int:
        return int(self.matrix.shape[0])

    def take(self, idx: Array) -> "Batch":
        return Batch(take_rows(self.matrix, idx), self.hash[idx], self.parent[idx], self.root[idx], self.order[idx],
                     self.level[idx], self.inst[idx], self.trail[idx], self.steps)


@dataclass
class Trail:
    """The edges that rows inside a chained step have run, as a forest: node i is edge
    `edge[i]` run after node `up[i]` (-1: the first). A step is all or nothing, so its
    edges count as run (coverage) only for the rows that end it: by resting, or by failing
    a check that ends the path (the counterexample shows what ran); a row that blocks inside
    an atomic body ran nothing."""

    edge: list[Array] = field(default_factory=list)
    up: list[Array] = field(default_factory=list)
    size: int = 0

    def add(self, edges: Array, up: Array) -> Array:
        """New nodes, one per row: `edges[i]` run after node `up[i]`; their ids."""
        n = len(up)
        ids = xp.arange(self.size, self.size + n, dtype=xp.int64)
        self.edge.append(edges if len(edges) == n else xp.full(n, int(edges[0]), dtype=xp.int64))
        self.up.append(up)
        self.size += n
        return ids

    def ran(self, ends: list[Array]) -> list[int]:
        """The edges on the way to the nodes `ends` (-1 entries ignored)."""
        if not self.size:
            return []
        alive = xp.zeros(self.size, dtype=bool)
        ids = _cat(ends)
        alive[ids[ids >= 0]] = True
        # a node's `up` is in an earlier block: one pass over the blocks, last first
        stop = self.size
        for up in reversed(self.up):
            start = stop - len(up)
            here = alive[start:stop]
            if here.any():
                above = up[here]
                alive[above[above >= 0]] = True
            stop = start
        return xp.flatnonzero(xp.bincount(_cat(self.edge)[alive])).tolist()


@dataclass
class Failures:
    """Checks that failed, one entry each: the block row, step, order, check id and the
    row's Trail node."""

    parent: list[Array]
    root: list[Array]
    order: list[Array]
    check: list[Array]
    trail: list[Array] = field(default_factory=list)

    def add(self, batch: Batch, rows: Array, check: CompiledCheck, order: Array) -> None:
        if len(rows) == 0:
            return
        self.parent.append(batch.parent[rows])
        self.root.append(batch.root[rows])
        self.order.append(order[rows])
        self.trail.append(batch.trail[rows])
        ids = check.ids
        self.check.append(xp.full(len(rows), int(ids[0]), dtype=xp.int64) if len(ids) == 1
                          else ids[batch.inst[rows]])


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


def row_layout(model: ir.Model) -> tuple[xp.dtype, int]:
    """The narrowest integer type that holds every slot's values and every pc, and the
    padded width of a row of the model's slots."""
    low = min([0] + [s.low for s in model.slots] + [min(s.values) for s in model.slots if s.values])
    high = max([1] + [s.high for s in model.slots] + [max(s.values) for s in model.slots if s.values])
    for t in list(model.threads) + ([model.init_thread] if model.init_thread else []):
        high = max(high, t.node_count)
    dtype = row_dtype(low, high)
    return dtype, padded_width(len(model.slots), dtype)


class Transitions:
    """The model's edges compiled for blocks of states, by thread group."""

    def __init__(self, model: ir.Model, width: int, dtype: xp.dtype, symmetries: list[Symmetry] | None = None):
        """`symmetries`: fingerprints are then those of states up to them (canonical.py)."""
        self.model = model
        self.width = width          # columns of a row (slots, then padding)
        self.slots = len(model.slots)
        self.dtype = dtype
        self.threads: list[ir.Thread] = list(model.threads) + ([model.init_thread] if model.init_thread else [])
        self.groups: list[list[int]] = thread_groups(model)
        if model.init_thread is not None:
            self.groups.append([len(model.threads)])
        self.group_of: dict[int, tuple[int, int]] = {t: (g, i) for g, members in enumerate(self.groups)
                                                      for i, t in enumerate(members)}
        self.check_keys: list[tuple[int, int]] = []
        self.check_props: list[str] = []
        self.check_fatal: list[bool] = []
        self.coverage = bytearray(len(model.edges))
        self.ranges = slot_ranges(model, width)
        self.fingerprints = Fingerprints(self.ranges[:len(model.slots)])
        self.canonical = Canonical(symmetries, self.fingerprints) if symmetries else None
        self.merged = False     # some state reached was fingerprinted as another of its class
        self.lock_slots = [(lk.slot, lk.reader_slots) for lk in model.locks]
        by_thread: list[dict[int, list[ir.Edge]]] = [dict() for _ in self.threads]
        rank = [0] * len(model.edges)
        for edge in model.edges:
            node = by_thread[edge.thread].setdefault(edge.src, [])
            rank[edge.id] = len(node)
            node.append(edge)
        self.by_node: list[dict[int, list[CompiledEdge]]] = []   # by group
        check_id: dict[tuple[int, int], int] = {}
        for edge in model.edges:
            for k, c in enumerate(edge.checks):
                check_id[(edge.id, k)] = len(self.check_keys)
                self.check_keys.append((edge.id, k))
                self.check_props.append(c.prop)
                self.check_fatal.append(c.prop in ir.FATAL_CHECKS)
        for members in self.groups:
            nodes: dict[int, list[CompiledEdge]] = {}
            for pc, edges in by_thread[members[0]].items():
                compiled: list[CompiledEdge] = []
                for k in range(len(edges)):
                    merged = merge_edge([by_thread[t][pc][k] for t in members])
                    compiled.append(self._compile(merged, members, compiled, check_id))
                nodes[pc] = compiled
            self.by_node.append(nodes)
        self.may_block = [self._may_block(g) for g in range(len(self.groups))]
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

    def _may_block(self, g: int) -> frozenset[int]:
        """The chained pcs of group g from which a row may vanish before its step ends:
        those that reach, through chained pcs, one where every edge has a guard (an await or
        a guarded choice inside an atomic body) other than an if/else pair. Only there is
        coverage held back until the step ends; elsewhere a row that starts the chain ends
        it (at rest, or failing a fatal check), so what it runs counts at once."""
        thread = self.threads[self.groups[g][0]]
        nodes = self.by_node[g]

        def total(pc: int) -> bool:
            edges = nodes.get(pc, [])
            return any(ce.guard is None or ce.negated for ce in edges)

        blocking = {pc for pc in thread.chained if not total(pc)}
        into: dict[int, set[int]] = {}
        for pc in thread.chained:
            for ce in nodes.get(pc, []):
                into.setdefault(ce.edge.dst, set()).add(pc)
        found, todo = set(blocking), list(blocking)
        while todo:
            for src in into.get(todo.pop(), ()):
                if src not in found:
                    found.add(src)
                    todo.append(src)
        return frozenset(found)

    def _compile(self, m: MergedEdge, members: list[int], siblings: list[CompiledEdge],
                 check_id: dict[tuple[int, int], int]) -> CompiledEdge:
        edge = m.edges[0]

        def checks(when: str) -> tuple[CompiledCheck, ...]:
            out = []
            for k, c in enumerate(edge.checks):
                if c.when == when:
                    ids = xp.asarray([check_id[(e.id, k)] for e in m.edges], dtype=xp.int64)
                    out.append(CompiledCheck(ids, ArrayExpr(m.checks[k], self.ranges),  # type: ignore[arg-type]
                                             c.prop in ir.FATAL_CHECKS))
            return tuple(out)

        attempt, exec_, post = checks("attempt"), checks("exec"), checks("post")
        guard, negated = None, False
        if m.guard is not None and m.guard != ir.TRUE:
            # an if/else: `!g` after `g` reuses g's value
            if isinstance(m.guard, ir.Un) and m.guard.op == "!":
                for other in siblings:
                    if other.guard is not None and not other.negated and other.merged.guard == m.guard.arg:
                        guard, negated = other.guard, True
                        break
            if guard is None:
                guard = ArrayExpr(m.guard, self.ranges)  # type: ignore[arg-type]
        writes = []
        for slots, addr, value in m.writes:
            v = ArrayExpr(value, self.ranges)  # type: ignore[arg-type]
            if slots is None:
                writes.append(CompiledWrite(-1, None, ArrayExpr(addr, self.ranges, address=True), v))  # type: ignore
            elif len(set(slots)) == 1:
                writes.append(CompiledWrite(slots[0], None, None, v))
            else:
                writes.append(CompiledWrite(-1, xp.asarray(slots, dtype=xp.int64), None, v))
        acquires = ArrayExpr(m.acquires, self.ranges) if m.acquires is not None else None  # type: ignore[arg-type]
        pcs = xp.asarray([self.threads[t].pc_slot for t in members], dtype=xp.int64)
        fp = self.fingerprints
        words = fp.word(pcs, xp.full(len(pcs), edge.src)) ^ fp.word(pcs, xp.full(len(pcs), edge.dst))
        return CompiledEdge(edge, xp.asarray([e.id for e in m.edges], dtype=xp.int64), pcs, attempt, guard, exec_,
                            post, tuple(writes), acquires, negated, words, m)

    # ---- one edge over a batch ----
    def apply(self, ce: CompiledEdge, rows: Rows, batch: Batch, failures: Failures, locks: LockNotes | None,
              order: Array, owned: bool = False, mark: bool = True) -> tuple[Array, Array, Array]:
        """Run edge `ce` on every row of `batch` (each stands at its source, in the instance
        `batch.inst` says; `rows` reads them). Failed checks go to `failures` (with `order`
        for the rows); returns the rows that complete the edge, their next states and those
        states' fingerprints. `owned`: nothing else uses batch.matrix, so when every row
        takes the step it is written in place. `mark`: count the edge as run (coverage);
        inside a chained step the caller does that, for the rows that end the step."""
        n = rows.count
        alive: Array | None = None      # None: every row so far
        for c in ce.attempt:
            ok = c.cond.mask(rows)
            if not ok.all():
                failures.add(batch, xp.nonzero(~ok)[0], c, order)
                if c.fatal:
                    alive = ok if alive is None else alive & ok
        if ce.guard is not None:
            g = rows.guard(ce.guard, ce.negated)
            alive = g if alive is None else alive & g
        for c in ce.exec:
            ok = c.cond.mask(rows)
            bad = ~ok if alive is None else alive & ~ok
            if bad.any():
                failures.add(batch, xp.nonzero(bad)[0], c, order)
                if c.fatal:
                    alive = ok if alive is None else alive & ok
        if alive is None:
            idx, everything = xp.arange(n), True
        else:
            idx = xp.nonzero(alive)[0]
            if len(idx) == 0:
                return idx, batch.matrix[:0], batch.hash[:0]
            everything = len(idx) == n
        single = len(ce.edge_ids) == 1
        inst = None if single else (batch.inst if everything else batch.inst[idx])
        values = []
        for w in ce.writes:
            # a constant stays a scalar: numpy broadcasts it into the column and the fingerprint
            v: Array | int
            if w.value.constant:
                v = w.value.const
            else:
                v = w.value.values(rows)
                v = v if everything else v[idx]
            a = None if w.addr is None else w.addr.values(rows)
            if not everything:
                a = None if a is None else a[idx]
            if w.slots is not None:
                a = w.slots[inst]
            values.append((w, v, a))
        if everything:
            new = batch.matrix if owned and ce.acquires is None else batch.matrix.copy()
        else:
            new = take_rows(batch.matrix, idx)
        h = batch.hash if everything else batch.hash[idx]
        h = h ^ (ce.pc_words[0] if single else ce.pc_words[inst])
        table, base = self.fingerprints.table, self.fingerprints.base
        ar = None
        for w, v, a in values:
            if w.slot >= 0:
                h ^= table[base[w.slot] + new[:, w.slot]] ^ table[base[w.slot] + v]
                new[:, w.slot] = v
            else:
                assert a is not None    # a computed address: from w.addr or w.slots
                if w.addr is not None and not w.addr.safe:
                    a = xp.minimum(xp.maximum(a, 0), self.slots - 1)
                if ar is None:
                    ar = xp.arange(len(idx))
                at = cells(new, ar, a)
                h ^= table[base[a] + get_cells(new, at)] ^ table[base[a] + v]
                set_cells(new, at, v)
        if single:
            new[:, int(ce.pc_slots[0])] = ce.edge.dst
            if mark:
                self.coverage[ce.edge.id] = 1
        else:
            set_cells(new, cells(new, xp.arange(len(idx)) if ar is None else ar, ce.pc_slots[inst]), ce.edge.dst)
            if mark:
                ran = xp.zeros(len(ce.edge_ids), dtype=bool)
                ran[inst] = True
                for e in ce.edge_ids[ran].tolist():
                    self.coverage[e] = 1
        if ce.post:
            after = Rows(new, inst)
            keep: Array | None = None
            sub = Batch(new, h, batch.parent[idx], batch.root[idx], order[idx], batch.level[idx], batch.inst[idx],
                        batch.trail[idx])
            for c in ce.post:
                ok = c.cond.mask(after)
                bad = ~ok if keep is None else keep & ~ok
                if bad.any():
                    failures.add(sub, xp.nonzero(bad)[0], c, sub.order)
                    if c.fatal:
                        keep = ok if keep is None else keep & ok
            if keep is not None:
                idx, new, h = idx[keep], keep_rows(new, keep), h[keep]
        if locks is not None and ce.acquires is not None and len(idx):
            self._note_locks(ce, rows, idx, batch, order, locks)
        return idx, new, h

    def _note_locks(self, ce: CompiledEdge, rows: Rows, idx: Array, batch: Batch, order: Array,
                    locks: LockNotes) -> None:
        inst = batch.inst[idx]
        edge = ce.edge_ids[inst]
        thread = self.edge_thread[edge]
        me = thread + 1
        taken = ce.acquires.values(rows)[idx]  # type: ignore[union-attr]
        for slot, readers in self.lock_slots:
            held = rows.column(slot)[idx] == me
            if readers:
                reader_slots = xp.asarray(readers, dtype=xp.int64)[thread]
                held |= rows.matrix[idx, reader_slots] != 0
            held &= taken != slot
            sel = xp.nonzero(held)[0]
            if len(sel) == 0:
                continue
            src = idx[sel]
            locks.parent.append(batch.parent[src])
            locks.root.append(batch.root[src])
            locks.order.append(order[src])
            locks.edge.append(edge[sel])
            locks.held.append(xp.full(len(sel), slot, dtype=xp.int64))
            locks.taken.append(taken[sel])

    # ---- whole steps ----
    def expand(self, block: Array, hashes: Array, failures: Failures, locks: LockNotes | None,
               moved: Array) -> list[Batch]:
        """Every step each thread can take from each row of `block` (resting states, with
        their fingerprints): the batches of resting states they end in. `moved[row]` is set
        where some step ran to its end or failed a fatal check. Under symmetry, `hashes` are
        those of the states' classes, and so are the endings'."""
        if self.canonical is not None:
            hashes = self.fingerprints.rows(block)   # a step updates the fingerprint of the row itself
        endings: list[Batch] = []
        for g, members in enumerate(self.groups):
            if members[0] < len(self.model.threads):
                endings += self.step(block, hashes, g, failures, locks, moved)
        if self.canonical is not None:
            endings = [replace(b, hash=self.class_keys(b.matrix, b.hash)) for b in endings]
        return endings

    def keys(self, matrix: Array) -> Array:
        """The fingerprints the search stores for these rows: of the rows, or of their classes."""
        if self.canonical is None:
            return self.fingerprints.rows(matrix)
        return self.class_keys(matrix, self.fingerprints.rows(matrix))

    def class_keys(self, matrix: Array, hashes: Array) -> Array:
        assert self.canonical is not None
        keys = self.canonical.keys(matrix[:, :self.slots])
        if not self.merged and len(keys) and (keys != hashes).any():
            self.merged = True
        return keys

    def step(self, block: Array, hashes: Array, g: int, failures: Failures, locks: LockNotes | None,
             moved: Array) -> list[Batch]:
        members = self.groups[g]
        thread = self.threads[members[0]]
        nodes = self.by_node[g]
        endings: list[Batch] = []
        pool: dict[int, list[Batch]] = {}
        trail = Trail()
        may_block = self.may_block[g]
        before = len(failures.parent)
        k = len(members)
        if k == 1:
            pcs = block[:, thread.pc_slot]
        else:
            pcs = block[:, [self.threads[t].pc_slot for t in members]].reshape(-1)   # row-major: row, instance
        for pc, where in groups_of(pcs):
            edges = nodes.get(pc)
            if not edges:
                continue
            if k == 1:
                sel, inst = where, xp.zeros(len(where), dtype=xp.int64)
            else:
                sel, inst = where // k, where % k
            zero = xp.zeros(len(sel), dtype=xp.int64)
            matrix = take_rows(block, sel)
            rows = Rows(matrix, inst)
            start_hash = hashes[sel]
            for ce in edges:
                root = xp.full(len(sel), ce.edge.id, dtype=xp.int64) if k == 1 else ce.edge_ids[inst]
                start = Batch(matrix, start_hash, sel, root, zero, zero, inst, zero - 1)
                held_back = ce.edge.dst in may_block
                idx, new, h = self.apply(ce, rows, start, failures, locks, zero, owned=len(edges) == 1,
                                         mark=not held_back)
                if len(idx):
                    out = Batch(new, h, sel[idx], root[idx], zero[idx], zero[idx], inst[idx], zero[idx] - 1)
                    if held_back:
                        out.trail = trail.add(root[idx], out.trail)
                    if ce.edge.dst in thread.chained:
                        pool.setdefault(ce.edge.dst, []).append(out)
                    else:
                        endings.append(out)
        if pool:
            self._chain(g, pool, endings, failures, locks, trail, before)
        for j in range(before, len(failures.parent)):
            moved[failures.parent[j][self.fatal_of[failures.check[j]]]] = True
        for b in endings:
            moved[b.parent] = True
        return endings

    def _chain(self, g: int, pool: dict[int, list[Batch]], endings: list[Batch], failures: Failures,
               locks: LockNotes | None, trail: Trail, before: int) -> None:
        """Run group g's chained steps on the rows waiting in `pool` (by pc) until each
        rests (into `endings`), fails a fatal check, or blocks inside an atomic body (it
        vanishes). Rows that reach the same pc by different ways are run together. The
        edges run from pcs where a row may still vanish count as covered for the rows that
        rest or fail fatally (`trail` holds them; `failures` from index `before` are this
        step's); the others at once."""
        first_ending = len(endings)
        self._run_chain(g, pool, endings, failures, locks, trail)
        ends = [b.trail for b in endings[first_ending:]]
        for j in range(before, len(failures.trail)):
            ends.append(failures.trail[j][self.fatal_of[failures.check[j]]])
        for e in trail.ran(ends):
            self.coverage[e] = 1

    def _run_chain(self, g: int, pool: dict[int, list[Batch]], endings: list[Batch], failures: Failures,
                   locks: LockNotes | None, trail: Trail) -> None:
        thread = self.threads[self.groups[g][0]]
        nodes = self.by_node[g]
        may_block = self.may_block[g]
        waiting = list(pool)
        heapq.heapify(waiting)
        while waiting:
            pc = heapq.heappop(waiting)
            here = _concat(pool.pop(pc))
            if here.steps >= MAX_LOCAL_STEPS:
                name = self.threads[self.groups[g][int(here.inst[0])]].name
                text, span = thread.node_text.get(pc, ("?", None))
                raise LocalLoopError(name, text, span)
            edges = nodes.get(pc)
            if not edges:
                continue
            rows = Rows(here.matrix, here.inst)
            # an if/else sends each row one way: only a real choice is a branch of the order
            branching = len(edges) > 1 and not (len(edges) == 2 and edges[1].negated and not edges[1].attempt)
            for k, ce in enumerate(edges):
                order = here.order
                if branching:
                    order = here.order + (k + 1) * self.powers[xp.minimum(here.level, self.digits)]
                held_back = pc in may_block
                idx, new, h = self.apply(ce, rows, here, failures, locks, order, owned=len(edges) == 1,
                                         mark=not held_back)
                if len(idx) == 0:
                    continue
                after = here.trail[idx]
                if held_back:
                    after = trail.add(ce.edge_ids if len(ce.edge_ids) == 1 else ce.edge_ids[here.inst[idx]], after)
                out = Batch(new, h, here.parent[idx], here.root[idx], order[idx],
                            here.level[idx] + 1 if branching else here.level[idx], here.inst[idx],
                            after, here.steps + 1)
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
        g, i = self.group_of[t]
        n = block.shape[0]
        ar = xp.arange(n)
        zero = xp.zeros(n, dtype=xp.int64)
        whole = Batch(block, hashes, ar, zero - 1, zero, zero, zero + i, zero - 1)
        pcs = block[:, thread.pc_slot]
        inside = xp.isin(pcs, list(thread.chained)) if thread.chained else xp.zeros(n, bool)
        endings = [whole.take(xp.nonzero(~inside)[0])]
        pool: dict[int, list[Batch]] = {}
        for pc, sel in groups_of(pcs):
            if pc in thread.chained:
                pool[pc] = [whole.take(sel)]
        if pool:
            self._chain(g, pool, endings, failures, None, Trail(), len(failures.parent))
        return endings

    def new_failures(self) -> Failures:
        return Failures([], [], [], [])

    def initial(self) -> tuple[Array, Array, list[int]]:
        """The initial states as rows and their fingerprints: the model's initial state with
        the init thread and then each thread run through its first local steps (every way
        they can go); and the checks (ids into check_keys) failing on the way, in order."""
        states = xp.zeros((1, self.width), dtype=self.dtype)
        states[0, :self.slots] = xp.asarray(self.model.initial, dtype=xp.int64)
        hashes = self.fingerprints.rows(states)
        failed: list[int] = []
        nthreads = len(self.model.threads)
        for t in ([nthreads] if self.model.init_thread else []) + list(range(nthreads)):
            failures = self.new_failures()
            endings = concat(self.settle(states, hashes, t, failures), self.width, self.dtype)
            for checks in failures.check:
                failed += checks.tolist()
            first = first_occurrences(endings.hash)[0]
            states, hashes = take_rows(endings.matrix, first), endings.hash[first]
        if self.canonical is not None:
            keys = self.keys(states)
            first = first_occurrences(keys)[0]
            states, hashes = states[first], keys[first]
        return states, hashes, failed

    @staticmethod
    def new_locks() -> LockNotes:
        return LockNotes([], [], [], [], [], [])


def groups_of(values: Array) -> list[tuple[int, Array]]:
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
                 _cat([b.parent for b in batches]), _cat([b.root for b in batches]),
                 _cat([b.order for b in batches]), _cat([b.level for b in batches]),
                 _cat([b.inst for b in batches]), _cat([b.trail for b in batches]), max(b.steps for b in batches))


def concat(batches: list[Batch], width: int, dtype: xp.dtype) -> Batch:
    batches = [b for b in batches if b.count]
    if not batches:
        z = xp.zeros(0, dtype=xp.int64)
        return Batch(xp.zeros((0, width), dtype=dtype), z.astype(HASH), z, z, z, z, z, z)
    return _concat(batches)
