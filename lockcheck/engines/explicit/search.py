"""Level-synchronous breadth-first search over whole frontiers: each level is a matrix of
states (a row each), expanded a block at a time by Transitions; duplicates go by 64-bit
row fingerprints against the visited set; each state keeps its parent, the edge that
reached it and its fingerprint (22 bytes), so a trace is rebuilt by replay. With
`switches` on (check_frontier's second search, up to the violations' depth) it also keeps
the fewest-switch paths, to give among the shortest counterexamples the one with the fewest
thread switches, as the scalar engine does, with the same order of discovery (parents in
order, threads in order, a thread's steps in edge order)."""
from __future__ import annotations

import os
import time
from bisect import bisect_right
from dataclasses import dataclass, replace
from typing import Callable

from ... import ir
from ...symmetry import find_symmetries
from ..errors import INTERRUPTED, OUT_OF_MEMORY
from ..record import Found, Path, Violation
from .arrays import HASH, Array, distinct, records, stable_order, take_rows, xp
from .evaluate import ArrayExpr, Rows
from .reduce import Reduction
from .steps import Batch, Transitions, groups_of, row_layout

MAX_CANDIDATES = 10_000   # violations of one property kept at its smallest depth, to pick the best trace
UNREACHED = 255
NOT_YET = (1 << 31) - 1
SW_BLOCK = 64             # states per stored offset into a level's fewest-switch entries
PROGRESS_SECONDS = 0.5    # between progress reports


@dataclass
class SearchLimits:
    max_states: int | None = None
    max_depth: int = 1_000_000
    max_memory: int | None = None     # bytes of the process (resident), checked between blocks
    timeout: float | None = None      # seconds
    reduction: bool = False           # partial-order reduction (reduce.py; the api and CLI turn it on)
    symmetry: bool = False            # states up to thread symmetry (lockcheck/symmetry.py; likewise)


@dataclass(frozen=True)
class SearchProgress:
    states: int
    frontier: int           # states of the level being expanded
    depth: int
    seconds: float
    memory: int             # bytes resident


@dataclass(frozen=True)
class Candidate:
    """Where a violation was seen: a state (edge -1), or a step from a state that fails
    check `key` (or a chained step after it that fails `chain_key`); `switches` and
    `thread` say how few thread switches reach it on a shortest path, and which thread's
    best path to follow."""

    state: int
    edge: int
    key: tuple[int, int] | None
    chain_key: tuple[int, int] | None
    switches: int
    thread: int


