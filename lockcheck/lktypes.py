"""The types of the .lk language and how much of the state vector each one takes."""
from __future__ import annotations

from dataclasses import dataclass

from .source import Span


@dataclass(frozen=True)
class BoolT:
    def __str__(self) -> str:
        return "bool"


@dataclass(frozen=True)
class IntT:
    low: int
    high: int

    def __str__(self) -> str:
        if self.low == self.high or self.high - self.low >= 2**62:
            return "int"  # a literal, or arithmetic whose range is not tracked
        return f"int[{self.low}..{self.high}]"


@dataclass(frozen=True)
class RefcountT(IntT):
    """A reference count 0..high: an access to its struct's other fields at 0 is a use after free."""

    def __str__(self) -> str:
        return f"refcount[{self.high}]"


@dataclass(frozen=True)
class WaitqueueT:
    """A wait queue: per thread, not waiting (0), waiting (1) or waiting exclusively with k
    exclusive waiters ahead (2 + k)."""

    def __str__(self) -> str:
        return "waitqueue"


@dataclass(frozen=True)
class EnumT:
    name: str
    members: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class LockT:
    kind: str  # lock | spinlock | rwlock

    def __str__(self) -> str:
        return self.kind


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: "Type"
    offset: int
    default: tuple[int, ...]  # initial values of the field's scalar slots, in layout order
    span: Span


@dataclass(frozen=True)
class StructT:
    name: str
    fields: tuple[FieldInfo, ...]

    def __str__(self) -> str:
        return self.name

    def field(self, name: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class ArrayT:
    elem: "Type"
    size: int

    def __str__(self) -> str:
        return f"{self.elem}[{self.size}]"


# The type of an integer expression whose bounds are not tracked (arithmetic results).
ANY_INT = IntT(-(2**62), 2**62)

Type = BoolT | IntT | EnumT | LockT | StructT | ArrayT | WaitqueueT
ScalarT = BoolT | IntT | EnumT


def is_scalar(t: Type) -> bool:
    return isinstance(t, (BoolT, IntT, EnumT))


def size_of(t: Type, nthreads: int) -> int:
    """Slots taken: one per scalar and plain lock; an rwlock takes a writer slot and a
    reader flag per thread; a waitqueue one slot per thread."""
    if isinstance(t, LockT):
        return 1 + nthreads if t.kind == "rwlock" else 1
    if isinstance(t, WaitqueueT):
        return nthreads
    if isinstance(t, StructT):
        return sum(size_of(f.type, nthreads) for f in t.fields)
    if isinstance(t, ArrayT):
        return t.size * size_of(t.elem, nthreads)
    return 1


def same_kind(a: Type, b: Type) -> bool:
    """Whether values of a and b may be compared or assigned (int ranges are checked at run time)."""
    if isinstance(a, IntT) and isinstance(b, IntT):
        return True
    return a == b
