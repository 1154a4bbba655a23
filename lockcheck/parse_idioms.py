"""Parse-tree -> AST for the kernel idioms of the language (expectations per variant,
extend struct, waitqueue and refcount types, BUG_ON, guarded choice, end states,
held_by, index_of). parser.py's builder inherits these; the helpers (_span, _text, _nest)
are its."""
from __future__ import annotations

from dataclasses import replace

from lark import v_args
from lark.visitors import Transformer_NonRecursive

from . import syntax as s
from .source import string_literal


def _message(token) -> str | None:
    if token is None:
        return None
    return string_literal(str(token))


@v_args(meta=True)
class IdiomBuilder(Transformer_NonRecursive):  # type: ignore[misc]
    def expect_when_decl(self, meta, children):
        verdict, (prop, span), cond = children
        return s.ExpectDecl(self._span(meta), verdict, prop, span, cond)

    def default_proc_decl(self, meta, children):
        (proc,) = children
        return replace(proc, is_default=True)

    def extend_decl(self, meta, children):
        name, *fields = children
        return s.ExtendDecl(self._span(meta), str(name), tuple(fields))

    def waitqueue_type(self, meta, children):
        return s.WaitqueueTypeRef(self._span(meta))

    def refcount_type(self, meta, children):
        return s.RefcountTypeRef(self._span(meta), children[0])

    def bug_on_stmt(self, meta, children):
        cond, message = children
        return s.BugOn(self._span(meta), self._text(meta).rstrip(";"), cond, _message(message))

    def when_stmt(self, meta, children):
        return s.When(self._span(meta), self._text(meta).rstrip(";"), children[0])

    def end_stmt(self, meta, children):
        body = children[0]
        return self._nest(s.EndLabel(self._span(meta), body.text, body), body)

    def thread_ref(self, meta, children):
        name, index = children
        return str(name), index

    def held_by(self, meta, children):
        lock, (thread, index) = children
        return self._nest(s.HeldBy(self._span(meta), lock, thread, index), lock)

    def index_of(self, meta, children):
        return self._nest(s.IndexOf(self._span(meta), children[0]), children[0])
