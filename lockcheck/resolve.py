"""Files and names: loads a spec with its imports, evaluates consts, resolves types and
lays the globals out in the state vector."""
from __future__ import annotations

import stat
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

from . import syntax as s
from .errors import Note, Sources, SpecError, did_you_mean
from .ir import Slot
from .parser import KEYWORDS, parse
from .source import SourceFile, Span, printable
from .lktypes import ArrayT, BoolT, EnumT, FieldInfo, IntT, LockT, RefcountT, StructT, Type, WaitqueueT, size_of
from .limits import (MAX_ARRAY, MAX_CONST, MAX_FILE_BYTES, MAX_IMPORT_NAME, MAX_INT_VALUES, MAX_QUANTIFIED,
                     MAX_SLOTS, MAX_THREAD_ARRAY, MAX_THREADS, MAX_TOTAL_BYTES)


def models_dir() -> Path:
    """The repository's models/ (installed as package data beside the code)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "models", here.parent / "models"):
        if candidate.is_dir():
            return candidate
    return here / "models"


def read_source(path: Path, shown: str, span: Span | None = None, budget: list[int] | None = None) -> SourceFile:
    """A spec file's text. Reads at most MAX_FILE_BYTES (and what is left of the spec's
    total in `budget`), so /dev/zero or a huge file is refused without being read; a UTF-8
    byte order mark is skipped."""
    allowed = MAX_FILE_BYTES if budget is None else min(MAX_FILE_BYTES, budget[0])
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise SpecError(f"cannot read {shown}: not a regular file", span)
        with open(path, "rb") as f:
            data = f.read(allowed + 1)
    except (OSError, ValueError) as err:
        raise SpecError(f"cannot read {shown}: {_reason(err)}", span) from None
    except MemoryError:
        raise SpecError(f"cannot read {shown}: out of memory", span) from None
    if len(data) > allowed:
        if allowed < MAX_FILE_BYTES:
            raise SpecError(f"{shown}: the spec and its imports are larger than the total size limit "
                            f"({MAX_TOTAL_BYTES // 1024} KB)", span)
        raise SpecError(f"{shown}: file is larger than the file size limit ({MAX_FILE_BYTES // 1024} KB)", span)
    if budget is not None:
        budget[0] -= len(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = data[: err.start].decode("utf-8", errors="replace")
        line = prefix.count("\n") + 1
        column = len(prefix) - (prefix.rfind("\n") + 1) + 1
        raise SpecError(f"{shown} is not UTF-8 text (byte 0x{data[err.start]:02x})",
                        Span(shown, line, column)) from None
    if "\x00" in text:
        raise SpecError(f"{shown} is not a text file (it holds a NUL byte)", span)
    return SourceFile.of(shown, text)


def _reason(err: Exception) -> str:
    return err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__


@dataclass
class Loaded:
    modules: list[s.Module]
    sources: Sources


def load(path: str, include_dirs: list[str], sources: Sources) -> list[s.Module]:
    """The spec and everything it imports, imports first, each file once."""
    modules: list[s.Module] = []
    done: set[Path] = set()
    stack: list[Path] = []

    budget = [MAX_TOTAL_BYTES]

    def visit(file: Path, shown: str, span: Span | None) -> None:
        try:
            real = file.resolve()
        except (OSError, RuntimeError) as err:
            raise SpecError(f"cannot read {shown}: {_reason(err)}", span) from None
        if real in stack:
            cycle = " -> ".join(p.name for p in stack[stack.index(real):] + [real])
            raise SpecError(f"import cycle: {cycle}", span)
        if real in done:
            return
        source = read_source(file, shown, span, budget)
        sources.add(source)
        module = parse(source)
        stack.append(real)
        for decl in module.decls:
            if isinstance(decl, s.Import):
                target = _find_import(decl, file, include_dirs)
                visit(target, _shown(target), decl.span)
        stack.pop()
        done.add(real)
        modules.append(module)

    visit(Path(path), path, None)
    return modules


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _find_import(decl: s.Import, importer: Path, include_dirs: list[str]) -> Path:
    """The first file of that name beside the importing file, in the -I folders, in the
    project's models/, then in the bundled models; never the importing file itself
    (specs/myfs.lk importing "myfs.lk" means models/myfs.lk, not itself)."""
    name = decl.path
    shown = printable(name) if len(name) <= 60 else printable(name[:60]) + "..."
    if not name.endswith(".lk"):
        # and no other file is read: an import of /etc/passwd must not show its first line in an error
        raise SpecError(f"import \"{shown}\": an import names a .lk file", decl.span)
    if len(name) > MAX_IMPORT_NAME or any(len(part) > MAX_IMPORT_NAME for part in name.split("/")):
        raise SpecError(f"import \"{shown}\": the name is longer than the import name limit "
                        f"({MAX_IMPORT_NAME} characters)", decl.span)
    tried = [importer.parent] + [Path(d) for d in include_dirs] + [models_dir()]
    for folder in tried:
        candidate = folder / name
        try:
            if candidate.is_file() and not candidate.samefile(importer):
                return candidate
        except (OSError, ValueError):
            continue
    where = ", ".join(str(t) for t in tried)
    raise SpecError(f"import \"{shown}\" not found (looked in {where})", decl.span)


# ---- the global environment ---------------------------------------------------------------

@dataclass(frozen=True)
class ConstInfo:
    value: int
    type: Type
    span: Span


@dataclass(frozen=True)
class GlobalVar:
    name: str
    type: Type
    base: int
    span: Span


@dataclass
class Env:
    consts: dict[str, ConstInfo] = field(default_factory=dict)
    enums: dict[str, EnumT] = field(default_factory=dict)
    enum_members: dict[str, tuple[EnumT, int]] = field(default_factory=dict)
    structs: dict[str, StructT] = field(default_factory=dict)
    globals: dict[str, GlobalVar] = field(default_factory=dict)
    procs: dict[str, s.ProcDecl] = field(default_factory=dict)
    threads: list[tuple[s.ThreadDecl, int]] = field(default_factory=list)
    inits: list[s.InitDecl] = field(default_factory=list)
    invariants: list[s.InvariantDecl] = field(default_factory=list)
    expects: list[s.ExpectDecl] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    initial: list[int] = field(default_factory=list)
    nthreads: int = 0
    declared_at: dict[str, Span] = field(default_factory=dict)
    quantified: int = 0   # forall/exists body instances lowered so far (the quantifier size limit)

    def all_names(self) -> set[str]:
        return set(self.consts) | set(self.enum_members) | set(self.globals) | set(self.enums) \
            | set(self.structs) | set(self.procs)


def build_env(modules: list[s.Module], overrides: dict[str, str]) -> Env:
    env = Env()
    decls = [d for m in modules for d in m.decls]
    for decl in decls:
        _declare(env, decl)
    consts = [d for d in decls if isinstance(d, s.ConstDecl)]
    _eval_consts(env, consts, overrides)
    for decl in decls:
        if isinstance(decl, s.ThreadDecl):
            count = 1
            if decl.count is not None:
                count = const_int(env, decl.count, "thread count")
                if not 1 <= count <= MAX_THREAD_ARRAY:
                    raise SpecError(f"thread count must be between 1 and {MAX_THREAD_ARRAY}, not {count}",
                                    decl.count.span)
            env.threads.append((decl, count))
            if sum(c for _, c in env.threads) > MAX_THREADS:
                raise SpecError(f"more than {MAX_THREADS} threads (the thread limit)", decl.span)
    env.nthreads = sum(count for _, count in env.threads)
    # after the thread count: an rwlock or a waitqueue field takes a slot per thread
    extensions = _extensions(env, decls)
    for decl in decls:
        if isinstance(decl, s.StructDecl):
            fields = decl.fields + tuple(f for ext in extensions.get(decl.name, []) for f in ext.fields)
            env.structs[decl.name] = _struct_type(env, s.StructDecl(decl.span, decl.name, fields))
    for decl in decls:
        if isinstance(decl, s.GlobalDecl):
            _lay_out_global(env, decl.var)
    return env


def _extensions(env: Env, decls: list[s.Decl]) -> dict[str, list[s.ExtendDecl]]:
    """`extend struct NAME { ... }` blocks by the struct they extend, in file order."""
    out: dict[str, list[s.ExtendDecl]] = {}
    for decl in decls:
        if isinstance(decl, s.ExtendDecl):
            if decl.name not in env.structs:
                raise SpecError(f"extend struct {decl.name}: no struct '{decl.name}' is declared"
                                f"{did_you_mean(decl.name, set(env.structs))}", decl.span)
            out.setdefault(decl.name, []).append(decl)
    return out


def _type_shape(t: object) -> object:
    """A type reference as written, without its spans, for comparing two signatures."""
    if is_dataclass(t) and not isinstance(t, type):
        return (type(t).__name__,) + tuple(_type_shape(getattr(t, f.name)) for f in fields(t) if f.name != "span")
    if isinstance(t, tuple):
        return tuple(_type_shape(x) for x in t)
    return t


def _check_same_signature(default: s.ProcDecl, replacing: s.ProcDecl) -> None:
    def shape(p: s.ProcDecl) -> object:
        return ([(_type_shape(q.type)) for q in p.params], _type_shape(p.result))

    if shape(default) != shape(replacing):
        raise SpecError(f"'{replacing.name}' replaces a default proc of another signature", replacing.span,
                        (Note(default.span, f"the default '{default.name}' is declared here"),))


def _declare(env: Env, decl: s.Decl) -> None:
    def claim(name: str, span: Span) -> None:
        if name in KEYWORDS:
            raise SpecError(f"'{name}' is a keyword and cannot be a name", span)
        if name in env.declared_at:
            raise SpecError(f"'{name}' is declared twice", span,
                            (Note(env.declared_at[name], "first declared here"),))
        env.declared_at[name] = span

    if isinstance(decl, s.ConstDecl):
        claim(decl.name, decl.span)
    elif isinstance(decl, s.EnumDecl):
        claim(decl.name, decl.span)
        enum = EnumT(decl.name, tuple(m for m, _ in decl.members))
        env.enums[decl.name] = enum
        for i, (member, span) in enumerate(decl.members):
            claim(member, span)
            env.enum_members[member] = (enum, i)
    elif isinstance(decl, s.StructDecl):
        claim(decl.name, decl.span)
        env.structs[decl.name] = StructT(decl.name, ())  # filled in once consts are known
    elif isinstance(decl, s.GlobalDecl):
        claim(decl.var.name, decl.var.span)
    elif isinstance(decl, s.ProcDecl):
        other = env.procs.get(decl.name)
        if other is not None and other.is_default != decl.is_default:
            # a default proc (a model's hook with a default body) and the proc that replaces it
            default, replacing = (other, decl) if other.is_default else (decl, other)
            _check_same_signature(default, replacing)
            env.procs[decl.name] = replacing
            env.declared_at[decl.name] = replacing.span
            return
        claim(decl.name, decl.span)
        env.procs[decl.name] = decl
    elif isinstance(decl, s.ThreadDecl):
        claim(decl.name, decl.span)
    elif isinstance(decl, s.InvariantDecl):
        claim(decl.name, decl.span)
        env.invariants.append(decl)
    elif isinstance(decl, s.ExpectDecl):
        env.expects.append(decl)
    elif isinstance(decl, s.InitDecl):
        env.inits.append(decl)


# ---- constants ----------------------------------------------------------------------------

def _eval_consts(env: Env, consts: list[s.ConstDecl], overrides: dict[str, str]) -> None:
    by_name = {c.name: c for c in consts}
    for name in overrides:
        if name not in by_name:
            raise SpecError(f"-D {name}: the spec has no const '{name}'{did_you_mean(name, set(by_name))}")
    evaluating: list[str] = []

    def value_of(name: str) -> ConstInfo:
        if name in env.consts:
            return env.consts[name]
        decl = by_name[name]
        if name in evaluating:
            raise SpecError(f"const '{name}' is defined in terms of itself", decl.span)
        evaluating.append(name)
        value, type_ = _const_expr(env, decl.value, value_of, set(by_name))
        evaluating.pop()
        if name in overrides:
            value = _parse_override(name, overrides[name], type_)
        info = ConstInfo(value, type_, decl.span)
        env.consts[name] = info
        return info

    for c in consts:
        value_of(c.name)


def _parse_override(name: str, text: str, type_: Type) -> int:
    text = text.strip()
    if isinstance(type_, BoolT):
        if text in ("true", "false"):
            return int(text == "true")
        raise SpecError(f"-D {name}={text}: '{name}' is a bool const; give true or false")
    if len(text) > 40:
        raise SpecError(f"-D {name}=...: the value is larger than the const limit (2^62)")
    try:
        value = int(text, 0)
    except ValueError:
        raise SpecError(f"-D {name}={text}: '{name}' is an int const; give an integer") from None
    if abs(value) > MAX_CONST:
        raise SpecError(f"-D {name}={text}: the value is larger than the const limit (2^62)")
    return value


def const_int(env: Env, expr: s.Expr, what: str) -> int:
    value, type_ = _const_expr(env, expr, lambda n: env.consts[n], set(env.consts))
    if not isinstance(type_, IntT):
        raise SpecError(f"{what} must be an integer, not {type_}", expr.span)
    return value


def const_value(env: Env, expr: s.Expr) -> tuple[int, Type]:
    return _const_expr(env, expr, lambda n: env.consts[n], set(env.consts))


_ARITH = {"+", "-", "*", "/", "%"}
_COMPARE = {"<", "<=", ">", ">="}


def _const_expr(env: Env, expr: s.Expr, lookup, const_names: set[str]) -> tuple[int, Type]:
    """Evaluate a constant expression: literals, consts, enum members and operators."""
    if isinstance(expr, s.Number):
        return expr.value, IntT(expr.value, expr.value)
    if isinstance(expr, s.BoolLit):
        return int(expr.value), BoolT()
    if isinstance(expr, s.Name):
        if expr.name in const_names:
            info = lookup(expr.name)
            return info.value, info.type
        if expr.name in env.enum_members:
            enum, index = env.enum_members[expr.name]
            return index, enum
        known = const_names | set(env.enum_members)
        raise SpecError(f"'{expr.name}' is not a constant{did_you_mean(expr.name, known)}", expr.span)
    if isinstance(expr, s.Unary):
        value, type_ = _const_expr(env, expr.arg, lookup, const_names)
        if expr.op == "!":
            _want(type_, BoolT, expr.arg)
            return int(not value), BoolT()
        _want(type_, IntT, expr.arg)
        return -value, IntT(-value, -value)
    if isinstance(expr, s.Binary):
        a, ta = _const_expr(env, expr.left, lookup, const_names)
        b, tb = _const_expr(env, expr.right, lookup, const_names)
        op = expr.op
        if op in _ARITH:
            _want(ta, IntT, expr.left)
            _want(tb, IntT, expr.right)
            if op in ("/", "%") and b == 0:
                raise SpecError("division by zero in a constant", expr.span)
            value = c_arith(op, a, b)
            if abs(value) > MAX_CONST:
                raise SpecError(f"constant {a} {op} {b} is larger than the const limit (2^62)", expr.span)
            return value, IntT(value, value)
        if op in _COMPARE:
            _want(ta, IntT, expr.left)
            _want(tb, IntT, expr.right)
            return int({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]), BoolT()
        if op in ("==", "!="):
            if type(ta) is not type(tb) or (isinstance(ta, EnumT) and ta != tb):
                raise SpecError(f"cannot compare {ta} with {tb}", expr.span)
            return int((a == b) == (op == "==")), BoolT()
        _want(ta, BoolT, expr.left)
        _want(tb, BoolT, expr.right)
        return int({"&&": a and b, "||": a or b, "->": (not a) or b}[op]), BoolT()
    if isinstance(expr, s.Cond):
        c, tc = _const_expr(env, expr.test, lookup, const_names)
        _want(tc, BoolT, expr.test)
        return _const_expr(env, expr.then if c else expr.other, lookup, const_names)
    raise SpecError("expected a constant expression", expr.span)


def c_arith(op: str, a: int, b: int) -> int:
    """C semantics: division truncates toward zero."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
    return quotient if op == "/" else a - b * quotient


