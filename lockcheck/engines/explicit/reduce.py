"""Partial-order reduction for the frontier engine: from a state, the steps of one thread
only (an ample set), when no other thread can, from where it stands, ever touch what that
step touches. Built from the read and write sets of the IR's edges, sharpened by each
thread's local configuration (its pc and locals: a loop's counter and the object it is on)
through LocalAnalysis, which runs a thread on its own with every other slot unknown.

What a state keeps of its successors (FrontierSearch still computes them all, so every
thread's checks, lock acquisitions and statements are evaluated in every state it visits):
thread t's steps only, when
  C0  t has a step from the state that ends in a state (not only failed checks);
  C1  t's step from its configuration (the edge and the chained steps after it) is
      independent of every step each other thread u can take from its configuration on
      (its future): neither writes a slot the other reads or writes. A load or store
      whose address the configuration does not fix counts every candidate slot; an
      acquire also reads the locks its thread ever takes (the lock-order check asks which
      of them the thread holds);
  C2  t's step writes no slot an invariant reads;
  C3  one of t's successors is new: not in the levels already visited, so one level
      deeper. This is the cycle proviso for breadth-first search: the "closed set" proviso
      of Bosnacki, Leue and Lluch Lafuente ("Partial-order reduction for general state
      exploring algorithms", STTT 11(1), 2009; breadth-first provisos for Spin go back to
      Bosnacki and Holzmann, "Improving Spin's partial-order reduction for breadth-first
      search", SPIN 2005), in the stricter form the argument below needs.
Why that is exact: take a path in the full graph from a visited state s to a state r.
If it has a step of t, its first one commutes to the front (C1), so it starts with an
ample step. If not, t's step a from s commutes with the whole path (C1) and lands in a(r),
where each other thread stands as in r and reads what it read there, and the invariants
read what they read in r (C2); t's own steps at r are those at s (nothing on the path
wrote what t reads), evaluated at s. Choosing for a the new successor (C3), the path to
the target gets shorter or the depth grows, so the induction ends: every invariant
violation, failed check, lock-order pair, deadlock and statement of the full graph is seen
in the reduced one (a deadlock cannot take the second case: t can move in it). Traces are
not shortest there; check_frontier re-searches without reduction for them."""
from __future__ import annotations

from dataclasses import dataclass

from ... import ir
from .arrays import Array, take_rows, xp


@dataclass(frozen=True)
class Footprint:
    """Slots a step may read and write, as bit sets (bit k: slot k)."""

    reads: int = 0
    writes: int = 0

    def __or__(self, other: "Footprint") -> "Footprint":
        return Footprint(self.reads | other.reads, self.writes | other.writes)

    def independent(self, other: "Footprint") -> bool:
        return not (self.writes & (other.reads | other.writes)) and not (self.reads & other.writes)


def _bits(slots: set[int] | tuple[int, ...]) -> int:
    out = 0
    for s in slots:
        out |= 1 << s
    return out


def lock_slots_taken(model: ir.Model, thread: int) -> set[int]:
    """The lock slots (owners and readers) a thread ever writes: the ones it can hold."""
    lock_slots = {lk.slot for lk in model.locks} | {s for lk in model.locks for s in lk.reader_slots}
    return {c for e in model.edges if e.thread == thread for w in e.writes for c in w.candidates} & lock_slots


# ---- a thread on its own: where it can go from a local configuration ----------------------

Env = dict[int, int]   # the known slots: a thread's pc and locals
MAX_CONFIGS = 20_000   # local configurations one thread's analysis explores before it gives up
MAX_HAVOC = 64         # a local slot set to an unknown value takes each value of its domain up to this


