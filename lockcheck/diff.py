"""A semantic diff of two versions of a set of specs: which properties changed verdict,
which counterexamples are new, which lock-order edges appeared or went away, how the state
space grew. `lockcheck diff OLD NEW` compares files (or folders); `lockcheck diff --rev REV`
compares the specs as they were at a git revision with the working tree. Exit code 1 when
the change leaves a property not as the new version's `expect` line says: a break (it held,
now fails, its `expect` line unchanged), or an expectation not met (an `expect` line
changed to a verdict the spec does not have, a violation that went away under `expect
violation`, a new property or spec not as expected)."""
from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .api import Options, load_model, verify_lock_order
from .engines.errors import LocalLoopError
from .errors import Diagnostic, Sources, SpecError, format_diagnostic
from .result import LockOrderEdge, PropertyResult, Result

FORMAT = "lockcheck-diff"
VERSION = 1
_THREAD = re.compile(r"^\s*thread\s+[A-Za-z_]", re.MULTILINE)


class DiffError(Exception):
    """The diff itself cannot run (not a git repository, unknown revision, no specs): exit 2."""


@dataclass
class Side:
    """One version of one spec, checked."""

    path: str                       # the file that was checked
    result: Result | None = None
    edges: list[LockOrderEdge] = field(default_factory=list)
    error: str = ""                 # a spec error (syntax, types, imports), as printed
    files: dict[str, str] = field(default_factory=dict)   # every file it read (path -> text)


@dataclass
class PropertyChange:
    name: str
    kind: str
    status: str                     # broken | fixed | now-violated | no-longer-violated | verdict | expect | added | removed | trace
    old_verdict: str | None
    new_verdict: str | None
    old_expected: str | None
    new_expected: str | None
    old_length: int | None = None   # counterexample lengths, when violated
    new_length: int | None = None
    new: PropertyResult | None = None
    note: str = ""

    @property
    def unmet(self) -> bool:
        """The change touched the property (its verdict or its expect line changed, or it is
        new) and the new verdict is not the one its expect line asks for."""
        return self.status not in ("trace", "removed") and self.new is not None and self.new.as_expected is False


@dataclass
class SpecDiff:
    name: str                       # the spec's path, as in the repository / as given
    old: Side | None
    new: Side | None
    properties: list[PropertyChange] = field(default_factory=list)
    edges_added: list[LockOrderEdge] = field(default_factory=list)
    edges_removed: list[LockOrderEdge] = field(default_factory=list)

    @property
    def broken(self) -> list[PropertyChange]:
        return [c for c in self.properties if c.status == "broken"]

    @property
    def unmet(self) -> list[str]:
        """The properties this change leaves not as expected, the broken ones too; for a new
        spec (or one whose old version did not load), every one not as expected."""
        names = [c.name for c in self.properties if c.unmet]
        if self.new and self.new.result and not (self.old and self.old.result):
            names += [p.name for p in self.new.result.properties if p.as_expected is False]
        return names

    @property
    def states(self) -> tuple[int | None, int | None]:
        return (self.old.result.stats.states if self.old and self.old.result else None,
                self.new.result.stats.states if self.new and self.new.result else None)

    @property
    def transitions(self) -> tuple[int | None, int | None]:
        return (self.old.result.stats.transitions if self.old and self.old.result else None,
                self.new.result.stats.transitions if self.new and self.new.result else None)

    @property
    def changed(self) -> bool:
        if self.old is None or self.new is None or self.old.error != self.new.error:
            return True
        return bool(self.properties or self.edges_added or self.edges_removed
                    or self.states[0] != self.states[1] or self.transitions[0] != self.transitions[1])


@dataclass
class DiffReport:
    old_label: str
    new_label: str
    specs: list[SpecDiff]

    @property
    def broken(self) -> list[tuple[str, PropertyChange]]:
        return [(s.name, c) for s in self.specs for c in s.broken]

    @property
    def unmet(self) -> list[tuple[str, str]]:
        return [(s.name, name) for s in self.specs for name in s.unmet]

    @property
    def exit_code(self) -> int:
        """1 the change leaves a property not as expected (a break, or an expectation not
        met); 2 a new version does not load; 0 otherwise."""
        if self.unmet:
            return 1
        if any(s.new is not None and s.new.error for s in self.specs):
            return 2
        return 0


# ---- checking one side ----------------------------------------------------------------------