def count_quantified(env: Env, count: int, span: Span) -> None:
    """Lowering expands each forall/exists into one copy of its body per value: bound the
    copies made for the whole model, nested quantifiers multiplied, before they are made."""
    env.quantified += count
    if env.quantified > MAX_QUANTIFIED:
        raise SpecError(f"forall/exists expand to more than {MAX_QUANTIFIED:,} instances of their bodies "
                        "(the quantifier size limit)", span)


def _want(type_: Type, cls: type, expr: s.Expr) -> None:
    if not isinstance(type_, cls):
        name = {BoolT: "bool", IntT: "an integer"}.get(cls, cls.__name__)
        raise SpecError(f"expected {name} here, not {type_}", expr.span)


# ---- types and layout ----------------------------------------------------------------------

def resolve_type(env: Env, ref: s.TypeRef) -> Type:
    if isinstance(ref, s.BoolTypeRef):
        return BoolT()
    if isinstance(ref, s.IntTypeRef):
        low = const_int(env, ref.low, "an int bound")
        high = const_int(env, ref.high, "an int bound")
        if low > high:
            raise SpecError(f"empty int range {low}..{high}", ref.span)
        if high - low >= MAX_INT_VALUES:
            raise SpecError(f"int range {low}..{high} is wider than the int range limit "
                            f"({MAX_INT_VALUES:,} values)", ref.span)
        return IntT(low, high)
    if isinstance(ref, s.LockTypeRef):
        return LockT(ref.kind)
    if isinstance(ref, s.WaitqueueTypeRef):
        return WaitqueueT()
    if isinstance(ref, s.RefcountTypeRef):
        high = const_int(env, ref.high, "a refcount bound")
        if not 1 <= high <= 64:
            raise SpecError(f"a refcount counts up to between 1 and 64, not {high}", ref.span)
        return RefcountT(0, high)
    assert isinstance(ref, s.NamedTypeRef)
    if ref.name in env.enums:
        return env.enums[ref.name]
    if ref.name in env.structs:
        return env.structs[ref.name]
    known = set(env.enums) | set(env.structs) | {"bool", "int", "lock", "spinlock", "rwlock"}
    hint = did_you_mean(ref.name, known)
    if not hint:   # `relase l;` reads as a declaration of l, of type relase
        word = did_you_mean(ref.name, set(STATEMENT_WORDS))
        hint = word.replace("did you mean '", "did you mean the statement '") if word else ""
    raise SpecError(f"unknown type '{ref.name}'{hint}", ref.span)


