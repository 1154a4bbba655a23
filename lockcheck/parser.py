"""Text -> AST: the Lark LALR parser and the Transformer that builds syntax nodes."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, cast

from lark import Lark, Token, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import syntax as s
from .errors import SpecError
from .limits import MAX_NESTING, MAX_NUMBER_DIGITS
from .parse_idioms import IdiomBuilder
from .source import SourceFile, Span, printable, string_literal

_TOKEN_NAMES = {
    "SEMICOLON": "';'", "LBRACE": "'{'", "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'",
    "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "COLON": "':'", "DOT": "'.'", "EQUAL": "'='",
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "$END": "end of file",
    "QMARK": "'?'", "MULOP": "an operator", "ADDOP": "an operator", "RELOP": "a comparison",
    "EQOP": "'==' or '!='", "UNOP": "'!' or '-'",
}


def _parser_cache() -> str | bool:
    """Where Lark keeps the analysed grammar between runs (building the LALR tables is most
    of a small spec's start-up): a file in the user's own cache folder, which Lark checks
    against the grammar, its options and its own version before using. Not Lark's default
    temp-folder file, which another user of a shared machine could have planted."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "lockcheck")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False
    return os.path.join(folder, "grammar.lark-cache")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark.open("grammar.lark", rel_to=__file__, parser="lalr", propagate_positions=True,
                     maybe_placeholders=True, cache=_parser_cache())


def _describe(token_type: str) -> str:
    """A terminal as the user wrote it ('->', 'if'), never Lark's name for it (__ANON_0)."""
    if token_type in _TOKEN_NAMES:
        return _TOKEN_NAMES[token_type]
    try:
        pattern = _lark().get_terminal(token_type).pattern
    except KeyError:
        return "a token" if token_type.startswith("__") else token_type.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return "a token" if token_type.startswith("__") else token_type.lower()


def _shown_token(token: Token) -> str:
    """A token quoted for a message: printable, and cut short (a name can be a megabyte long)."""
    text = printable(str(token))
    return f"'{text}'" if len(text) <= 40 else f"'{text[:40]}...'"


KEYWORDS = frozenset("""import const enum struct proc thread init invariant lemma expect holds violation
bool int lock spinlock rwlock requires ensures acquire release acquire_read release_read try_acquire
await assert if else for in while choose or atomic return break continue skip forall exists held
locked true false self result
when extend waitqueue refcount BUG_ON end held_by index_of default""".split())


def _keyword_hint(err: UnexpectedToken) -> str:
    """`if (locked)`: a variable named like the held()/locked() queries reads as the query."""
    previous = list(getattr(err, "token_history", None) or [])
    if previous and str(previous[-1]) in ("held", "locked") and "LPAR" in err.expected:
        return f" ('{previous[-1]}' is a keyword: {previous[-1]}(l) asks about lock l)"
    return ""


def _syntax_error(err: UnexpectedInput, path: str, text: str) -> SpecError:
    line, column = getattr(err, "line", 0) or 0, getattr(err, "column", 0) or 0
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = text[pos] if pos is not None and 0 <= pos < len(text) else "?"
        shown = ch if ch.isprintable() else repr(ch)[1:-1]
        return SpecError(f"unexpected character '{shown}'", Span(path, line, column))
    if isinstance(err, UnexpectedToken):
        expected = sorted({_describe(t) for t in err.expected})
        found = "end of file" if err.token.type == "$END" else _shown_token(err.token)
        if err.token.type == "$END":
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        previous = list(getattr(err, "token_history", None) or [])
        if err.token.type == "$END" and "'}'" in expected:
            message = "unexpected end of file: a '}' is missing"
        elif ("';'" in expected and previous and previous[-1].end_line is not None
              and err.token.type != "$END" and err.token.line > previous[-1].end_line):
            # the statement on the line before did not end: point there, not at the next line
            message = f"expected ';' at the end of this line (before {found} on line {err.token.line})"
            line, column = previous[-1].end_line, previous[-1].end_column
        elif "';'" in expected and len(expected) <= 12:
            message = f"expected ';' before {found}"
        elif len(expected) <= 6:
            message = f"unexpected {found}, expected {' or '.join(expected)}"
        else:
            message = f"unexpected {found}"
        return SpecError(message + _keyword_hint(err), Span(path, line, column))
    if isinstance(err, UnexpectedEOF):
        lines = text.splitlines() or [""]
        return SpecError("unexpected end of file", Span(path, len(lines), len(lines[-1]) + 1))
    return SpecError("syntax error", Span(path, line, column))


def parse(source: SourceFile) -> s.Module:
    """Parse one file; raises SpecError with a position on any syntax error."""
    try:
        tree = _lark().parse(source.text)
    except UnexpectedInput as err:
        raise _syntax_error(err, source.path, source.text) from None
    builder = _AstBuilder(source)
    try:
        decls = builder.transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, SpecError):
            raise err.orig_exc from None
        raise
    return s.Module(source.path, cast(list[s.Decl], list(decls.children if isinstance(decls, Tree) else decls)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


@v_args(meta=True)
class _AstBuilder(IdiomBuilder):
    """Builds syntax nodes bottom-up without recursion, so deep input cannot overflow."""

    def __init__(self, source: SourceFile):
        super().__init__()
        self.source = source
        self.depth: dict[int, int] = {}

    # -- helpers --
    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.source.path, 1, 1)
        return Span(self.source.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.source.path, tok.line or 1, tok.column or 1, tok.end_line or 0, tok.end_column or 0)

    def _text(self, meta: Any) -> str:
        return _one_line(self.source.text[meta.start_pos:meta.end_pos])

    def _nest(self, node: Any, *children: Any) -> Any:
        d = 1 + max((self.depth.get(id(c), 0) for c in children), default=0)
        if d > MAX_NESTING:
            raise SpecError(f"nested more than {MAX_NESTING} levels deep (the nesting limit)", node.span)
        self.depth[id(node)] = d
        return node

    # -- expressions --
    def number(self, meta, children):
        tok = children[0]
        if len(tok) > MAX_NUMBER_DIGITS:
            raise SpecError(f"number {tok[:20]}... has more digits than the number limit ({MAX_NUMBER_DIGITS})",
                            self._tok_span(tok))
        return s.Number(self._tok_span(tok), int(tok))

    def true(self, meta, children):
        return s.BoolLit(self._span(meta), True)

    def false(self, meta, children):
        return s.BoolLit(self._span(meta), False)

    def name(self, meta, children):
        return s.Name(self._span(meta), str(children[0]))

    def self_ref(self, meta, children):
        return s.SelfRef(self._span(meta))

    def result_ref(self, meta, children):
        return s.ResultRef(self._span(meta))

    def field(self, meta, children):
        base, name = children
        return self._nest(s.Field(self._span(meta), base, str(name)), base)

    def index(self, meta, children):
        base, index = children
        return self._nest(s.Index(self._span(meta), base, index), base, index)

    def unop(self, meta, children):
        op, arg = children
        return self._nest(s.Unary(self._span(meta), str(op), arg), arg)

    def binop(self, meta, children):
        left, op, right = children
        return self._nest(s.Binary(self._span(meta), str(op), left, right), left, right)

    def implies(self, meta, children):
        left, right = children
        return self._nest(s.Binary(self._span(meta), "->", left, right), left, right)

    def cond(self, meta, children):
        test, then, other = children
        return self._nest(s.Cond(self._span(meta), test, then, other), test, then, other)

    def range(self, meta, children):
        low, high = children
        return self._nest(s.Range(self._span(meta), low, high), low, high)

    def quant_kind(self, meta, children):
        return str(children[0])

    def quantifier(self, meta, children):
        kind, var, domain, body = children
        return self._nest(s.Quantifier(self._span(meta), kind, str(var), domain, body), domain, body)

    def lock_query_kind(self, meta, children):
        return str(children[0])

    def lock_query(self, meta, children):
        kind, lock = children
        return self._nest(s.LockQuery(self._span(meta), kind, lock), lock)

    def call(self, meta, children):
        name, *args = children
        args = tuple(a for a in args if a is not None)
        return self._nest(s.Call(self._span(meta), str(name), args), *args)

    def try_acquire(self, meta, children):
        return s.TryAcquire(self._span(meta), children[0])

    # -- types --
    def bool_type(self, meta, children):
        return s.BoolTypeRef(self._span(meta))

    def int_type(self, meta, children):
        return s.IntTypeRef(self._span(meta), children[0], children[1])

    def lock_kind(self, meta, children):
        return str(children[0])

    def lock_type(self, meta, children):
        return s.LockTypeRef(self._span(meta), children[0])

    def named_type(self, meta, children):
        return s.NamedTypeRef(self._span(meta), str(children[0]))

    # -- statements --
    def block(self, meta, children):
        return self._nest(s.Block(self._span(meta), "{", tuple(children)), *children)

    def local_decl(self, meta, children):
        type_, name, init = children
        return s.LocalDecl(self._span(meta), self._text(meta).rstrip(";"), type_, str(name), init)

    def assign(self, meta, children):
        target, value = children
        return s.Assign(self._span(meta), self._text(meta).rstrip(";"), target, value)

    def call_stmt(self, meta, children):
        return s.CallStmt(self._span(meta), self._text(meta).rstrip(";"), children[0])

    def lock_op(self, meta, children):
        return str(children[0])

    def lock_stmt(self, meta, children):
        op, lock = children
        return s.LockStmt(self._span(meta), self._text(meta).rstrip(";"), op, lock)

    def await_stmt(self, meta, children):
        return s.Await(self._span(meta), self._text(meta).rstrip(";"), children[0])

    def assert_stmt(self, meta, children):
        label, cond, message = children
        text = self._text(meta).rstrip(";")
        msg = None
        if message is not None:
            msg = string_literal(str(message))
        return s.Assert(self._span(meta), text, str(label) if label is not None else None, cond, msg)

    def if_stmt(self, meta, children):
        cond, then, other = children
        return self._nest(s.If(self._span(meta), _one_line(f"if ({self._expr_text(cond)})"), cond, then, other),
                          cond, then, *( [other] if other is not None else []))

    def for_stmt(self, meta, children):
        var, domain, body = children
        text = f"for {var} in {self._expr_text(domain)}"
        return self._nest(s.For(self._span(meta), text, str(var), domain, body), domain, body)

    def while_stmt(self, meta, children):
        cond, body = children
        return self._nest(s.While(self._span(meta), f"while ({self._expr_text(cond)})", cond, body), cond, body)

    def choose_stmt(self, meta, children):
        return self._nest(s.Choose(self._span(meta), "choose", tuple(children)), *children)

    def choose_in_stmt(self, meta, children):
        var, domain, body = children
        text = f"choose {var} in {self._expr_text(domain)}"
        return self._nest(s.ChooseIn(self._span(meta), text, str(var), domain, body), domain, body)

    def atomic_stmt(self, meta, children):
        return self._nest(s.Atomic(self._span(meta), "atomic", children[0]), children[0])

    def return_stmt(self, meta, children):
        return s.Return(self._span(meta), self._text(meta).rstrip(";"), children[0])

    def break_stmt(self, meta, children):
        return s.Break(self._span(meta), "break")

    def continue_stmt(self, meta, children):
        return s.Continue(self._span(meta), "continue")

    def skip_stmt(self, meta, children):
        return s.Skip(self._span(meta), "skip")

    def _expr_text(self, expr: Any) -> str:
        sp = expr.span
        if sp.end_line == 0:
            return "?"
        start = self.source._line_starts[sp.line - 1] + sp.column - 1
        end = self.source._line_starts[sp.end_line - 1] + sp.end_column - 1
        return _one_line(self.source.text[start:end])

    # -- declarations --
    def import_decl(self, meta, children):
        return s.Import(self._span(meta), str(children[0])[1:-1])

    def const_decl(self, meta, children):
        return s.ConstDecl(self._span(meta), str(children[0]), children[1])

    def enum_decl(self, meta, children):
        name, *members = children
        return s.EnumDecl(self._span(meta), str(name), tuple((str(m), self._tok_span(m)) for m in members))

    def _var_spec(self, meta: Any, children: list[Any]) -> s.VarSpec:
        type_, name, size, init = children
        return s.VarSpec(self._span(meta), type_, str(name), size, init)

    def field_decl(self, meta, children):
        return self._var_spec(meta, children)

    def array_init(self, meta, children):
        return tuple(children)

    def struct_decl(self, meta, children):
        name, *fields = children
        return s.StructDecl(self._span(meta), str(name), tuple(fields))

    def var_decl(self, meta, children):
        return s.GlobalDecl(self._span(meta), self._var_spec(meta, children))

    def param(self, meta, children):
        return s.Param(self._span(meta), children[0], str(children[1]))

    def ret_type(self, meta, children):
        return children[0]

    def requires(self, meta, children):
        return s.Contract("requires", children[0])

    def ensures(self, meta, children):
        return s.Contract("ensures", children[0])

    def proc_decl(self, meta, children):
        name = str(children[0])
        rest = children[1:]
        params: list[s.Param] = []
        result = None
        contracts: list[s.Contract] = []
        body = rest[-1]
        for item in rest[:-1]:
            if isinstance(item, s.Param):
                params.append(item)
            elif isinstance(item, s.Contract):
                contracts.append(item)
            elif isinstance(item, s.TypeRef):
                result = item
        return s.ProcDecl(self._span(meta), name, tuple(params), result, tuple(contracts), body)

    def thread_decl(self, meta, children):
        name, count, body = children
        return s.ThreadDecl(self._span(meta), str(name), count, body)

    def init_decl(self, meta, children):
        return s.InitDecl(self._span(meta), children[0])

    def invariant_decl(self, meta, children):
        return s.InvariantDecl(self._span(meta), str(children[0]), children[1])

    def lemma_decl(self, meta, children):
        return s.InvariantDecl(self._span(meta), str(children[0]), children[1], lemma=True)

    def verdict(self, meta, children):
        return str(children[0])

    def prop_name(self, meta, children):
        return ".".join(str(c) for c in children if c is not None), self._span(meta)

    def expect_decl(self, meta, children):
        verdict, (prop, span) = children
        return s.ExpectDecl(self._span(meta), verdict, prop, span)

    def unreached_target(self, meta, children):
        token = children[0]
        is_line = token.type == "STRING"
        return s.UnreachedTarget(str(token)[1:-1] if is_line else str(token), is_line, self._span(meta))

    def unreached_decl(self, meta, children):
        *targets, thread, reason = children
        return s.UnreachedDecl(self._span(meta), tuple(targets), None if thread is None else str(thread),
                               str(reason)[1:-1])

    def start(self, meta, children):
        return list(children)