def evaluate(expr: ir.Expr, env: Env) -> int | None:
    """The value of an expression where only `env`'s slots are known (None: not known)."""
    if isinstance(expr, ir.Lit):
        return expr.value
    if isinstance(expr, ir.Var):
        return env.get(expr.slot)
    if isinstance(expr, ir.Load):
        a = evaluate(expr.addr, env)
        return None if a is None or a not in expr.candidates else env.get(a)
    if isinstance(expr, ir.Un):
        v = evaluate(expr.arg, env)
        if v is None:
            return None
        return int(not v) if expr.op == "!" else -v
    if isinstance(expr, ir.Ite):
        c = evaluate(expr.cond, env)
        if c is None:
            return None
        return evaluate(expr.then if c else expr.other, env)
    assert isinstance(expr, ir.Bin)
    op = expr.op
    left = evaluate(expr.left, env)
    if op in ("&&", "||", "->"):
        # decided by one side alone: false && _, true || _, false -> _; _ && false, _ || true, _ -> true
        stop = 0 if op == "&&" else 1
        if left is not None and bool(left) == (op == "||"):
            return stop
        right = evaluate(expr.right, env)
        if right is not None and bool(right) == (op != "&&"):
            return stop
        if left is None or right is None:
            return None
        if op == "&&":
            return int(bool(left) and bool(right))
        if op == "||":
            return int(bool(left) or bool(right))
        return int(not left or bool(right))
    right = evaluate(expr.right, env)
    if left is None or right is None or op in ("/", "%"):
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return int({"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
                ">": left > right, ">=": left >= right}[op])


def _touched(expr: ir.Expr, env: Env) -> set[int]:
    """The slots an expression may read, a load whose address is known reading only it."""
    out: set[int] = set()
    for e in ir.subexpressions(expr):
        if isinstance(e, ir.Var):
            out.add(e.slot)
        elif isinstance(e, ir.Load):
            a = evaluate(e.addr, env)
            out.update([a] if a is not None and a in e.candidates else e.candidates)
    return out