# the statements that start with a word and an operand, which a misspelling turns into a declaration
STATEMENT_WORDS = frozenset({"acquire", "release", "acquire_read", "release_read", "await", "assert"})


def _var_type(env: Env, var: s.VarSpec) -> Type:
    base = resolve_type(env, var.type)
    if var.size is None:
        return base
    size = const_int(env, var.size, "an array size")
    if not 1 <= size <= MAX_ARRAY:
        raise SpecError(f"array size must be between 1 and {MAX_ARRAY}, not {size}", var.size.span)
    array = ArrayT(base, size)
    # before any value is laid out: a struct array of arrays must not fill the memory first
    if size_of(array, max(env.nthreads, 1)) > MAX_SLOTS:
        raise SpecError(f"'{var.name}' needs {size_of(array, max(env.nthreads, 1)):,} state variables, more than "
                        f"the state size limit ({MAX_SLOTS:,})", var.span)
    return array


def _scalar_init(env: Env, type_: Type, expr: s.Expr) -> int:
    value, vtype = const_value(env, expr)
    if isinstance(type_, BoolT) and isinstance(vtype, BoolT):
        return value
    if isinstance(type_, IntT) and isinstance(vtype, IntT):
        if not type_.low <= value <= type_.high:
            raise SpecError(f"initial value {value} is outside {type_}", expr.span)
        return value
    if isinstance(type_, EnumT) and vtype == type_:
        return value
    raise SpecError(f"cannot initialise a {type_} with a {vtype}", expr.span)


