"""The array operations the frontier engine is written in, in one place: numpy today; a
GPU array library with the same interface (CuPy) could stand in for `xp` later."""
from __future__ import annotations

import numpy as xp

Array = xp.ndarray

VALUE = xp.int64          # expressions are evaluated in 64-bit integers, as Python would
HASH = xp.uint64

_M1 = xp.uint64(0xBF58476D1CE4E5B9)
_M2 = xp.uint64(0x94D049BB133111EB)
_GOLDEN = xp.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31 = xp.uint64(30), xp.uint64(27), xp.uint64(31)


def take_rows(matrix: Array, idx: Array) -> Array:
    """matrix[idx] for integer row indices: numpy's take copies whole rows at once, about
    2.5x faster than fancy indexing on the engine's narrow rows."""
    return xp.take(matrix, idx, axis=0)


def records(matrix: Array) -> Array:
    """A C-ordered matrix as a vector with one element per row (a view): storing rows at
    scattered positions is faster on it than on the matrix."""
    return matrix.view(xp.dtype((xp.void, matrix.shape[1] * matrix.dtype.itemsize))).reshape(-1)


def keep_rows(matrix: Array, mask: Array) -> Array:
    """matrix[mask] for a boolean mask over the rows, likewise (compress)."""
    return xp.compress(mask, matrix, axis=0)


def cells(matrix: Array, rows: Array, cols: Array) -> Array:
    """Flat positions of matrix[rows, cols] (a C-ordered matrix): one-dimensional take and
    store at these are about twice as fast as the two-dimensional fancy index."""
    return rows * matrix.shape[1] + cols


def get_cells(matrix: Array, flat: Array) -> Array:
    return xp.ascontiguousarray(matrix).reshape(-1).take(flat)


def set_cells(matrix: Array, flat: Array, values: Array | int) -> None:
    assert matrix.flags.c_contiguous   # reshape must be a view for the store to land
    matrix.reshape(-1)[flat] = values


def row_dtype(low: int, high: int) -> xp.dtype:
    """The narrowest integer type that holds every value low..high."""
    for dtype in (xp.uint8, xp.int8, xp.uint16, xp.int16, xp.uint32, xp.int32):
        info = xp.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return xp.dtype(dtype)
    return xp.dtype(xp.int64)


def padded_width(columns: int, dtype: xp.dtype) -> int:
    """Columns rounded up so that a row is a whole number of 64-bit words (for hashing)."""
    per_word = 8 // dtype.itemsize
    return -(-columns // per_word) * per_word


def _mix(x: Array) -> Array:
    """splitmix64's finaliser, over a whole column of words."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def hash_rows(rows: Array) -> Array:
    """A 64-bit fingerprint of each row (rows are padded to whole words, padding zero)."""
    words = xp.ascontiguousarray(rows).view(HASH)
    h = xp.full(words.shape[0], _GOLDEN, dtype=HASH)
    with xp.errstate(over="ignore"):
        for c in range(words.shape[1]):
            h = _mix(h ^ words[:, c]) + _GOLDEN
    return h


class Fingerprints:
    """Simple tabulation hashing of rows: a random 64-bit word for every (column, value),
    a row's fingerprint the XOR of its columns' words. Two different rows collide with
    probability 2**-64, and a step that writes a few columns updates its parent's
    fingerprint with a few lookups instead of rehashing the row."""

    def __init__(self, ranges: list[tuple[int, int]], seed: int = 0x10C4C4EC):
        self.low = xp.asarray([lo for lo, _ in ranges], dtype=xp.int64)
        sizes = [hi - lo + 1 for lo, hi in ranges]
        self.base = xp.asarray([0] + sizes[:-1], dtype=xp.int64).cumsum() - self.low
        self.table = xp.frombuffer(xp.random.default_rng(seed).bytes(8 * sum(sizes)), dtype=HASH).copy()
        self.columns = len(ranges)

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes)

    def rows(self, matrix: Array) -> Array:
        """The fingerprint of every row, from scratch."""
        if matrix.shape[0] == 0:
            return xp.zeros(0, dtype=HASH)
        idx = matrix[:, :self.columns].astype(xp.int64) + self.base[None, :]
        return xp.bitwise_xor.reduce(self.table[idx], axis=1)

    def word(self, column: int | Array, value: Array) -> Array:
        return self.table[self.base[column] + value]


def distinct(keys: Array, inverse: bool = True) -> tuple[Array, Array, Array | None]:
    """np.unique(keys, return_index=True, return_inverse=inverse), on a quicksort (vectorised
    on most CPUs) instead of a stable sort: the first occurrence of each key is the least
    index among its equals. The inverse is a fifth of the time: None unless asked for."""
    if len(keys) == 0:
        e = xp.zeros(0, dtype=xp.int64)
        return keys[:0], e, e
    perm = xp.argsort(keys)
    ordered = keys[perm]
    starts = xp.ones(len(keys), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    at = xp.nonzero(starts)[0]
    first = xp.minimum.reduceat(perm, at)
    if not inverse:
        return ordered[at], first, None
    numbers = xp.empty(len(keys), dtype=xp.int64)
    numbers[perm] = xp.cumsum(starts) - 1
    return ordered[at], first, numbers


def first_occurrences(keys: Array) -> tuple[Array, Array]:
    """The distinct keys in order of first occurrence: (index of each first occurrence in
    `keys`, and for every key the number of its distinct key in that order)."""
    _, first, inverse = distinct(keys)
    assert inverse is not None
    order = xp.argsort(first, kind="stable")
    rank = xp.empty_like(order)
    rank[order] = xp.arange(len(order))
    return first[order], rank[inverse]


def stable_order(keys: Array) -> Array:
    """argsort(keys, kind="stable") for non-negative int64 keys, by a quicksort of the
    keys made distinct with their positions (when that fits in 63 bits)."""
    n = len(keys)
    if n == 0:
        return xp.zeros(0, dtype=xp.int64)
    top = int(keys.max())
    if top < (1 << 62) // max(n, 1):
        return xp.argsort(keys * n + xp.arange(n))
    return xp.argsort(keys, kind="stable")


def first_per_key(keys: Array) -> Array:
    """Indices of the first row of each run of equal keys in an array sorted by key."""
    if len(keys) == 0:
        return xp.zeros(0, dtype=xp.int64)
    starts = xp.ones(len(keys), dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    return xp.nonzero(starts)[0]
