"""The abstract syntax of .lk files: plain dataclasses, each with its source span."""
from __future__ import annotations

from dataclasses import dataclass, field

from .source import Span


# ---- expressions ---------------------------------------------------------------------

@dataclass(frozen=True)
class Expr:
    span: Span


@dataclass(frozen=True)
class Number(Expr):
    value: int


@dataclass(frozen=True)
class BoolLit(Expr):
    value: bool


@dataclass(frozen=True)
class Name(Expr):
    name: str


@dataclass(frozen=True)
class SelfRef(Expr):
    pass


@dataclass(frozen=True)
class ResultRef(Expr):
    pass


@dataclass(frozen=True)
class Field(Expr):
    base: Expr
    name: str


@dataclass(frozen=True)
class Index(Expr):
    base: Expr
    index: Expr


@dataclass(frozen=True)
class Unary(Expr):
    op: str
    arg: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Cond(Expr):
    test: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True)
class Range(Expr):
    low: Expr
    high: Expr


@dataclass(frozen=True)
class Quantifier(Expr):
    kind: str  # "forall" | "exists"
    var: str
    domain: Expr  # an array expression or a Range
    body: Expr


@dataclass(frozen=True)
class LockQuery(Expr):
    kind: str  # "held" | "locked"
    lock: Expr


@dataclass(frozen=True)
class HeldBy(Expr):
    """held_by(l, thread) or held_by(l, thread[k]): that thread holds l (in invariants)."""

    lock: Expr
    thread: str
    index: Expr | None


@dataclass(frozen=True)
class IndexOf(Expr):
    """index_of(p): the index of the object p names in its array."""

    arg: Expr


# ---- right-hand sides that are not expressions ----------------------------------------

@dataclass(frozen=True)
class Call:
    span: Span
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class TryAcquire:
    span: Span
    lock: Expr


Rhs = Expr | Call | TryAcquire


# ---- types ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TypeRef:
    span: Span


@dataclass(frozen=True)
class BoolTypeRef(TypeRef):
    pass


@dataclass(frozen=True)
class IntTypeRef(TypeRef):
    low: Expr
    high: Expr


@dataclass(frozen=True)
class LockTypeRef(TypeRef):
    kind: str  # "lock" | "spinlock" | "rwlock"


@dataclass(frozen=True)
class NamedTypeRef(TypeRef):
    name: str


@dataclass(frozen=True)
class WaitqueueTypeRef(TypeRef):
    pass


@dataclass(frozen=True)
class RefcountTypeRef(TypeRef):
    high: Expr  # counts 0..high; an access to the struct's other fields at 0 is a use after free


# ---- statements -----------------------------------------------------------------------

@dataclass(frozen=True)
class Stmt:
    span: Span
    text: str  # the statement as written, one line, for traces


@dataclass(frozen=True)
class Block(Stmt):
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class LocalDecl(Stmt):
    type: TypeRef
    name: str
    init: Rhs | None


@dataclass(frozen=True)
class Assign(Stmt):
    target: Expr
    value: Rhs


@dataclass(frozen=True)
class CallStmt(Stmt):
    call: Call


@dataclass(frozen=True)
class LockStmt(Stmt):
    op: str  # acquire | release | acquire_read | release_read
    lock: Expr


@dataclass(frozen=True)
class Await(Stmt):
    cond: Expr


@dataclass(frozen=True)
class Assert(Stmt):
    label: str | None
    cond: Expr
    message: str | None


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: Block
    other: Stmt | None  # Block or If


@dataclass(frozen=True)
class For(Stmt):
    var: str
    domain: Expr  # array expression or Range
    body: Block


@dataclass(frozen=True)
class While(Stmt):
    cond: Expr
    body: Block


@dataclass(frozen=True)
class Choose(Stmt):
    branches: tuple[Block, ...]


@dataclass(frozen=True)
class ChooseIn(Stmt):
    """`choose p in pages { ... }`: the body runs with p naming any one element."""

    var: str
    domain: Expr
    body: Block


@dataclass(frozen=True)
class Atomic(Stmt):
    body: Block


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None


@dataclass(frozen=True)
class Break(Stmt):
    pass


@dataclass(frozen=True)
class Continue(Stmt):
    pass


@dataclass(frozen=True)
class Skip(Stmt):
    pass


@dataclass(frozen=True)
class BugOn(Stmt):
    cond: Expr
    message: str | None


@dataclass(frozen=True)
class When(Stmt):
    """A guard: the first statement of a choose branch (the branch is chosen only when it holds)."""

    cond: Expr


@dataclass(frozen=True)
class EndLabel(Stmt):
    """`end: stmt`: a thread resting before stmt is at an end state (no deadlock)."""

    body: Stmt


# ---- declarations ---------------------------------------------------------------------

@dataclass(frozen=True)
class Decl:
    span: Span


@dataclass(frozen=True)
class Import(Decl):
    path: str


@dataclass(frozen=True)
class ConstDecl(Decl):
    name: str
    value: Expr


@dataclass(frozen=True)
class EnumDecl(Decl):
    name: str
    members: tuple[tuple[str, Span], ...]


@dataclass(frozen=True)
class VarSpec:
    """A struct field or a global variable: `type name[size] = init;`."""

    span: Span
    type: TypeRef
    name: str
    size: Expr | None
    init: Expr | tuple[Expr, ...] | None


@dataclass(frozen=True)
class StructDecl(Decl):
    name: str
    fields: tuple[VarSpec, ...]


@dataclass(frozen=True)
class ExtendDecl(Decl):
    """`extend struct NAME { fields }`: fields added to a struct declared elsewhere."""

    name: str
    fields: tuple[VarSpec, ...]


@dataclass(frozen=True)
class GlobalDecl(Decl):
    var: VarSpec


@dataclass(frozen=True)
class Param:
    span: Span
    type: TypeRef
    name: str


@dataclass(frozen=True)
class Contract:
    kind: str  # "requires" | "ensures"
    cond: Expr


@dataclass(frozen=True)
class ProcDecl(Decl):
    name: str
    params: tuple[Param, ...]
    result: TypeRef | None
    contracts: tuple[Contract, ...]
    body: Block
    is_default: bool = False   # `default proc`: another file's proc of this name replaces it


@dataclass(frozen=True)
class ThreadDecl(Decl):
    name: str
    count: Expr | None
    body: Block


@dataclass(frozen=True)
class InitDecl(Decl):
    body: Block


@dataclass(frozen=True)
class InvariantDecl(Decl):
    name: str
    cond: Expr
    lemma: bool = False


@dataclass(frozen=True)
class ExpectDecl(Decl):
    verdict: str  # "holds" | "violation"
    prop: str
    prop_span: Span
    when: Expr | None = None  # a constant condition: the line applies only where it holds


@dataclass(frozen=True)
class UnreachedTarget:
    """A proc's name (its own statements), or a "file.lk:LINE" string (the statements there)."""

    text: str
    is_line: bool
    span: Span


@dataclass(frozen=True)
class UnreachedDecl(Decl):
    """expect unreached TARGET, ... [in THREAD] because "REASON";"""

    targets: tuple[UnreachedTarget, ...]
    thread: str | None   # only in this thread (a thread array by its name), else in every thread
    reason: str


@dataclass
class Module:
    path: str
    decls: list[Decl] = field(default_factory=list)