def default_values(env: Env, type_: Type, init: s.Expr | tuple[s.Expr, ...] | None, span: Span) -> list[int]:
    """Initial values of every slot of a variable of this type, in layout order."""
    if isinstance(type_, ArrayT):
        if isinstance(init, tuple):
            if len(init) != type_.size:
                raise SpecError(f"{len(init)} initial values for an array of {type_.size}", span)
            return [v for e in init for v in default_values(env, type_.elem, e, span)]
        return default_values(env, type_.elem, init, span) * type_.size
    if isinstance(init, tuple):
        raise SpecError("a list of initial values needs an array", span)
    if isinstance(type_, StructT):
        if init is not None:
            raise SpecError(f"a {type_} takes its initial values from its field defaults", init.span)
        return [v for f in type_.fields for v in f.default]
    if isinstance(type_, LockT):
        if init is not None:
            raise SpecError("a lock starts free and takes no initial value", init.span)
        return [0] * size_of(type_, env.nthreads)
    if isinstance(type_, WaitqueueT):
        if init is not None:
            raise SpecError("a waitqueue starts empty and takes no initial value", init.span)
        return [0] * env.nthreads
    if init is None:
        return [type_.low if isinstance(type_, IntT) and type_.low > 0 else
                (type_.high if isinstance(type_, IntT) and type_.high < 0 else 0)]
    return [_scalar_init(env, type_, init)]


