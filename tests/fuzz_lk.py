"""lockcheck's own fuzzer: inputs made by grammar-aware mutation of the shipped specs and
models, and by generation from the grammar (a Hypothesis strategy), each run through the
CLI's main() in this process with a time limit. A finding is an exception escaping main()
(a traceback for a user), an exit code outside 0..3, a report that is not well-formed, an
input that runs past the time limit or makes the process grow by more than the memory
allowance. tests/test_fuzz.py runs it for a bounded time; bench/fuzz.py runs N mutants."""
from __future__ import annotations

import contextlib
import io
import json
import random
import re
import resource
import shutil
import signal
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
CORPUS = sorted((REPO / "specs").glob("*.lk")) + sorted((REPO / "models").glob("*.lk"))

TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z_0-9]*|[0-9]+'
                   r'|->|\.\.|==|!=|<=|>=|&&|\|\||\S', re.S)
NUMBERS = ["0", "1", "2", "3", "7", "63", "64", "65", "199", "200", "201", "255", "256", "1000", "4096", "4097",
           "8192", "1000000", "2147483648", "4611686018427387904", "9223372036854775808", "999999999999999999",
           "1" + "0" * 30, "9" * 5000]
OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "->", "!", "?", ":", "..",
             ".", ",", ";", "=", "(", ")", "[", "]", "{", "}"]
HOSTILE = ['"\\x1b[31mred\\x1b[0m"', '"\\udc80 lone"', '"\\x00\\x01\\x7f"', '"\\u202e\\u0000"', '"\\U0010ffff"',
           '"\x1b]0;title\x07"', '"tab\there"', '"' + "long " * 2000 + '"', '"\\N{BULLET}"', '"\\xff\\ud800"']
RAW_BYTES = [b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"\xc3", b"\xed\xa0\x80", b"\x1b[2J", b"\r", b"\x0c", b"\t"]
KEYWORDS = ["if", "else", "while", "for", "in", "acquire", "release", "await", "assert", "atomic", "choose", "or",
            "forall", "exists", "held", "locked", "self", "result", "true", "false", "thread", "proc", "const",
            "struct", "lock", "spinlock", "rwlock", "bool", "int", "import", "invariant", "lemma", "expect",
            "holds", "violation", "try_acquire", "acquire_read", "release_read", "return", "break", "continue",
            "skip", "init", "enum", "requires", "ensures"]


# ---- fragments of the corpus, by syntactic kind, for splicing -----------------------------

_EXPR_RULES = {"binop", "unop", "implies", "cond", "quantifier", "lock_query", "field", "index", "name", "number",
               "true", "false", "call", "self_ref", "result_ref"}
_STMT_RULES = {"local_decl", "assign", "call_stmt", "lock_stmt", "await_stmt", "assert_stmt", "if_stmt", "for_stmt",
               "while_stmt", "choose_stmt", "atomic_stmt", "return_stmt", "break_stmt", "continue_stmt",
               "skip_stmt", "block"}
_DECL_RULES = {"import_decl", "const_decl", "enum_decl", "struct_decl", "var_decl", "proc_decl", "thread_decl",
               "invariant_decl", "lemma_decl", "expect_decl", "init_decl"}


def _kind(rule: str) -> str | None:
    if rule in _EXPR_RULES:
        return "expr"
    if rule in _STMT_RULES:
        return "stmt"
    if rule in _DECL_RULES:
        return "decl"
    return None


@dataclass
class Corpus:
    texts: dict[str, str]                                   # file name -> text
    spans: dict[str, list[tuple[str, int, int]]]            # file name -> (kind, start, end)
    fragments: dict[str, list[str]] = field(default_factory=dict)   # kind -> texts from every file
    names: list[str] = field(default_factory=list)

    @staticmethod
    def load(files: list[Path] = CORPUS) -> "Corpus":
        from lark import Tree

        from lockcheck.parser import _lark

        texts = {f.name: f.read_text() for f in files}
        spans: dict[str, list[tuple[str, int, int]]] = {}
        fragments: dict[str, list[str]] = {"expr": [], "stmt": [], "decl": []}
        names: set[str] = set()
        for name, text in texts.items():
            tree = _lark().parse(text)
            found = []
            for sub in tree.iter_subtrees():
                kind = _kind(str(sub.data))
                meta = sub.meta
                if kind and not getattr(meta, "empty", True) and isinstance(sub, Tree):
                    found.append((kind, meta.start_pos, meta.end_pos))
                    fragments[kind].append(text[meta.start_pos:meta.end_pos])
            spans[name] = found
            names.update(m.group() for m in re.finditer(r"[A-Za-z_][A-Za-z_0-9]*", text))
        return Corpus(texts, spans, fragments, sorted(names))


# ---- mutation -----------------------------------------------------------------------------