def _check(path: str, options: Options) -> Side:
    sources = Sources()
    side = Side(path)
    try:
        side.result, side.edges = verify_lock_order(path, options, sources)
    except SpecError as err:
        side.error = format_diagnostic(err.diagnostic, sources)
    except LocalLoopError as err:
        side.error = format_diagnostic(Diagnostic(str(err), err.span), sources)
    except RecursionError:
        side.error = f"{path}: error: the spec is nested too deeply to check"
    side.files = {name: source.text for name, source in sources.files.items()}
    return side


def _files_read(path: Path, options: Options) -> dict[str, str] | None:
    """Every file a spec reads (itself and its imports, the bundled models too), loaded but
    not explored; None if it does not load."""
    sources = Sources()
    try:
        load_model(str(path), options, sources)
    except (SpecError, LocalLoopError, RecursionError):
        return None
    return {name: source.text for name, source in sources.files.items()}


def _below(files: dict[str, str], root: Path) -> dict[str, str]:
    """The same files keyed by their path below `root` (absolute outside it)."""
    out: dict[str, str] = {}
    for name, text in files.items():
        full = Path(name).resolve()
        out[full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)] = text
    return out


def _check_both(old: Path, shown: str, roots: tuple[Path, Path],
                options: tuple[Options, Options]) -> tuple[Side, Side]:
    """Both versions of a spec. When they read the same files with the same text (a spec
    the change did not touch), the old verdicts are the new ones: it is explored once."""
    new_side = _check(shown, options[1])
    old_files = _files_read(old, options[0])
    if new_side.error or old_files is None or _below(old_files, roots[0]) != _below(new_side.files, roots[1]):
        return _check(str(old), options[0]), new_side
    return Side(str(old), new_side.result, list(new_side.edges), files=old_files), new_side