def _struct_type(env: Env, decl: s.StructDecl) -> StructT:
    fields: list[FieldInfo] = []
    offset = 0
    seen: dict[str, Span] = {}
    for f in decl.fields:
        if f.name in seen:
            raise SpecError(f"field '{f.name}' is declared twice", f.span, (Note(seen[f.name], "first here"),))
        seen[f.name] = f.span
        ftype = _var_type(env, f)
        if isinstance(ftype, StructT) and not ftype.fields and ftype.name == decl.name:
            raise SpecError(f"struct {decl.name} cannot contain itself", f.span)
        default = tuple(default_values(env, ftype, f.init, f.span))
        fields.append(FieldInfo(f.name, ftype, offset, default, f.span))
        offset += len(default)
        if offset > MAX_SLOTS:
            raise SpecError(f"struct {decl.name} has more than {MAX_SLOTS:,} variables (the state size limit)", f.span)
    return StructT(decl.name, tuple(fields))


def _lay_out_global(env: Env, var: s.VarSpec) -> None:
    type_ = _var_type(env, var)
    base = len(env.slots)
    if base + size_of(type_, env.nthreads) > MAX_SLOTS:
        raise SpecError(f"with '{var.name}' the state has more than {MAX_SLOTS:,} variables (the state size limit)",
                        var.span)
    values = default_values(env, type_, var.init, var.span)
    _add_slots(env, var.name, type_)
    env.initial.extend(values)
    env.globals[var.name] = GlobalVar(var.name, type_, base, var.span)