class LocalAnalysis:
    """One thread run on its own, the other slots unknown: from a local configuration (its
    pc and locals), the configurations it can reach and what its steps there may touch.
    An over-approximation of every run of the whole system: a guard that reads other
    slots may go either way, a local set from other slots may take any value."""

    def __init__(self, model: ir.Model, thread: ir.Thread):
        self.model = model
        self.thread = thread
        self.held = lock_slots_taken(model, thread.index)
        others = {c for e in model.edges if e.thread != thread.index for w in e.writes for c in w.candidates}
        self.locals = [s for s in thread.local_slots if s not in others and s != thread.pc_slot]
        self.cols = [thread.pc_slot] + self.locals
        # every value a row can hold there (as evaluate.slot_ranges: a ref's `values` and its low..high)
        self.domains = [tuple(range(0, thread.node_count + 1))] + [_range(model.slots[s]) for s in self.locals]
        self.edges: dict[int, list[ir.Edge]] = {}
        for e in model.edges:
            if e.thread == thread.index:
                self.edges.setdefault(e.src, []).append(e)
        self.lows = [min(d) for d in self.domains]
        sizes = [max(d) - min(d) + 1 for d in self.domains]
        mult, m = [], 1
        for size in sizes:
            mult.append(m)
            m *= size
        if m >= 1 << 62:    # too many to number: the pc alone
            self.cols, self.domains, self.locals, self.lows, mult = self.cols[:1], self.domains[:1], [], self.lows[:1], [1]
        self.mult = mult
        self.successors: dict[tuple[int, ...], list[tuple[tuple[int, ...], Footprint]]] = {}
        self.future_of: dict[tuple[int, ...], Footprint] = {}
        self.step_of: dict[tuple[int, ...], Footprint] = {}
        self.top = Footprint(-1, -1)   # every slot: where the analysis gave up

    def keys(self, block: Array) -> Array:
        """The local configuration of each row, as one number."""
        out = xp.zeros(len(block), dtype=xp.int64)
        for col, low, m in zip(self.cols, self.lows, self.mult):
            out += (block[:, col].astype(xp.int64) - low) * m
        return out

    def config(self, key: int) -> tuple[int, ...]:
        out = []
        for low, m, nxt in zip(self.lows, self.mult, self.mult[1:] + [None]):
            rest = key if nxt is None else key % nxt
            out.append(rest // m + low)
        return tuple(out)

    def _env(self, config: tuple[int, ...]) -> Env:
        return dict(zip(self.cols, config))

    def _edge(self, edge: ir.Edge, env: Env) -> tuple[Footprint, list[tuple[int, ...]]] | None:
        """An edge from a configuration: None if its guard is false there; else what it may
        touch and the configurations it may lead to."""
        if edge.guard is not None and evaluate(edge.guard, env) == 0:
            return None
        reads: set[int] = set()
        exprs = [c.cond for c in edge.checks] + [w.value for w in edge.writes]
        if edge.guard is not None:
            exprs.append(edge.guard)
        if edge.acquires is not None:
            exprs.append(edge.acquires)
            reads |= self.held
        writes = {self.thread.pc_slot}
        after: dict[int, list[int]] = {}
        for w in edge.writes:
            if isinstance(w.addr, ir.Lit):
                targets = [w.addr.value]
            else:
                exprs.append(w.addr)
                a = evaluate(w.addr, env)
                targets = [a] if a is not None and a in w.candidates else list(w.candidates)
            writes.update(targets)
            value = evaluate(w.value, env)
            for slot in targets:
                if slot not in env or slot == self.thread.pc_slot:
                    continue
                domain = self.domains[self.cols.index(slot)]
                if value is not None and value in domain:
                    values = {value}
                elif len(domain) <= MAX_HAVOC:
                    values = set(domain)
                else:
                    raise _GiveUp
                if len(targets) > 1:   # a store through an address that may be another slot
                    values.add(env[slot])
                after[slot] = sorted(values)
        for e in exprs:
            reads |= _touched(e, env)
        configs = [[edge.dst]] + [after.get(s, [env[s]]) for s in self.cols[1:]]
        out: list[tuple[int, ...]] = [()]
        for choices in configs:
            out = [c + (v,) for c in out for v in choices]
        return Footprint(_bits(reads), _bits(writes)), out

    def _successors(self, config: tuple[int, ...]) -> list[tuple[tuple[int, ...], Footprint]]:
        have = self.successors.get(config)
        if have is None:
            env = self._env(config)
            have = []
            for edge in self.edges.get(config[0], ()):
                got = self._edge(edge, env)
                if got is not None:
                    have += [(c, got[0]) for c in got[1]]
            self.successors[config] = have
        return have

    def _closure(self, config: tuple[int, ...], through) -> tuple[Footprint, list[tuple[int, ...]]]:
        seen, stack, fp = {config}, [config], Footprint()
        while stack:
            for nxt, f in self._successors(stack.pop()):
                fp = fp | f
                if nxt not in seen and through(nxt):
                    if len(seen) >= MAX_CONFIGS:
                        raise _GiveUp
                    seen.add(nxt)
                    stack.append(nxt)
        return fp, list(seen)

    def step(self, key: int) -> Footprint:
        """What the thread's step from this configuration (an edge and the chained ones
        after it) may touch."""
        config = self.config(key)
        have = self.step_of.get(config)
        if have is None:
            try:
                have = self._closure(config, lambda c: c[0] in self.thread.chained)[0]
            except _GiveUp:
                have = self.top
            self.step_of[config] = have
        return have

    def future(self, key: int) -> Footprint:
        """What every step the thread can take from this configuration on may touch."""
        config = self.config(key)
        have = self.future_of.get(config)
        if have is None:
            try:
                have, seen = self._closure(config, lambda c: True)
            except _GiveUp:
                have = self.top
            self.future_of[config] = have
        return have


def _range(slot: ir.Slot) -> tuple[int, ...]:
    values = slot.values or (slot.low, slot.high)
    return tuple(range(min(values + (slot.low,)), max(values + (slot.high,)) + 1))


def _dense(keys: Array) -> tuple[Array, Array]:
    """The distinct keys, sorted, and for each key its number among them (np.unique with
    return_inverse, without the sort when the keys span a small range)."""
    if len(keys) == 0:
        return keys, keys
    low, high = int(keys.min()), int(keys.max())
    if high - low > 4 * len(keys) + 1024:
        uniq, inv = xp.unique(keys, return_inverse=True)
        return uniq, inv.reshape(-1)
    present = xp.zeros(high - low + 1, dtype=bool)
    present[keys - low] = True
    number = xp.cumsum(present) - 1
    return xp.flatnonzero(present) + low, number[keys - low]


class _GiveUp(Exception):
    """The analysis of one configuration went past its bounds: it touches everything."""


class Reduction:
    """The ample-set choice, per state: each thread's local configuration is looked up in
    its LocalAnalysis; C1 and C2 are decided once per pair of configurations and kept."""

    def __init__(self, model: ir.Model):
        self.model = model
        self.threads = list(model.threads)
        self.analyses = [LocalAnalysis(model, t) for t in self.threads]
        self.invariant_reads = _bits(set().union(*[ir.slots_read(p.cond) for p in model.invariants
                                                   if p.cond is not None]))
        self.candidate_of: list[dict[int, bool]] = [dict() for _ in self.threads]
        self.pairs: dict[tuple[int, int, int, int], bool] = {}

    def candidate(self, t: int, key: int) -> bool:
        """C2: thread t's step from this configuration writes no slot an invariant reads."""
        have = self.candidate_of[t].get(key)
        if have is None:
            have = not (self.analyses[t].step(key).writes & self.invariant_reads)
            self.candidate_of[t][key] = have
        return have

    def independent(self, t: int, key: int, u: int, key_u: int) -> bool:
        """C1: thread t's step from its configuration against all thread u can do from its."""
        k = (t, key, u, key_u)
        have = self.pairs.get(k)
        if have is None:
            have = self.analyses[t].step(key).independent(self.analyses[u].future(key_u))
            self.pairs[k] = have
        return have

    def independent_in(self, state: tuple, t: int, u: int) -> bool:
        """C1 for threads t and u in a state (a tuple of slot values)."""
        row = xp.asarray([state], dtype=xp.int64)
        return self.independent(t, int(self.analyses[t].keys(row)[0]), u, int(self.analyses[u].keys(row)[0]))

    def candidate_in(self, state: tuple, t: int) -> bool:
        row = xp.asarray([state], dtype=xp.int64)
        return self.candidate(t, int(self.analyses[t].keys(row)[0]))

    def eligible(self, block: Array) -> Array:
        """(rows x threads): may the thread's steps alone be a row's ample set, by C1 and C2."""
        T, n = len(self.threads), len(block)
        # each thread's configurations in this block, numbered densely
        distinct = [_dense(a.keys(block)) for a in self.analyses]
        out = xp.zeros((n, T), dtype=bool)
        for t in range(T):
            keys, inv = distinct[t]
            ok = xp.asarray([self.candidate(t, k) for k in keys.tolist()], dtype=bool)[inv]
            for u in range(T):
                if u == t or not ok.any():
                    continue
                rows = xp.nonzero(ok)[0]
                keys_u, inv_u = distinct[u]
                pair = inv[rows] * len(keys_u) + inv_u[rows]
                present = xp.zeros(len(keys) * len(keys_u), dtype=bool)
                present[pair] = True
                up = xp.flatnonzero(present)
                a, b = keys[up // len(keys_u)].tolist(), keys_u[up % len(keys_u)].tolist()
                good = present   # reused: only the entries at `up` are read below
                good[up] = [self.independent(t, x, u, y) for x, y in zip(a, b)]
                ok[rows] = good[pair]
            out[:, t] = ok
        return out

    def choose(self, block: Array, parent: Array, thread: Array, new: Array) -> Array:
        """For each row of `block`, the thread whose steps alone it keeps, or -1 for all:
        `parent`, `thread` and `new` describe its successors (new: not seen at an earlier
        depth, C3). Among the eligible threads, the one with the fewest successors."""
        n, T = len(block), len(self.threads)
        if T < 2 or n == 0:
            return xp.full(n, -1, dtype=xp.int64)
        key = parent * T + thread
        count = xp.bincount(key, minlength=n * T).reshape(n, T)
        movers = (count > 0).sum(axis=1)
        out = xp.full(n, -1, dtype=xp.int64)
        some = xp.nonzero(movers > 1)[0]      # one thread moving: nothing to gain
        if len(some) == 0:
            return out
        has_new = xp.zeros(n * T, dtype=bool)
        has_new[key[new]] = True
        ok = self.eligible(take_rows(block, some)) & has_new.reshape(n, T)[some]
        score = xp.where(ok, count[some], xp.iinfo(xp.int64).max)
        out[some] = xp.where(ok.any(axis=1), xp.argmin(score, axis=1), -1)
        return out