def _tokens(text: str) -> list[re.Match[str]]:
    return list(TOKEN.finditer(text))


def mutate_once(text: str, file: str, corpus: Corpus, rng: random.Random) -> str:
    """One grammar-aware change: a token replaced, removed, repeated or moved; a subtree of
    the parse swapped for one of the same kind (from any file), repeated, nested deeply or
    cut; a hostile string or byte sequence put in."""
    toks = _tokens(text)
    if not toks:
        return text + rng.choice(corpus.fragments["decl"])
    op = rng.randrange(14)
    tok = rng.choice(toks)
    a, b = tok.span()
    word = tok.group()
    if op == 0 and any(t.group().isdigit() for t in toks):        # a number at a boundary
        tok = rng.choice([t for t in toks if t.group().isdigit()])
        a, b = tok.span()
        return text[:a] + rng.choice(NUMBERS) + text[b:]
    if op == 1:                                                     # a name for another
        names = [t for t in toks if re.fullmatch(r"[A-Za-z_]\w*", t.group())]
        if names:
            tok = rng.choice(names)
            a, b = tok.span()
            return text[:a] + rng.choice(corpus.names + KEYWORDS) + text[b:]
    if op == 2:                                                     # delete a token
        return text[:a] + text[b:]
    if op == 3:                                                     # repeat a token
        return text[:b] + " " + word * rng.choice([1, 2, 50]) + text[b:]
    if op == 4:                                                     # an operator or bracket
        return text[:a] + rng.choice(OPERATORS) + text[b:]
    if op == 5:                                                     # a token from elsewhere
        other = rng.choice(toks).group()
        return text[:a] + other + " " + text[a:]
    spans = corpus.spans.get(file) or []
    if op in (6, 7, 8) and spans:                                   # splice a subtree of the same kind
        kind, s0, s1 = rng.choice(spans)
        if op == 6:
            return text[:s0] + rng.choice(corpus.fragments[kind]) + text[s1:]
        if op == 7:                                                 # repeat it
            piece = text[s0:s1]
            sep = " && " if kind == "expr" else "\n"
            return text[:s1] + (sep + piece) * rng.choice([1, 3, 200]) + text[s1:]
        return text[:s0] + text[s1:]                                # cut it
    if op == 9 and spans:                                           # nest it deeply
        kind, s0, s1 = rng.choice(spans)
        piece, n = text[s0:s1], rng.choice([5, 60, 150, 199, 201, 1000])
        if kind == "expr":
            wrap = rng.choice([("(", ")"), ("!", ""), ("(true && ", ")"), ("-", "")])
            return text[:s0] + wrap[0] * n + piece + wrap[1] * n + text[s1:]
        if kind == "stmt":
            return text[:s0] + "if (true) { " * n + piece + " }" * n + text[s1:]
    if op == 10:                                                    # a hostile string
        return text[:a] + rng.choice(HOSTILE) + text[a:]
    if op == 11:                                                    # a quantifier or array at scale
        n = rng.choice(NUMBERS[:18])
        piece = rng.choice([f"forall q in 0..{n}: true", f"exists q in 0..{n}: q > 3",
                            f"bool zz[{n}];", f"spinlock zl[{n}];", f"thread zt[{n}] {{ skip; }}",
                            f"const ZC = {n} * {n} * {n};", f"int[0..{n}] zi;"])
        return text[:a] + piece + " " + text[a:]
    if op == 12:                                                    # truncate
        return text[:rng.randrange(len(text) + 1)]
    return text[:a] + rng.choice(corpus.fragments["decl"]) + "\n" + text[a:]   # a declaration from elsewhere


def mutant(corpus: Corpus, rng: random.Random) -> tuple[str, bytes]:
    """(file name, contents): a corpus file with one to three mutations, sometimes raw bytes."""
    file = rng.choice(sorted(corpus.texts))
    text = corpus.texts[file]
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        text = mutate_once(text, file, corpus, rng)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.04:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice(RAW_BYTES) + data[at:]
    return file, data


# ---- generation from the grammar ------------------------------------------------------------

GEN_NAMES = ["a", "b", "m", "p", "x", "pages", "t", "f", "N", "s", "l", "self", "lock_page", "page", "v"]


def _grammar() -> tuple[dict[str, list[list[tuple[bool, str]]]], dict[str, str], dict[str, int]]:
    """The grammar's rules as plain data: rule -> expansions of (is_terminal, name); literal
    terminals; and each rule's least derivation depth (to end a derivation when deep)."""
    from lockcheck.parser import _lark

    lark = _lark()
    rules: dict[str, list[list[tuple[bool, str]]]] = {}
    for r in lark.rules:
        rules.setdefault(r.origin.name, []).append([(s.is_term, s.name) for s in r.expansion])
    literals = {t.name: t.pattern.value for t in lark.terminals if t.pattern.type == "str"}
    depth = {name: 10**6 for name in rules}
    changed = True
    while changed:
        changed = False
        for name, expansions in rules.items():
            best = min(1 + max([0] + [depth.get(sym, 10**6) if not term else 0 for term, sym in exp])
                       for exp in expansions)
            if best < depth[name]:
                depth[name], changed = best, True
    return rules, literals, depth