def _add_slots(env: Env, name: str, type_: Type) -> None:
    if isinstance(type_, ArrayT):
        for i in range(type_.size):
            _add_slots(env, f"{name}[{i}]", type_.elem)
    elif isinstance(type_, StructT):
        for f in type_.fields:
            _add_slots(env, f"{name}.{f.name}", f.type)
    elif isinstance(type_, LockT):
        if type_.kind == "rwlock":
            env.slots.append(Slot(name, "rw_writer", 0, env.nthreads, lock_kind="rwlock"))
            for t in range(env.nthreads):
                env.slots.append(Slot(f"{name}.read_by[{thread_name(env, t)}]", "rw_reader", 0, 1, of_thread=t))
        else:
            env.slots.append(Slot(name, "lock", 0, env.nthreads, lock_kind=type_.kind))
    elif isinstance(type_, WaitqueueT):
        for t in range(env.nthreads):
            env.slots.append(Slot(f"{name}.{thread_name(env, t)}", "enum", 0, 1 + env.nthreads,
                                  waiter_states(env.nthreads), of_thread=t))
    elif isinstance(type_, BoolT):
        env.slots.append(Slot(name, "bool", 0, 1))
    elif isinstance(type_, IntT):
        env.slots.append(Slot(name, "int", type_.low, type_.high))
    elif isinstance(type_, EnumT):
        env.slots.append(Slot(name, "enum", 0, len(type_.members) - 1, type_.members))


def waiter_states(nthreads: int) -> tuple[str, ...]:
    """A thread's place on a waitqueue: off it, a non-exclusive waiter (at the head), or an
    exclusive one with k others ahead of it (lowering/waitqueues.py)."""
    behind = tuple(f"waiting exclusively behind {k}" for k in range(1, nthreads))
    return ("not waiting", "waiting", "waiting exclusively") + behind


def thread_name(env: Env, index: int) -> str:
    for decl, count in env.threads:
        if index < count:
            return decl.name if decl.count is None else f"{decl.name}[{index}]"
        index -= count
    raise AssertionError(index)