def resident_bytes() -> int:
    """This process's resident memory, or 0 where /proc is not there."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


INVARIANT_ROWS = 1 << 14


def _cat(parts: list[Array]) -> Array:
    return parts[0] if len(parts) == 1 else xp.concatenate(parts)


class Visited:
    """The fingerprints of every state seen: sorted runs, a run merged into the one before
    it while that one is at most 8 times its size, so that a level costs a search in a few
    runs (4-6 on ext4, 11-12 when merging at 2 times) and merging stays O(n log n) overall."""

    def __init__(self) -> None:
        self.runs: list[Array] = []

    def contains(self, keys: Array) -> Array:
        out = xp.zeros(len(keys), dtype=bool)
        for run in self.runs:
            if len(run) == 0:
                continue
            pos = xp.searchsorted(run, keys)
            pos[pos == len(run)] = len(run) - 1
            out |= run[pos] == keys
        return out

    def add(self, sorted_keys: Array) -> None:
        self.runs.append(sorted_keys)
        while len(self.runs) > 1 and len(self.runs[-2]) <= 8 * len(self.runs[-1]):
            small, big = self.runs.pop(), self.runs.pop()
            self.runs.append(xp.insert(big, xp.searchsorted(big, small), small))

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs)


class Growable:
    """An array appended to a block at a time (capacity doubles)."""

    def __init__(self, dtype, columns: int = 0):
        self.columns = columns
        self.data = xp.zeros((1024, columns) if columns else 1024, dtype=dtype)
        self.size = 0

    def append(self, n: int) -> Array:
        """Room for n more rows at the end, to be filled by the caller."""
        if self.size + n > len(self.data):
            cap = max(2 * len(self.data), self.size + n)
            grown = xp.empty((cap, self.columns) if self.columns else cap, dtype=self.data.dtype)
            grown[:self.size] = self.data[:self.size]
            self.data = grown
        self.size += n
        return self.data[self.size - n:self.size]

    def extend(self, values: Array) -> None:
        self.append(len(values))[:] = values

    def grow(self, n: int, fill: int) -> None:
        """n more rows, each `fill`."""
        self.append(n)[:] = fill

    def view(self) -> Array:
        return self.data[:self.size]

    def trimmed(self) -> Array:
        """The rows, the buffer shrunk to them in place (a realloc, no copy; only for the
        last use of this Growable, when no view of it is left)."""
        self.data.resize((self.size, self.columns) if self.columns else self.size, refcheck=False)
        return self.data


@dataclass
class Level:
    """The states of one depth, as stored for traces: fingerprints, parents, edges, and the
    fewest-switch paths into each (state, thread) reached on a shortest path."""

    start: int                  # id of the first state of the level
    hashes: Array               # uint64
    parent: Array               # int32 ids
    via: Array                  # edge ids (int16 or int32)
    sw_count: Array             # uint8 per state: its entries (one per thread it is reached by)
    sw_block: Array             # int64: the first entry of every SW_BLOCK-th state
    sw_thread: Array            # uint8 per entry, in state order: the thread of the step into it
    sw_parent: Array            # int32 id of the previous state
    sw_last: Array              # uint8 thread of the previous step
    sw_via: Array               # edge of the step (int16 or int32)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.hashes, self.parent, self.via, self.sw_count, self.sw_block,
                                      self.sw_thread, self.sw_parent, self.sw_last, self.sw_via))

    def entry(self, local: int, t: int) -> int:
        """Where the entry of (state, thread t) is."""
        block = local // SW_BLOCK
        first = int(self.sw_block[block]) + int(self.sw_count[block * SW_BLOCK:local].sum(dtype=xp.int64))
        here = self.sw_thread[first:first + int(self.sw_count[local])]
        hit = xp.nonzero(here == t)[0]
        assert len(hit), "a fewest-switch path lost its way"
        return first + int(hit[0])


class FrontierSearch:
    def __init__(self, model: ir.Model, limits: SearchLimits,
                 progress: Callable[[SearchProgress], None] | None = None, block_rows: int | None = None,
                 on_violation: Callable[[str, int], None] | None = None,
                 until: tuple[set[str], set[tuple[int, int]]] | None = None, switches: bool = False):
        """`on_violation(prop, depth)`: told once per property, when its first violation is
        recorded (its trace comes with the result at the end). `switches`: keep the
        fewest-switch paths into every (state, thread), about 5 entries of 8 bytes per state
        on ext4, to trace each violation by the path that switches threads least; without,
        violations are traced by first discovery (as short, maybe more switches), and
        check_frontier searches again with them up to the violations' depth."""
        self.model = model
        self.limits = limits
        self.progress = progress
        self.on_violation = on_violation
        self.dtype, self.width = row_layout(model)
        self.slots = len(model.slots)
        self.symmetries = find_symmetries(model) if limits.symmetry else []
        self.system = Transitions(model, self.width, self.dtype, self.symmetries)
        self.nthreads = len(model.threads)
        self.switches = switches and self.nthreads > 0
        self.pc_slots = [t.pc_slot for t in model.threads]
        self.ends = xp.asarray([t.end for t in model.threads], dtype=xp.int64)
        self.invariants = [(p.name, ArrayExpr(p.cond)) for p in model.invariants if p.cond is not None]
        self.block_rows = block_rows or max(1024, (1 << 23) // max(1, self.width * self.dtype.itemsize))
        self.levels: list[Level] = []
        self.level_starts: list[int] = []
        self.roots: dict[int, tuple] = {}
        self.found_at: dict[str, tuple[int, list[Candidate]]] = {}
        self.result = Found()
        self.edge_thread = self.system.edge_thread
        self.edge_type = xp.int16 if len(model.edges) < (1 << 15) else xp.int32
        self.parent_stride = (len(self.system.threads) + 1) * self.system.base
        props = self.system.check_props
        self.check_prop_number = xp.asarray([props.index(p) for p in props] + [0], dtype=xp.int64)
        self.visited = Visited()
        self.reduction = Reduction(model) if limits.reduction and self.nthreads > 1 else None
        self.reduced_states = 0   # states whose successors the reduction cut to one thread's
        self.first_cut: int | None = None   # the first depth it did (the levels before are the full search's)
        self.told: set[str] = set()         # the properties on_violation was told of
        self.until = until   # stop once these properties are violated and these lock pairs seen

    # ---- rows <-> tuples ----
    def matrix(self, states: list[tuple]) -> Array:
        m = xp.zeros((len(states), self.width), dtype=self.dtype)
        if states:
            m[:, :self.slots] = xp.asarray(states, dtype=xp.int64)
        return m

    def state_hash(self, state: tuple) -> int:
        return int(self.system.keys(self.matrix([state]))[0])

    # ---- candidates ----
    def note(self, prop: str, depth: int, make: Callable[[int], list[Candidate]], count: int) -> None:
        """Violations at `depth` (steps): keep every one at the smallest depth (up to a cap).
        `make(k)` builds the first k of the `count` candidates, in order."""
        have = self.found_at.get(prop)
        if have is None or depth < have[0]:
            self.found_at[prop] = (depth, make(min(count, MAX_CANDIDATES)))
            if have is None and self.on_violation is not None and prop not in self.result.violations \
                    and self._shortest_yet(prop, depth):
                self.told.add(prop)
                self.on_violation(prop, depth)   # after it is recorded: an interrupt now keeps it
        elif depth == have[0] and len(have[1]) < MAX_CANDIDATES:
            have[1].extend(make(min(count, MAX_CANDIDATES - len(have[1]))))

    def run(self) -> Found:
        started = time.perf_counter()
        try:
            self._search(started)
        except KeyboardInterrupt:   # Ctrl-C (or SIGTERM made one): what was found so far stands
            self.result.limit = INTERRUPTED
        except MemoryError:         # past --max-memory's reach (ulimit -v): likewise
            self.result.limit = OUT_OF_MEMORY
        res = self.result
        res.coverage = self.system.coverage
        for prop, (_, candidates) in self.found_at.items():
            if prop not in res.violations:
                res.violations[prop] = Violation(prop, self.best_path(candidates))
        stored = sum(lv.nbytes for lv in self.levels) + self.visited.nbytes
        res.stored_bytes = stored
        return res

    # ---- the search ----
    def initial(self) -> tuple[Array, Array, list[tuple[str, Path]]]:
        system = self.system
        states, hashes, failed = system.initial()
        return states, hashes, [(system.check_props[c], Path(self.model.initial, (), None, system.check_keys[c]))
                                for c in failed]

    def _search(self, started: float) -> None:
        res, limits = self.result, self.limits
        T = self.nthreads
        frontier, hashes, init_violations = self.initial()
        for prop, path in init_violations:
            if prop not in res.violations:
                res.violations[prop] = Violation(prop, path)
                if self.on_violation is not None:
                    self.told.add(prop)
                    self.on_violation(prop, 0)
        n0 = len(frontier)
        for i in range(n0):
            self.roots[i] = tuple(int(v) for v in frontier[i, :self.slots])
        z = xp.zeros(0, dtype=xp.int64)
        u8 = z.astype(xp.uint8)
        self.levels.append(Level(0, hashes, xp.full(n0, -1, dtype=xp.int32), xp.full(n0, -1, dtype=self.edge_type),
                                 xp.zeros(n0, dtype=xp.uint8), xp.zeros(n0 // SW_BLOCK + 1, dtype=xp.int64), u8,
                                 z.astype(xp.int32), u8, z.astype(self.edge_type)))
        self.level_starts.append(0)
        self.visited.add(xp.sort(hashes))
        res.count = n0
        costs = xp.zeros((n0, T if self.switches else 0), dtype=xp.uint8)
        self._check_invariants(frontier, costs, 0, 0)
        depth = 0
        last_report = time.perf_counter() - PROGRESS_SECONDS   # the first report comes with the first block
        while len(frontier):
            if self.until is not None and self._all_found(*self.until):
                break
            if depth >= limits.max_depth:
                res.limit = f"--max-depth {limits.max_depth}"
                break
            level_start = res.count
            nxt = _NextLevel(self, level_start)
            stop = ""
            for a in range(0, len(frontier), self.block_rows):
                stop = self._limit_hit(started, nxt.size)
                if stop:
                    break
                self._expand(frontier[a:a + self.block_rows], hashes[a:a + self.block_rows],
                             costs[a:a + self.block_rows], self.level_starts[-1] + a, depth, nxt)
                now = time.perf_counter()
                if self.progress is not None and now - last_report >= PROGRESS_SECONDS:
                    last_report = now
                    self.progress(SearchProgress(res.count + nxt.size, len(frontier), depth, now - started,
                                                 resident_bytes()))
            if stop:
                res.limit = stop
            if nxt.size:
                res.max_depth = depth + 1
            frontier, hashes, costs = nxt.finish(depth + 1)
            res.count += len(frontier)
            if stop:
                break
            depth += 1

    def _limit_hit(self, started: float, building: int) -> str:
        limits = self.limits
        if limits.timeout is not None and time.perf_counter() - started > limits.timeout:
            return f"--timeout {limits.timeout:g}"
        if limits.max_memory is not None and resident_bytes() > limits.max_memory:
            return f"--max-memory {limits.max_memory // (1 << 20)}M"
        if limits.max_states is not None and self.result.count + building >= limits.max_states:
            return f"--max-states {limits.max_states}"
        return ""

    def _check_invariants(self, rows: Array, costs: Array, first_id: int, depth: int) -> None:
        """The invariants in every state of a finished level (`costs`: its switch counts)."""
        if not self.invariants or not len(rows):
            return
        # a block at a time: the columns and temporaries of one block stay in the cache
        bad_rows: list[list[Array]] = [[] for _ in self.invariants]
        for a in range(0, len(rows), INVARIANT_ROWS):
            view = Rows(rows[a:a + INVARIANT_ROWS])
            for found, (_, cond) in zip(bad_rows, self.invariants):
                found.append(a + xp.nonzero(~cond.mask(view))[0])
        for found, (name, _) in zip(bad_rows, self.invariants):
            bad = _cat(found)
            if len(bad):
                def make(k: int, bad=bad) -> list[Candidate]:
                    out = []
                    for i in bad[:k].tolist():
                        row = costs[i]
                        best = int(row.min()) if len(row) else 0
                        out.append(Candidate(first_id + i, -1, None, None, best,
                                             int(xp.argmax(row == best)) if len(row) else 0))
                    return out
                self.note(name, depth, make, len(bad))

    def _locate(self, state: int) -> tuple[int, int]:
        level = bisect_right(self.level_starts, state) - 1
        return level, state - self.level_starts[level]

    def _expand(self, block: Array, hashes: Array, costs: Array, first_id: int, depth: int,
                nxt: "_NextLevel") -> None:
        system, res = self.system, self.result
        T = self.nthreads
        failures = system.new_failures()
        locks = system.new_locks()
        moved = xp.zeros(len(block), dtype=bool)
        batches = [b for b in system.expand(block, hashes, failures, locks, moved) if b.count]
        if self.switches:
            best = costs.min(axis=1).astype(xp.int64)
            arg = xp.argmax(costs == best[:, None].astype(costs.dtype), axis=1)
        else:   # no switch counts kept: every candidate weighs 0, the first found is traced
            best = arg = xp.zeros(len(block), dtype=xp.int64)
        if batches:
            endings = Endings(batches, self.system)
            if self.reduction is not None:
                endings = self._reduce(block, endings, depth)
            res.transitions += len(endings.parent)
            room = None if self.limits.max_states is None else self.limits.max_states - res.count - nxt.size
            nxt.add(endings, first_id, costs, best, arg, room)

        # failed checks, in the same order
        if failures.parent:
            parent = xp.concatenate(failures.parent)
            root = xp.concatenate(failures.root)
            forder = xp.concatenate(failures.order)
            check = xp.concatenate(failures.check)
            o = xp.lexsort((forder, parent * self.parent_stride + system.step_rank[root]))
            parent, root, check = parent[o], root[o], check[o]
            ft = self.edge_thread[root]
            pnums = self.check_prop_number[check]
            for pnum in xp.unique(pnums).tolist():
                prop = system.check_props[pnum]
                sel = xp.nonzero(pnums == pnum)[0]

                def make(k: int, sel=sel) -> list[Candidate]:
                    out = []
                    for i in sel[:k].tolist():
                        p, e, c, t = int(parent[i]), int(root[i]), int(check[i]), int(ft[i])
                        key = system.check_keys[c]
                        sw, before = _step_cost(costs[p], t) if self.switches else (0, t)
                        if key[0] == e:
                            out.append(Candidate(first_id + p, e, key, None, sw, before))
                        else:
                            out.append(Candidate(first_id + p, e, None, key, sw, before))
                    return out
                self.note(prop, depth + 1, make, len(sel))

        # deadlock: some thread unfinished and no step possible
        if T:
            pcs = block[:, self.pc_slots].astype(xp.int64)
            stuck = xp.nonzero(~moved & (pcs != self.ends[None, :]).any(axis=1))[0]
            if len(stuck):
                def make_stuck(k: int) -> list[Candidate]:
                    return [Candidate(first_id + int(i), -1, None, None, int(best[i]), int(arg[i]))
                            for i in stuck[:k]]
                self.note("deadlock", depth, make_stuck, len(stuck))

        # lock order: the first step that takes each pair of locks in that order
        if locks.parent:
            lp = xp.concatenate(locks.parent)
            lr = system.step_rank[xp.concatenate(locks.root)]
            lo = xp.concatenate(locks.order)
            le = xp.concatenate(locks.edge)
            lh = xp.concatenate(locks.held)
            lt = xp.concatenate(locks.taken)
            lth = self.edge_thread[le]
            o = xp.lexsort((lo, lp * self.parent_stride + lr))
            for i in o.tolist():
                key = (int(lh[i]), int(lt[i]))
                if key not in res.lock_edges:
                    res.lock_edges[key] = (first_id + int(lp[i]), int(le[i]), int(lth[i]))

    def _reduce(self, block: Array, endings: "Endings", depth: int) -> "Endings":
        """Keep, for each state with an ample set (reduce.py), only its thread's steps."""
        assert self.reduction is not None
        thread = self.edge_thread[endings.root]
        uniq, _, inverse = endings.distinct(inverse=True)
        assert inverse is not None
        endings.seen = self.visited.contains(uniq)
        new = ~endings.seen[inverse]
        chosen = self.reduction.choose(block, endings.parent, thread, new)
        cut = chosen >= 0
        if not cut.any():
            return endings
        self.reduced_states += int(cut.sum())
        if self.first_cut is None:
            self.first_cut = depth
        mine = chosen[endings.parent]
        return endings.take((mine < 0) | (mine == thread))

    def _all_found(self, props: set[str], pairs: set[tuple[int, int]]) -> bool:
        """Before a level is expanded: has every one been found, each at its smallest depth
        with every candidate there (the levels that note them are done)?"""
        seen = set(self.found_at) | set(self.result.violations)
        return props <= seen and pairs <= set(self.result.lock_edges)

    def _shortest_yet(self, prop: str, depth: int) -> bool:
        """Is a violation at this depth surely at the smallest depth (so on_violation can be
        told now)? Yes while the levels it needs were not cut by the reduction; otherwise the
        search without reduction that follows tells it (check_frontier)."""
        need = depth + 1 if prop == "deadlock" else depth
        return self.first_cut is None or need <= self.first_cut

    def violation_depth(self) -> int:
        """The --max-depth a search without reduction needs to find every violation this
        one found at a depth (each at its smallest depth or before)."""
        return max((depth + 1 if prop == "deadlock" else depth for prop, (depth, _) in self.found_at.items()),
                   default=0)   # a deadlock shows when its level is expanded

    def finding_depth(self) -> int:
        """The --max-depth a search without reduction needs to find every violation and
        lock-order pair this one found (each at its smallest depth or before)."""
        need = 0
        for prop, (depth, _) in self.found_at.items():
            need = max(need, depth + 1 if prop == "deadlock" else depth)   # a deadlock shows when its level is expanded
        for sid, _, _ in self.result.lock_edges.values():
            need = max(need, self._locate(sid)[0] + 1)
        return need

    # ---- paths ----
    def best_path(self, candidates: list[Candidate]) -> Path:
        """Among violations at the same (smallest) depth, the one whose path switches threads
        least; ties go to the one found first."""
        c = min(enumerate(candidates), key=lambda oc: (oc[1].switches, oc[0]))[1]
        last = (c.edge, c.key) if c.edge >= 0 else None
        if not self.switches:
            return replace(self.path_to(c.state, last), chain_fail=c.chain_key)
        edges, ids = self.walk(c.state, c.thread)
        return Path(self.roots[ids[0]], tuple(edges), last, c.chain_key, (), tuple(self.hash_of(i) for i in ids))

    def walk(self, state: int, t: int) -> tuple[list[int], list[int]]:
        edges: list[int] = []
        ids = [state]
        while True:
            level, local = self._locate(state)
            if level == 0:
                break
            lv = self.levels[level]
            k = lv.entry(local, t)
            edges.append(int(lv.sw_via[k]))
            state, t = int(lv.sw_parent[k]), int(lv.sw_last[k])
            ids.append(state)
        edges.reverse()
        ids.reverse()
        return edges, ids

    def hash_of(self, state: int) -> int:
        level, local = self._locate(state)
        return int(self.levels[level].hashes[local])

    def path_to(self, sid: int, last: tuple[int, tuple[int, int] | None] | None = None) -> Path:
        """The path by first discovery from an initial state to state sid (then `last`)."""
        edges: list[int] = []
        ids = [sid]
        i = sid
        while True:
            level, local = self._locate(i)
            p = int(self.levels[level].parent[local])
            if p < 0:
                break
            edges.append(int(self.levels[level].via[local]))
            i = p
            ids.append(i)
        edges.reverse()
        ids.reverse()
        return Path(self.roots[i], tuple(edges), last, None, (), tuple(self.hash_of(k) for k in ids))


class Endings:
    """The resting states of one block's steps, put in the scalar engine's order (parent,
    thread, edge, the branches of a chain): fingerprints and origins in that order, the rows
    fetched by position when they are new."""

    def __init__(self, batches: list[Batch], system: Transitions):
        parent = xp.concatenate([b.parent for b in batches])
        root = xp.concatenate([b.root for b in batches])
        order = xp.concatenate([b.order for b in batches])
        key = parent * ((len(system.threads) + 1) * system.base) + system.step_rank[root]
        self.position = xp.lexsort((order, key)) if order.any() else stable_order(key)
        self.parent = parent[self.position]
        self.root = root[self.position]
        self.keys = xp.concatenate([b.hash for b in batches])[self.position]
        self.batches = batches
        self.offsets = xp.cumsum([0] + [b.count for b in batches])
        self._distinct: tuple[Array, Array, Array | None] | None = None
        self.seen: Array | None = None   # per distinct key: in an earlier level (once the reduction asked)

    def distinct(self, inverse: bool) -> tuple[Array, Array, Array | None]:
        """arrays.distinct of the keys: sorted distinct keys, first position of each, and
        (when asked for, or known anyway) every ending's number among them."""
        if self._distinct is None or (inverse and self._distinct[2] is None):
            self._distinct = distinct(self.keys, inverse)
        return self._distinct

    def take(self, keep: Array) -> "Endings":
        """The endings where `keep` (a mask in this order) holds, in the same order."""
        out = object.__new__(Endings)
        out.position, out.parent, out.root = self.position[keep], self.parent[keep], self.root[keep]
        out.keys, out.batches, out.offsets = self.keys[keep], self.batches, self.offsets
        out._distinct, out.seen = None, None
        numbers = None if self._distinct is None else self._distinct[2]
        if self._distinct is not None and numbers is not None:
            # the kept endings' distinct keys, from these (no sort)
            uniq = self._distinct[0]
            kept = numbers[keep]
            present = xp.zeros(len(uniq), dtype=bool)
            present[kept] = True
            first = xp.full(len(uniq), len(kept), dtype=xp.int64)
            xp.minimum.at(first, kept, xp.arange(len(kept)))
            out._distinct = (uniq[present], first[present], (xp.cumsum(present) - 1)[kept])
            if self.seen is not None:
                out.seen = self.seen[present]
        return out

    def rows(self, idx: Array) -> Array:
        """The rows at these positions (of the order)."""
        out = xp.empty((len(idx), self.batches[0].matrix.shape[1]), dtype=self.batches[0].matrix.dtype)
        self.rows_into(idx, out)
        return out

    def rows_into(self, idx: Array, out: Array) -> None:
        """The rows at these positions (of the order), written into `out`."""
        where = self.position[idx]
        if len(self.batches) == 1:
            out[:] = take_rows(self.batches[0].matrix, where)
            return
        batch = xp.searchsorted(self.offsets, where, side="right") - 1
        to = records(out)
        for b, sel in groups_of(batch):
            to[sel] = records(take_rows(self.batches[b].matrix, where[sel] - self.offsets[b]))


def _step_cost(costs: Array, t: int) -> tuple[int, int]:
    """Switches after one more step of thread t from a state with these costs, and the
    thread before it."""
    best = int(costs.min())
    if int(costs[t]) <= best + 1:
        return int(costs[t]), t
    return best + 1, int(xp.argmax(costs == best))


class _NextLevel:
    """The level being discovered: its new states (rows), their fingerprints in order of
    discovery, and the fewest-switch bookkeeping, updated a block at a time."""

    def __init__(self, search: FrontierSearch, start: int):
        self.search = search
        self.start = start
        T = search.nthreads if search.switches else 0
        self.T = T
        self.rows = Growable(search.dtype, search.width)
        self.hashes = Growable(HASH)
        self.parent = Growable(xp.int32)
        self.via = Growable(xp.int32)
        self.sorted_hashes = xp.zeros(0, dtype=HASH)   # this level's, sorted, with their local ids
        self.sorted_ids = xp.zeros(0, dtype=xp.int64)
        self.cost = Growable(xp.uint8, T) if T else None
        self.sw_parent = Growable(xp.int32, T) if T else None
        self.sw_last = Growable(xp.uint8, T) if T else None
        self.sw_via = Growable(xp.int32, T) if T else None
        self.first = Growable(xp.int32, T) if T else None     # scratch for _switches, NOT_YET between blocks

    @property
    def size(self) -> int:
        return self.hashes.size

    def add(self, endings: "Endings", first_id: int, costs: Array, best: Array, arg: Array,
            room: int | None = None) -> None:
        """The resting states of one block's steps, in order: the new ones get ids, and every
        step into this level is weighed for the fewest-switch paths."""
        search = self.search
        uniq, first, inverse = endings.distinct(inverse=self.cost is not None)
        old = search.visited.contains(uniq) if endings.seen is None else endings.seen.copy()
        local = xp.full(len(uniq), -1, dtype=xp.int64)
        if len(self.sorted_hashes):      # this level's states found by earlier blocks
            pos = xp.searchsorted(self.sorted_hashes, uniq)
            pos[pos == len(self.sorted_hashes)] = 0
            hit = self.sorted_hashes[pos] == uniq
            local[hit] = self.sorted_ids[pos[hit]]
            old |= hit
        fresh = xp.nonzero(~old)[0]                       # sorted by fingerprint
        by_discovery = fresh[xp.argsort(first[fresh], kind="stable")]
        if room is not None and len(by_discovery) > room:   # --max-states: the first ones found
            by_discovery = by_discovery[:max(room, 0)]
            fresh = xp.sort(by_discovery)
        ids = self.size + xp.arange(len(by_discovery))
        local[by_discovery] = ids
        src = first[by_discovery]
        endings.rows_into(src, self.rows.append(len(src)))
        self.hashes.extend(uniq[by_discovery])
        self.parent.extend((first_id + endings.parent[src]).astype(xp.int32))
        self.via.extend(endings.root[src].astype(xp.int32))
        at = xp.searchsorted(self.sorted_hashes, uniq[fresh])
        self.sorted_hashes = xp.insert(self.sorted_hashes, at, uniq[fresh])
        self.sorted_ids = xp.insert(self.sorted_ids, at, local[fresh])
        if self.cost is not None:
            # all set with cost, when there are threads (T > 0)
            assert self.sw_parent is not None and self.sw_last is not None
            assert self.sw_via is not None and self.first is not None
            n = len(by_discovery)
            self.cost.grow(n, UNREACHED)
            self.sw_parent.grow(n, -1)
            self.sw_last.grow(n, 0)
            self.sw_via.grow(n, -1)
            self.first.grow(n, NOT_YET)
            assert inverse is not None
            self._switches(endings, local[inverse], first_id, costs, best, arg)

    def _switches(self, endings: "Endings", target: Array, first_id: int, costs: Array,
                  best: Array, arg: Array) -> None:
        """Switches.reach for every step into this level, in order: the first step with the
        fewest switches into (state, thread) is the one a trace follows."""
        assert self.cost is not None and self.sw_parent is not None and self.sw_last is not None  # T > 0
        assert self.sw_via is not None and self.first is not None
        into = xp.nonzero(target >= 0)[0]
        if len(into) == 0:
            return
        p = endings.parent[into]
        e = endings.root[into]
        t = self.search.edge_thread[e]
        ct = costs[p, t].astype(xp.int64)
        b = best[p]
        stay = ct <= b + 1
        c = xp.minimum(xp.where(stay, ct, b + 1), 254).astype(xp.uint8)
        key = target[into] * self.T + t
        flat = self.cost.data.reshape(-1)
        before_cost = flat[key]
        xp.minimum.at(flat, key, c)
        win = xp.nonzero((c == flat[key]) & (c < before_cost))[0]
        if len(win) == 0:
            return
        # the first winning step into each (state, thread): the least position per key
        wk = key[win]
        first = self.first.data.reshape(-1)
        xp.minimum.at(first, wk, win)
        win = win[first[wk] == win]
        first[wk] = NOT_YET
        k = key[win]
        self.sw_parent.data.reshape(-1)[k] = (first_id + p[win]).astype(xp.int32)
        self.sw_last.data.reshape(-1)[k] = xp.where(stay[win], t[win], arg[p[win]]).astype(xp.uint8)
        self.sw_via.data.reshape(-1)[k] = e[win].astype(xp.int32)

    def finish(self, depth: int) -> tuple[Array, Array, Array]:
        """Store the level (fingerprints, parents, the switch paths, sparse) and return its
        states, fingerprints and costs, the next frontier."""
        search = self.search
        n, T = self.size, self.T
        if n == 0:
            return self.rows.view(), self.hashes.view(), xp.zeros((0, T), dtype=xp.uint8)
        edge_type = search.edge_type
        if T:
            assert self.cost is not None and self.sw_parent is not None
            assert self.sw_last is not None and self.sw_via is not None
            cost = self.cost.view()
            reached2 = cost != UNREACHED
            count = reached2.sum(axis=1).astype(xp.uint8)
            reached = reached2.reshape(-1)
            sw_thread = (xp.nonzero(reached)[0] % T).astype(xp.uint8)
            sw_parent = self.sw_parent.view().reshape(-1)[reached]
            sw_last = self.sw_last.view().reshape(-1)[reached]
            sw_via = self.sw_via.view().reshape(-1)[reached].astype(edge_type)
        else:
            cost = xp.zeros((n, 0), dtype=xp.uint8)
            count = xp.zeros(0, dtype=xp.uint8)   # no fewest-switch entries kept
            sw_thread = xp.zeros(0, dtype=xp.uint8)
            sw_parent, sw_last, sw_via = xp.zeros(0, xp.int32), sw_thread, xp.zeros(0, edge_type)
        block = xp.concatenate([[0], xp.cumsum(count, dtype=xp.int64)])[::SW_BLOCK].copy()
        level = Level(self.start, self.hashes.view().copy(), self.parent.view().copy(),
                      self.via.view().astype(edge_type), count, block, sw_thread, sw_parent, sw_last.copy(), sw_via)
        search.levels.append(level)
        search.level_starts.append(self.start)
        search.visited.add(self.sorted_hashes)
        rows = self.rows.trimmed()
        search._check_invariants(rows, cost, self.start, depth)
        return rows, level.hashes, cost.copy()