_GRAMMAR: list = []


@st.composite
def grammar_specs(draw: st.DrawFn, max_depth: int = 12) -> str:
    """A text derived from the grammar's rules, tokens separated by spaces: names from a small
    pool (so some resolve), numbers at the limits, strings with control characters."""
    if not _GRAMMAR:
        _GRAMMAR.append(_grammar())
    rules, literals, least = _GRAMMAR[0]
    out: list[str] = []
    budget = [400]   # symbols in all

    def expand(symbol: str, depth: int) -> None:
        expansions = rules[symbol]
        if depth >= max_depth or budget[0] <= 0:
            fitting = [e for e in expansions
                       if all(term or least[sym] < 10**6 for term, sym in e)]
            expansions = [min(fitting, key=lambda e: max([0] + [least[s] for t, s in e if not t]))]
        exp = expansions[draw(st.integers(0, len(expansions) - 1))]
        for term, sym in exp:
            budget[0] -= 1
            if not term:
                expand(sym, depth + 1)
            elif sym in literals:
                out.append(literals[sym])
            elif sym == "NAME":
                out.append(draw(st.sampled_from(GEN_NAMES)))
            elif sym == "NUMBER":
                out.append(draw(st.sampled_from(NUMBERS[:20])))
            elif sym == "STRING":
                out.append(draw(st.sampled_from(HOSTILE[:6] + ['"msg"'])))
            else:   # EQOP, RELOP, ADDOP, MULOP, UNOP
                out.append(draw(st.sampled_from({"EQOP": ["==", "!="], "RELOP": ["<", "<=", ">", ">="],
                                                 "ADDOP": ["+", "-"], "MULOP": ["*", "/", "%"],
                                                 "UNOP": ["!", "-"]}.get(sym, ["?"]))))

    expand("start", 0)
    return " ".join(out) + "\n"


# ---- running one input ------------------------------------------------------------------------

class InputTimeout(BaseException):
    """Raised by the alarm when one input runs past its time limit (not caught by lockcheck)."""


@dataclass
class Finding:
    kind: str        # crash | exit-code | malformed | timeout | memory
    argv: list[str]
    detail: str
    data: bytes


@dataclass
class Runner:
    """Runs inputs through main(), in a scratch folder holding a copy of models/ (so a mutated
    model is the one its importers see)."""

    workdir: Path
    seconds: float = 10.0
    memory_mb: float = 1500.0
    findings: list[Finding] = field(default_factory=list)
    runs: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for f in CORPUS:
            shutil.copy(f, self.workdir / f.name)
        self.originals = {f.name: f.read_bytes() for f in CORPUS}

    def commands(self, rng: random.Random, path: str) -> list[list[str]]:
        fmt = rng.choice(["text", "json", "sarif", "junit"])
        cmds = [["check", path], ["verify", "-q", "--max-states", "300", "--max-memory", "1G", "--format", fmt, path]]
        if rng.random() < 0.03:
            cmds.append(["verify", "-q", "--engine", rng.choice(["bmc", "induction"]), "--depth", "2",
                         "--timeout", "3", "--format", fmt, path])
        return cmds

    def run_file(self, name: str, data: bytes, rng: random.Random) -> None:
        """The input under its corpus name (a mutated model replaces the copy its importers see)."""
        target = self.workdir / name
        target.write_bytes(data)
        try:
            spec = target if name not in _models() else self.workdir / _importer_of(name)
            check_first = True
            for argv in self.commands(rng, str(spec)):
                if not self.run(argv, data) and check_first:
                    break          # the spec is bad: check said so; verify would only say it again
                check_first = False
        finally:
            target.write_bytes(self.originals.get(name, b""))

    def run(self, argv: list[str], data: bytes) -> bool:
        """One main() call; records a finding if it misbehaves. True: exit code 0, 1 or 3."""
        from lockcheck.cli import main

        self.runs += 1
        out, err = io.StringIO(), io.StringIO()
        before = _peak_mb()
        # CPU time, so that a busy machine does not make a slow input; and wall time, six times as long
        restore_limit = _limit_address_space(self.memory_mb)
        signal.signal(signal.SIGPROF, _alarm)
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_PROF, self.seconds)
        signal.setitimer(signal.ITIMER_REAL, 6 * self.seconds)
        try:
            code = main(argv, out, err)
        except InputTimeout:
            self.findings.append(Finding("timeout", argv, f"over {self.seconds} s of CPU time", data))
            return False
        except BaseException as exc:   # anything escaping main() is a traceback for a user
            import traceback

            self.findings.append(Finding("crash", argv, "".join(traceback.format_exception(exc))[-3000:], data))
            return False
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            restore_limit()
        grown = _peak_mb() - before
        text_out, text_err = out.getvalue(), err.getvalue()
        problem = _malformed(argv, code, text_out, text_err)
        if "out of memory" in text_err:
            self.findings.append(Finding("memory", argv, f"ran out of the {self.memory_mb:.0f} MB allowance: "
                                         f"{text_err.strip()[-500:]}", data))
        elif problem:
            self.findings.append(Finding("malformed" if code in (0, 1, 2, 3) else "exit-code", argv, problem, data))
        elif grown > self.memory_mb:
            self.findings.append(Finding("memory", argv, f"peak memory grew by {grown:.0f} MB", data))
        return code in (0, 1, 3)


