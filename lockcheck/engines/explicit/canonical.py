"""States up to thread symmetry (lockcheck/symmetry.py): the fingerprint of a state is that of
one member of its class, the one whose interchangeable instances stand in a fixed order.

Each instance gets a signature: the values of the slots that move with it, and for every lock
whether it holds it. Sorting the instances by signature and renaming them into that order
gives the same state for every member of a class (two instances with equal signatures are
alike in everything, so their order does not matter), so states equal up to the renaming have
equal fingerprints. The rows themselves stay as they were reached: a stored state is a real
state, and its parents and edges a real path."""
from __future__ import annotations

from ...symmetry import ThreadSymmetry
from .arrays import HASH, Array, Fingerprints, xp


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
        n, k = len(rows), self.k
        every = xp.arange(n)[:, None]
        values = rows[:, self.blocks].astype(xp.int64)                 # (n, K, w)
        # aligned slots have the same values: instance 0's words stand for every instance's
        sig = xp.bitwise_xor.reduce(self.fp.word(self.blocks[0][None, None, :], values), axis=2)
        owners = rows[:, self.locks].astype(xp.int64)                  # (n, L)
        if len(self.locks):
            held = owners[:, None, :] == self.owner[None, :, None]     # (n, K, L): instance k holds lock l
            sig = sig ^ xp.bitwise_xor.reduce(xp.where(held, self.lock_words[None, None, :], HASH(0)), axis=2)
        order = xp.argsort(sig, axis=1, kind="stable")                 # order[:, j]: the instance put at place j
        out = rows.copy()
        out[xp.arange(n)[:, None, None], self.blocks[None, :, :]] = values[every, order].astype(rows.dtype)
        if len(self.locks):
            place = xp.empty_like(order)
            place[every, order] = xp.arange(k)[None, :]                # place[:, i]: where instance i goes
            renamed = owners.copy()
            for i in range(k):
                mine = owners == self.owner[i]
                renamed[mine] = self.owner[xp.broadcast_to(place[:, i:i + 1], owners.shape)[mine]]
            out[:, self.locks] = renamed.astype(rows.dtype)
        return out


class Canonical:
    """Fingerprints of states up to the model's thread symmetries."""

    def __init__(self, symmetries: list[ThreadSymmetry], fingerprints: Fingerprints):
        self.groups = [_Group(s, fingerprints) for s in symmetries]
        self.fp = fingerprints

    def rows(self, rows: Array) -> Array:
        for g in self.groups:
            rows = g.canonical(rows)
        return rows

    def keys(self, rows: Array) -> Array:
        if len(rows) == 0:
            return xp.zeros(0, dtype=HASH)
        return self.fp.rows(self.rows(rows))
