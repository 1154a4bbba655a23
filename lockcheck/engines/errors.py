"""Errors an engine raises about the spec it runs (turned into diagnostics by the CLI)."""
from __future__ import annotations


class LocalLoopError(Exception):
    """A thread ran too many local steps in a row: an infinite loop on local variables."""

    def __init__(self, thread: str, text: str, span):
        super().__init__(f"thread {thread} loops forever on local variables at '{text}'")
        self.span = span


INTERRUPTED = "an interrupt"        # Stats.limit when Ctrl-C or SIGTERM stopped a search
OUT_OF_MEMORY = "the memory limit"  # Stats.limit when the memory ran out (MemoryError) during a search
