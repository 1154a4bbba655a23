"""States up to thread and object symmetry (lockcheck/symmetry.py): the fingerprint of a state
is that of one member of its class, the one whose interchangeable instances (or elements)
stand in a fixed order.

Each instance gets a signature: the values of the slots that move with it, and for every lock
whether it holds it. Sorting the instances by signature and renaming them into that order
gives the same state for every member of a class (two instances with equal signatures are
alike in everything, so their order does not matter), so states equal up to the renaming have
equal fingerprints. An array's elements likewise: an element's signature is the values of its
slots and, for every reference, whether it points into the element (and where); the elements
are sorted by it and the references renamed with them. With both kinds, the threads are
sorted first, then each array: every step applies a renaming of the group, so the result is a
member of the class (sound), if not always the same member for every state of the class
(which costs only states): a thread's signature holds its references into the array, which
depend on how the elements are numbered. So where the thread groups have few orderings
(ORDERINGS_CAP, the product of their sizes' factorials), each ordering of the threads is
tried instead, the elements sorted under it, and the least fingerprint kept: the set of
those orderings is the same for every member of a class, and so is its least fingerprint,
an exact canonical form (given that the elements' sort is exact under a fixed order of the
threads: no element holds a reference into its own array, and one object array). The rows
themselves stay as they were reached: a stored state is a real state, and its parents and
edges a real path."""
from __future__ import annotations

from itertools import permutations, product
from math import factorial, prod

from ...symmetry import ObjectSymmetry, Symmetry, ThreadSymmetry
from .arrays import HASH, Array, Fingerprints, xp

ORDERINGS_CAP = 24   # thread orderings tried per state for an exact form with object symmetry


class _Group:
    def __init__(self, sym: ThreadSymmetry, fingerprints: Fingerprints):
        self.blocks = xp.asarray(sym.blocks, dtype=xp.int64)                  # (K, w) slots per instance
        self.locks = xp.asarray(sym.lock_slots, dtype=xp.int64)
        self.owner = xp.asarray([t + 1 for t in sym.threads], dtype=xp.int64)  # what a lock of instance k holds
        self.fp = fingerprints
        self.k = len(sym.threads)
        self.lock_words = xp.frombuffer(xp.random.default_rng(0x5E7).bytes(8 * len(sym.lock_slots)), dtype=HASH)

    def canonical(self, rows: Array) -> Array:
        """rows with this group's instances sorted by signature (a copy)."""
        values = rows[:, self.blocks].astype(xp.int64)                 # (n, K, w)
        # aligned slots have the same values: instance 0's words stand for every instance's
        sig = xp.bitwise_xor.reduce(self.fp.word(self.blocks[0][None, None, :], values), axis=2)
        owners = rows[:, self.locks].astype(xp.int64)                  # (n, L)
        if len(self.locks):
            held = owners[:, None, :] == self.owner[None, :, None]     # (n, K, L): instance k holds lock l
            sig = sig ^ xp.bitwise_xor.reduce(xp.where(held, self.lock_words[None, None, :], HASH(0)), axis=2)
        return self.arranged(rows, xp.argsort(sig, axis=1, kind="stable"))

    def arranged(self, rows: Array, order: Array) -> Array:
        """rows with instance order[r, j] put at place j of row r, lock holders renamed (a copy);
        `order` may be one ordering (K,) for every row."""
        n, k = len(rows), self.k
        every = xp.arange(n)[:, None]
        order = xp.broadcast_to(xp.asarray(order, dtype=xp.int64), (n, k))
        values = rows[:, self.blocks].astype(xp.int64)                 # (n, K, w)
        out = rows.copy()
        out[every[:, :, None], self.blocks[None, :, :]] = values[every, order].astype(rows.dtype)
        if len(self.locks):
            owners = rows[:, self.locks].astype(xp.int64)              # (n, L)
            place = xp.empty_like(order)
            place[every, order] = xp.arange(k)[None, :]                # place[:, i]: where instance i goes
            renamed = owners.copy()
            for i in range(k):
                mine = owners == self.owner[i]
                renamed[mine] = self.owner[xp.broadcast_to(place[:, i:i + 1], owners.shape)[mine]]
            out[:, self.locks] = renamed.astype(rows.dtype)
        return out