def is_spec(path: Path) -> bool:
    """A .lk file with at least one thread (a model file has none and is not checked alone)."""
    try:
        return bool(_THREAD.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _specs_below(root: Path) -> dict[str, Path]:
    if root.is_file():
        return {root.name: root}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*.lk")) if is_spec(p)}


# ---- comparing -----------------------------------------------------------------------------

def _length(p: PropertyResult | None) -> int | None:
    return p.trace.length if p is not None and p.trace is not None else None


def compare(name: str, old: Side | None, new: Side | None) -> SpecDiff:
    diff = SpecDiff(name, old, new)
    before = {p.name: p for p in (old.result.properties if old and old.result else [])}
    after = {p.name: p for p in (new.result.properties if new and new.result else [])}
    for pname in list(after) + [n for n in before if n not in after]:
        a, b = before.get(pname), after.get(pname)
        change = _property_change(a, b, both=bool(old and old.result and new and new.result))
        if change is not None:
            diff.properties.append(change)
    if old and old.result and new and new.result:
        old_pairs = {(e.held, e.acquired): e for e in old.edges}
        new_pairs = {(e.held, e.acquired): e for e in new.edges}
        diff.edges_added = [e for k, e in new_pairs.items() if k not in old_pairs]
        diff.edges_removed = [e for k, e in old_pairs.items() if k not in new_pairs]
    return diff


def _property_change(a: PropertyResult | None, b: PropertyResult | None, both: bool) -> PropertyChange | None:
    if a is None and b is None:
        return None
    ref = b or a
    assert ref is not None
    change = PropertyChange(ref.name, ref.kind, "", a.verdict if a else None, b.verdict if b else None,
                            (a.expected or "holds") if a else None, (b.expected or "holds") if b else None,
                            _length(a), _length(b), b)
    if a is None:
        if not both:
            return None  # the whole spec is new: the spec line says so
        change.status = "added"
        return change if (b and (b.verdict != "holds" or b.expected or b.kind in ("invariant", "lemma"))) else None
    if b is None:
        if not both:
            return None
        change.status = "removed"
        return change if (a.verdict != "holds" or a.expected or a.kind in ("invariant", "lemma")) else None
    same_expect = change.old_expected == change.new_expected
    if a.verdict == b.verdict:
        if not same_expect:
            change.status = "expect"
            return change
        if a.verdict == "violated" and change.old_length != change.new_length:
            change.status = "trace"
            return change
        return None
    if a.verdict == "holds" and b.verdict == "violated":
        if same_expect and b.as_expected is False:
            change.status = "broken"
        else:
            change.status = "now-violated"
        return change
    if a.verdict == "violated" and b.verdict == "holds":
        change.status = "fixed" if b.as_expected else "no-longer-violated"
        return change
    change.status = "verdict"   # to or from unknown: a limit
    return change


# ---- the two ways in ----------------------------------------------------------------------

def diff_paths(old: str, new: str, options: Options, old_options: Options | None = None) -> DiffReport:
    """Two files, or two folders whose specs are paired by their path below the folder."""
    old_root, new_root = Path(old), Path(new)
    for p in (old_root, new_root):
        if not p.exists():
            raise DiffError(f"{p}: no such file or folder")
    if old_root.is_file() != new_root.is_file():
        raise DiffError("give two files or two folders")
    pairs: dict[str, tuple[Path | None, Path | None]]
    if old_root.is_file():
        pairs = {new: (old_root, new_root)}
    else:
        a, b = _specs_below(old_root), _specs_below(new_root)
        pairs = {rel: (a.get(rel), b.get(rel)) for rel in sorted(set(a) | set(b))}
        if not pairs:
            raise DiffError(f"no specs (.lk files with a thread) under {old} or {new}")
    specs = []
    roots = (old_root if old_root.is_dir() else old_root.parent).resolve(), \
        (new_root if new_root.is_dir() else new_root.parent).resolve()
    for name, (o, n) in pairs.items():
        old_side: Side | None
        new_side: Side | None
        if o is not None and n is not None:
            old_side, new_side = _check_both(o, str(n), roots, (old_options or options, options))
        else:
            old_side = _check(str(o), old_options or options) if o is not None else None
            new_side = _check(str(n), options) if n is not None else None
        specs.append(compare(name, old_side, new_side))
    return DiffReport(old, new, specs)




def _git(args: list[str], cwd: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed") from None
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip() or "failed (an unknown revision?)"
        raise DiffError(f"git {' '.join(args)}: {why}")
    return done.stdout


def diff_rev(rev: str, paths: list[str], options: Options, cwd: str = ".") -> DiffReport:
    """The specs under `paths` (default: specs/ if there is one, else everything) as they
    were at git revision `rev`, against the working tree. The old versions are checked out
    whole (every .lk file at `rev`) into a temporary folder, so their imports are the old
    ones too; -I folders inside the repository and its models/ folder are searched there."""
    here = Path(cwd).resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], str(here)).decode().strip()).resolve()
    commit = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], str(here)).decode().strip()
    if not paths:
        paths = ["specs"] if (here / "specs").is_dir() else ["."]
    rels = []
    for p in paths:
        full = (here / p).resolve()
        try:
            rels.append(full.relative_to(top).as_posix())
        except ValueError:
            raise DiffError(f"{p} is outside the git repository {top}") from None
    listed = _git(["ls-tree", "-r", "-z", "--name-only", commit], str(top)).decode().split("\0")
    lk_files = [f for f in listed if f.endswith(".lk")]
    with tempfile.TemporaryDirectory(prefix="lockcheck-diff-") as tmp:
        old_top = Path(tmp)
        for f in lk_files:
            target = old_top / f
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git(["show", f"{commit}:{f}"], str(top)))

        def under(rel: str, root: Path) -> dict[str, Path]:
            base = root / rel if rel != "." else root
            if base.is_file():
                return {rel: base} if is_spec(base) else {}
            if not base.is_dir():
                return {}
            return {p.relative_to(root).as_posix(): p for p in sorted(base.rglob("*.lk"))
                    if is_spec(p) and not any(part.startswith(".") for part in p.relative_to(root).parts)}

        old_specs: dict[str, Path] = {}
        new_specs: dict[str, Path] = {}
        for rel in rels:
            old_specs.update(under(rel, old_top))
            new_specs.update(under(rel, top))
        if not old_specs and not new_specs:
            raise DiffError(f"no specs (.lk files with a thread) under {', '.join(paths)}")

        def options_for(root: Path) -> Options:
            dirs = []
            for d in options.include_dirs:
                full = (here / d).resolve()
                try:
                    dirs.append(str(root / full.relative_to(top)))
                except ValueError:
                    dirs.append(str(full))
            if (root / "models").is_dir():
                dirs.append(str(root / "models"))
            return Options(include_dirs=dirs, defines=dict(options.defines), max_states=options.max_states,
                           max_depth=options.max_depth, fingerprints=options.fingerprints)

        old_options, new_options = options_for(old_top), options_for(top)
        specs = []
        for rel in sorted(set(old_specs) | set(new_specs)):
            o, n = old_specs.get(rel), new_specs.get(rel)
            shown = "" if n is None else str(n.relative_to(here) if n.is_relative_to(here) else n)
            old_side: Side | None
            new_side: Side | None
            if o is not None and n is not None:
                old_side, new_side = _check_both(o, shown, (old_top.resolve(), top), (old_options, new_options))
            else:
                old_side = _check(str(o), old_options) if o is not None else None
                new_side = _check(shown, new_options) if n is not None else None
            specs.append(compare(rel, old_side, new_side))
    return DiffReport(f"{rev} ({commit[:12]})", "working tree", specs)


