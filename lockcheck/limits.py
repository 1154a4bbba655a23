"""The size limits on a spec, in one place. Each is checked where the thing it bounds is
declared (the file as it is read, a number as it is parsed, a const as it is evaluated, a
type as it is resolved) and named in the error, so no input makes lockcheck run for minutes
or take gigabytes before it says no. docs/language.md lists them."""
from __future__ import annotations

from dataclasses import dataclass

MAX_FILE_BYTES = 512 * 1024        # one .lk file (the largest shipped file is under 8 KB)
MAX_TOTAL_BYTES = 2 * 1024 * 1024  # a spec and all its imports
MAX_IMPORT_NAME = 255              # characters of an import's file name
MAX_NESTING = 200                  # expressions and statements inside each other
MAX_NUMBER_DIGITS = 18             # a number literal
MAX_CONST = 2**62                  # |value| of a const or of a step in computing one
MAX_INT_VALUES = 1_000_000         # values of one int[lo..hi] type
MAX_ARRAY = 4096                   # elements of one array
MAX_THREAD_ARRAY = 64              # K in thread NAME[K]
MAX_THREADS = 128                  # threads of a spec, counting each of thread NAME[K]
MAX_STEPS = 3000                   # steps of all threads, calls inlined (each call site copies its proc)
MAX_SLOTS = 8192                   # variables in the state vector (globals, locals, pcs)
MAX_QUANTIFIED = 100_000           # instances of a forall/exists body, nested ones multiplied


@dataclass(frozen=True)
class Limit:
    """One limit as documented: its name in errors and its value."""

    name: str
    value: int
    what: str


ALL = (
    Limit("file size", MAX_FILE_BYTES, "bytes in one .lk file"),
    Limit("total size", MAX_TOTAL_BYTES, "bytes in a spec and its imports"),
    Limit("import name", MAX_IMPORT_NAME, "characters in an imported file's name"),
    Limit("nesting", MAX_NESTING, "levels of expressions and statements inside each other"),
    Limit("number", MAX_NUMBER_DIGITS, "digits in a number literal"),
    Limit("const", MAX_CONST, "absolute value of a constant (and of each step computing it)"),
    Limit("int range", MAX_INT_VALUES, "values in one int[lo..hi]"),
    Limit("array size", MAX_ARRAY, "elements in one array"),
    Limit("thread array", MAX_THREAD_ARRAY, "K in thread NAME[K]"),
    Limit("threads", MAX_THREADS, "threads in a spec"),
    Limit("steps", MAX_STEPS, "steps of all threads, with every call inlined"),
    Limit("state size", MAX_SLOTS, "variables in the state vector"),
    Limit("quantifier size", MAX_QUANTIFIED, "instances of a forall/exists body, nested ones multiplied"),
)