class _Objects:
    def __init__(self, sym: ObjectSymmetry, fingerprints: Fingerprints):
        self.base, self.k, self.stride = sym.base, sym.count, sym.stride
        self.blocks = xp.asarray([list(range(sym.base + k * sym.stride, sym.base + (k + 1) * sym.stride))
                                  for k in range(sym.count)], dtype=xp.int64)    # (K, w)
        self.refs = list(sym.refs)
        self.fp = fingerprints
        # a word for (reference j, offset into the element it points to)
        words = xp.random.default_rng(0x0B7).bytes(8 * max(1, len(self.refs) * sym.stride))
        self.ref_words = xp.frombuffer(words, dtype=HASH).reshape(-1, sym.stride)

    def canonical(self, rows: Array) -> Array:
        """rows with this array's elements sorted by signature, references renamed (a copy)."""
        n, k = len(rows), self.k
        every = xp.arange(n)[:, None]
        values = rows[:, self.blocks].astype(xp.int64)                 # (n, K, w)
        sig = xp.bitwise_xor.reduce(self.fp.word(self.blocks[0][None, None, :], values), axis=2)
        pointed = []
        for j, r in enumerate(self.refs):
            v = rows[:, r].astype(xp.int64)
            inside = (v >= self.base) & (v < self.base + k * self.stride)
            elem, off = xp.divmod(xp.where(inside, v - self.base, 0), self.stride)
            hit = xp.nonzero(inside)[0]
            sig[hit, elem[hit]] ^= self.ref_words[j, off[hit]]
            pointed.append((r, hit, elem[hit], off[hit]))
        order = xp.argsort(sig, axis=1, kind="stable")                 # order[:, j]: the element put at place j
        out = rows.copy()
        out[every[:, :, None], self.blocks[None, :, :]] = values[every, order].astype(rows.dtype)
        if self.refs:
            place = xp.empty_like(order)
            place[every, order] = xp.arange(k)[None, :]                # place[:, i]: where element i goes
            for r, hit, elem, off in pointed:
                out[hit, r] = (self.base + place[hit, elem] * self.stride + off).astype(rows.dtype)
        return out


class Canonical:
    """Fingerprints of states up to the model's thread and object symmetries."""

    def __init__(self, symmetries: list[Symmetry], fingerprints: Fingerprints):
        threads = [_Group(s, fingerprints) for s in symmetries if isinstance(s, ThreadSymmetry)]
        objects = [_Objects(s, fingerprints) for s in symmetries if isinstance(s, ObjectSymmetry)]
        self.groups: list[_Group | _Objects] = [*threads, *objects]
        self.threads, self.objects = threads, objects
        self.fp = fingerprints
        # every ordering of every thread group, where there are object symmetries to sort under
        # each and few enough orderings (else the threads are sorted once, as without objects)
        self.orderings: list[tuple[tuple[int, ...], ...]] = []
        if threads and objects and prod(factorial(g.k) for g in threads) <= ORDERINGS_CAP:
            self.orderings = list(product(*(permutations(range(g.k)) for g in threads)))

    def rows(self, rows: Array) -> Array:
        for g in self.groups:
            rows = g.canonical(rows)
        return rows

    def keys(self, rows: Array) -> Array:
        if len(rows) == 0:
            return xp.zeros(0, dtype=HASH)
        if not self.orderings:
            return self.fp.rows(self.rows(rows))
        least: Array | None = None
        for ordering in self.orderings:
            arranged = rows
            for g, order in zip(self.threads, ordering):
                arranged = g.arranged(arranged, xp.asarray(order))
            for o in self.objects:
                arranged = o.canonical(arranged)
            keys = self.fp.rows(arranged)
            least = keys if least is None else xp.minimum(least, keys)
        assert least is not None
        return least