# ---- output -------------------------------------------------------------------------------

_LABEL = {"broken": "BROKEN", "fixed": "fixed", "now-violated": "violated", "no-longer-violated": "holds now",
          "verdict": "verdict", "expect": "expect", "added": "added", "removed": "removed", "trace": "trace"}


def _delta(a: int | None, b: int | None) -> str:
    if a is None or b is None:
        return f"{a if a is not None else '-'} -> {b if b is not None else '-'}"
    if a == b:
        return f"{b} (same)"
    pct = f", {100.0 * (b - a) / a:+.0f}%" if a else ""
    return f"{a} -> {b} ({b - a:+d}{pct})"


def _label(c: PropertyChange) -> str:
    return "NOT MET" if c.unmet and c.status != "broken" else _LABEL[c.status]


def _describe(c: PropertyChange) -> str:
    if c.status == "broken":
        return (f"{c.name}: held, now violated; its expect line still says '{c.new_expected}'"
                + (f"; new counterexample, {c.new_length} steps" if c.new_length is not None else ""))
    if c.unmet:
        return _describe_unmet(c)
    if c.status == "now-violated":
        why = (f"expect changed {c.old_expected} -> {c.new_expected}" if c.old_expected != c.new_expected
               else f"expected ({c.new_expected})")
        return f"{c.name}: held, now violated ({why})"
    if c.status == "fixed":
        return f"{c.name}: was violated, now holds"
    if c.status == "no-longer-violated":
        return f"{c.name}: was violated, now holds, but the spec says 'expect {c.new_expected}'"
    if c.status == "expect":
        return f"{c.name}: expect changed {c.old_expected} -> {c.new_expected} (verdict still {c.new_verdict})"
    if c.status == "added":
        return f"{c.name}: new {c.kind}, {c.new_verdict} (expect {c.new_expected})"
    if c.status == "removed":
        return f"{c.name}: {c.kind} removed (was {c.old_verdict})"
    if c.status == "trace":
        return f"{c.name}: still violated; shortest counterexample {c.old_length} -> {c.new_length} steps"
    return f"{c.name}: {c.old_verdict} -> {c.new_verdict}"


def _describe_unmet(c: PropertyChange) -> str:
    """A change that leaves the property not as its new expect line says."""
    verdict = "still holds" if c.new_verdict == "holds" else "is still violated"
    if c.status == "expect":
        return (f"{c.name}: expect changed {c.old_expected} -> {c.new_expected}, but it {verdict}: "
                f"the new expectation is not met")
    if c.status == "now-violated":
        return (f"{c.name}: held, now violated (expect changed {c.old_expected} -> {c.new_expected}): "
                f"the new expectation is not met")
    if c.status == "no-longer-violated":
        return f"{c.name}: was violated, now holds, but its expect line says '{c.new_expected}': not met"
    if c.status == "added":
        return f"{c.name}: new {c.kind}, {c.new_verdict}, but its expect line says '{c.new_expected}': not met"
    return f"{c.name}: {c.old_verdict} -> {c.new_verdict}, but its expect line says '{c.new_expected}': not met"


def _edge(e: LockOrderEdge) -> str:
    return f"{e.held} -> {e.acquired}  ({e.thread}, {e.span.short})"


def _by_spec(pairs: list[tuple[str, str]]) -> str:
    by_spec: dict[str, list[str]] = {}
    for spec, name in pairs:
        by_spec.setdefault(spec, []).append(name)
    return "; ".join(f"{spec}: {', '.join(names)}" for spec, names in by_spec.items())


