"""Names inside a body: the block scopes, looked up innermost first, then the globals."""
from __future__ import annotations

from ..errors import SpecError, did_you_mean
from ..ir import Lit
from ..parser import KEYWORDS
from ..source import Span
from ..lktypes import is_scalar
from .places import Place, ValueBinding, ConstBinding, Binding
from .state import LoweringState


class ScopeLowering(LoweringState):
    """Block scopes and name lookup."""

    def lookup(self, name: str, span: Span) -> Binding | Place:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name][0]
        env = self.env
        if name in env.consts:
            c = env.consts[name]
            return ConstBinding(c.value, c.type)
        if name in env.enum_members:
            enum, index = env.enum_members[name]
            return ConstBinding(index, enum)
        if name in env.globals:
            g = env.globals[name]
            if is_scalar(g.type):
                return ValueBinding(g.base, g.type)
            return Place(Lit(g.base, "int"), g.type, (g.base,))
        visible = {n for scope in self.scopes for n in scope} | set(env.consts) | set(env.enum_members) \
            | set(env.globals)
        extra = ""
        if name in env.procs:
            extra = f" ('{name}' is a proc: call it as a statement)"
        raise SpecError(f"unknown name '{name}'{did_you_mean(name, visible)}{extra}", span)

    def bind(self, name: str, binding: Binding | Place, span: Span) -> None:
        if name in KEYWORDS:
            raise SpecError(f"'{name}' is a keyword and cannot be a name", span)
        if name in self.scopes[-1]:
            raise SpecError(f"'{name}' is already declared in this block", span)
        self.scopes[-1][name] = (binding, [])

    def locals_from(self, depth: int) -> list[int]:
        return [x for scope in self.scope_locals[depth:] for x in scope]