def _limit_address_space(allowance_mb: float) -> Callable[[], None]:
    """Lowers this process's address-space limit to what it maps now plus twice the allowance,
    for one input, so that a runaway allocation is a MemoryError with its input recorded, not
    the kernel's OOM killer ending the whole run (an earlier fuzz run died so, at 23 GB).
    Returns what restores the limit (a soft limit may go back up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    mapped = _mapped_bytes()
    if mapped:
        cap = mapped + int(2 * allowance_mb * 2**20)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft == resource.RLIM_INFINITY or cap < soft:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _mapped_bytes() -> int:
    """VmSize of this process (0 where /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _alarm(signum: int, frame: object) -> None:
    raise InputTimeout


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _models() -> set[str]:
    return {f.name for f in (REPO / "models").glob("*.lk")}


_IMPORTERS: dict[str, str] = {}


def _importer_of(model: str) -> str:
    """A shipped spec that imports this model (directly or through another model)."""
    if not _IMPORTERS:
        imports = {f.name: re.findall(r'import\s+"([^"]+)"', f.read_text()) for f in CORPUS}

        def closure(name: str, seen: set[str]) -> set[str]:
            for dep in imports.get(name, []):
                if dep not in seen:
                    seen.add(dep)
                    closure(dep, seen)
            return seen

        for spec in sorted((REPO / "specs").glob("*.lk")):
            for dep in sorted(closure(spec.name, set())):
                _IMPORTERS.setdefault(dep, spec.name)
    return _IMPORTERS.get(model, "ext4.lk")


def _malformed(argv: list[str], code: int, out: str, err: str) -> str:
    if code not in (0, 1, 2, 3):
        return f"exit code {code}"
    if "Traceback" in out + err:
        return "a traceback in the output"
    for text in (out, err):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"output not encodable as UTF-8: {exc}"
    if "\x1b" in err:
        return "a raw escape character on stderr"
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "text"
    if code == 2 and not err.strip():
        return "exit 2 without an error line"
    if argv[0] != "verify":
        return "\x1b" in out and "a raw escape character on stdout" or ""
    try:
        if fmt in ("json", "sarif"):
            json.loads(out)
        elif fmt == "junit":
            ET.fromstring(out.encode("utf-8"))
        elif "\x1b" in out:
            return "a raw escape character on stdout"
    except (ValueError, ET.ParseError) as exc:
        return f"{fmt} report not well-formed: {exc}"
    return ""


@contextlib.contextmanager
def unchanged_files_parsed_once() -> Iterator[None]:
    """The unmutated corpus files a mutant imports are parsed once, not per mutant (parsing
    them is most of a mutant's time); every mutated text is parsed afresh."""
    import lockcheck.resolve as resolve

    real = resolve.parse
    originals = {f.read_text() for f in CORPUS}
    cache: dict[tuple[str, str], object] = {}

    def parse(source):  # type: ignore[no-untyped-def]
        if source.text not in originals:
            return real(source)
        key = (source.path, source.text)
        if key not in cache:
            cache[key] = real(source)
        return cache[key]

    resolve.parse = parse
    try:
        yield
    finally:
        resolve.parse = real


def fuzz(count: int, seed: int, workdir: Path, seconds_per_input: float = 10.0,
         deadline: float | None = None) -> tuple[int, Runner]:
    """Run `count` mutants (or until `deadline`, a time.monotonic() value). Returns how many ran."""
    rng = random.Random(seed)
    corpus = Corpus.load()
    runner = Runner(workdir, seconds_per_input)
    done = 0
    with unchanged_files_parsed_once():
        for _ in range(count):
            if deadline is not None and time.monotonic() > deadline:
                break
            name, data = mutant(corpus, rng)
            (workdir / "current-input").write_bytes(data)   # if the process is killed, the input it was on
            runner.run_file(name, data, rng)
            done += 1
    return done, runner