def render_diff_text(report: DiffReport, traces: bool = True, max_chars: int | None = None) -> str:
    """The diff as text. With max_chars (a review comment holds 65,536), counterexamples are
    left out, last first, until it fits; the summary lines are always kept."""
    from .report.bounded import Part, fit
    from .report.text import render_trace

    parts: list[Part] = []
    changed = [s for s in report.specs if s.changed]
    broken = report.broken
    broken_names = {(spec, c.name) for spec, c in broken}
    unmet = [(spec, name) for spec, name in report.unmet if (spec, name) not in broken_names]
    n = len(report.specs)
    verdict = []
    if broken:
        verdict.append(f"{len(broken)} propert{'y' if len(broken) == 1 else 'ies'} BROKEN")
    if unmet:
        verdict.append(f"{len(unmet)} expectation{'s' if len(unmet) != 1 else ''} NOT MET")
    head = (f"lockcheck diff {report.old_label} -> {report.new_label}: {n} spec{'s' if n != 1 else ''}, "
            f"{len(changed)} changed, " + (", ".join(verdict) or "nothing broken"))
    out = [head]
    for s in changed:
        out.append("")
        if s.old is None:
            out.append(f"{s.name}: new spec")
        elif s.new is None:
            out.append(f"{s.name}: spec removed")
        else:
            out.append(f"{s.name}:")
        for side, label in ((s.old, "old"), (s.new, "new")):
            if side is not None and side.error:
                first = side.error.splitlines()[0]
                out.append(f"  {label} version does not load: {first}")
        if not (s.old and s.old.result) and s.new is not None and s.new.result is not None:
            bad = [p.name for p in s.new.result.properties if p.as_expected is False]
            out.append(f"  {len(s.new.result.properties)} properties"
                       + (f", not as expected: {', '.join(bad)}" if bad else ", all as expected"))
        for c in s.properties:
            out.append(f"  {_label(c):<9} {_describe(c)}")
            if traces and c.status in ("broken", "now-violated") and c.new is not None and c.new.trace is not None:
                trace = [f"            {c.new.message}"]
                trace.extend("          " + line if line.strip() else "" for line in
                             render_trace(c.new.trace).splitlines())
                if out:
                    parts.append(Part("\n".join(out)))
                parts.append(Part("\n".join(trace), omitted=f"            (counterexample left out to stay under "
                                  f"{max_chars or 0:,} characters; lockcheck diff without --max-chars prints it)"))
                out = []
        for e in s.edges_added:
            out.append(f"  lock order + {_edge(e)}")
        for e in s.edges_removed:
            out.append(f"  lock order - {_edge(e)}")
        if s.old and s.old.result and s.new and s.new.result:
            out.append(f"  states {_delta(*s.states)}, transitions {_delta(*s.transitions)}")
    unchanged = len(report.specs) - len(changed)
    if unchanged:
        out += ["", f"{unchanged} spec{'s' if unchanged != 1 else ''} unchanged (same verdicts, lock order and states)"]
    if broken:
        out += ["", "BROKEN: " + _by_spec([(spec, c.name) for spec, c in broken])
                + " (a property that held now fails; change the spec, or its expect line if the race is intended)"]
    if unmet:
        out += ["", "NOT MET: " + _by_spec(unmet)
                + " (the new version's expect lines say otherwise; change the spec or the expect line)"]
    if out:
        parts.append(Part("\n".join(out)))
    return fit(parts, None if max_chars is None else max_chars - 1) + "\n"


def diff_json(report: DiffReport) -> dict[str, Any]:
    from .report.json_report import span_json, trace_json, tool_version

    def edge(e: LockOrderEdge) -> dict[str, Any]:
        return {"held": e.held, "acquired": e.acquired, "thread": e.thread, "location": span_json(e.span)}

    def side(sd: Side | None) -> dict[str, Any] | None:
        if sd is None:
            return None
        stats = None
        if sd.result is not None:
            st = sd.result.stats
            stats = {"states": st.states, "transitions": st.transitions, "max_depth": st.max_depth,
                     "limit": st.limit}
        return {"path": sd.path, "error": sd.error or None, "stats": stats,
                "lock_order": [edge(e) for e in sd.edges]}

    specs = []
    for s in report.specs:
        specs.append({
            "name": s.name, "changed": s.changed, "old": side(s.old), "new": side(s.new),
            "properties": [{
                "name": c.name, "kind": c.kind, "status": c.status, "old_verdict": c.old_verdict,
                "new_verdict": c.new_verdict, "old_expected": c.old_expected, "new_expected": c.new_expected,
                "old_trace_length": c.old_length, "new_trace_length": c.new_length,
                "met": None if c.new is None else c.new.as_expected,
                "trace": (trace_json(c.new.trace, s.name, c.name)
                          if c.status in ("broken", "now-violated") and c.new and c.new.trace else None),
            } for c in s.properties],
            "lock_order_added": [edge(e) for e in s.edges_added],
            "lock_order_removed": [edge(e) for e in s.edges_removed],
        })
    return {"format": FORMAT, "version": VERSION, "tool": {"name": "lockcheck", "version": tool_version()},
            "old": report.old_label, "new": report.new_label, "exit_code": report.exit_code,
            "broken": [{"spec": spec, "property": c.name} for spec, c in report.broken],
            "unmet": [{"spec": spec, "property": name} for spec, name in report.unmet], "specs": specs}


__all__ = ["DiffError", "DiffReport", "SpecDiff", "PropertyChange", "diff_paths", "diff_rev",
           "render_diff_text", "diff_json", "compare", "is_spec"]
