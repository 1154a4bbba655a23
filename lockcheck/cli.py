"""The command line: the only place that prints or exits."""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import NoReturn, TextIO

from typing import Callable, Iterator

from .api import Options, state_graph, verify
from .engines.errors import INTERRUPTED, LocalLoopError
from .engines.explicit import SearchProgress as Progress
from .errors import Diagnostic, Sources, SpecError, format_diagnostic
from .report.dot import write_dot
from .report.text import render_result
from .result import ViolationFound
from .source import printable, printable_lines

EXIT_OK, EXIT_UNEXPECTED, EXIT_SPEC_ERROR, EXIT_LIMIT = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # exit code 2 with a one-line reason, as for bad specs
        self.print_usage(sys.stderr)
        raise SpecError(message)


class _VersionAsked(Exception):
    pass


class _Version(argparse.Action):
    """--version: printed by main (argparse's own action would exit from inside the parser)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object):
        super().__init__(option_strings, dest, nargs=0, help="print lockcheck's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        raise _VersionAsked()


def version_text() -> str:
    from . import DISTRIBUTION, __version__

    return f"lockcheck {__version__} ({DISTRIBUTION})"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _size(text: str) -> int:
    """A memory size: bytes, or a number with K, M, G or T (powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().removesuffix("B")
    scale = units.get(t[-1:], 1)
    try:
        value = float(t[:-1] if t[-1:] in units else t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size (say 2G, 500M or a number of bytes)") from None
    if value < 1 << 20:
        raise argparse.ArgumentTypeError(f"'{text}' is less than 1M")
    return int(value)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _define(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"-D wants NAME=VALUE, not '{text}'")
    return name.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lockcheck", description="Model checker for locking races in kernel code paths.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("specs", nargs="+", metavar="SPEC", help=".lk files, or folders to search for them")
        p.add_argument("-D", dest="defines", action="append", type=_define, default=[], metavar="NAME=VALUE",
                       help="override a const of the spec")
        p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                       help="search DIR for imports (after the spec's own folder)")

    v = sub.add_parser("verify", help="explore every interleaving and check every property")
    common(v)
    v.add_argument("--max-states", type=_positive, default=None,
                   help="stop after N states (exit 3; default: no count limit, only --max-memory)")
    v.add_argument("--max-memory", type=_size, default=None, metavar="SIZE",
                   help="stop the explicit search when the process uses more than SIZE, e.g. 4G (exit 3; "
                        "default: half of the machine's memory)")
    v.add_argument("--max-depth", type=_positive, default=1_000_000, help="explore at most N steps deep (exit 3)")
    v.add_argument("-v", "--verbose", action="store_true", help="list every built-in check in the table")
    v.add_argument("--engine", choices=["explicit", "bmc", "induction", "pdr", "auto"], default="explicit",
                   help="explicit-state search (default), bounded model checking, k-induction or PDR (Spacer) "
                        "with Z3, or auto: explicit, then induction if a limit stops it")
    v.add_argument("--depth", type=_positive, default=None,
                   help="steps for bmc (default 30) or the largest k for induction (default 4)")
    v.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="bound on the explicit search's time and on Z3's (exit 3)")
    v.add_argument("--property", dest="properties", action="append", default=[], metavar="NAME",
                   help="check and report only this property (repeatable; a pattern such as '*.requires' too; "
                        "the built-in checks by their names, e.g. deadlock): bmc, induction and pdr spend their "
                        "time on it alone")
    v.add_argument("--more-candidates", action="store_true",
                   help="induction: also try the costlier shapes of candidate invariants (proves more, slower)")
    v.add_argument("--coverage", action="store_true", help="list every statement that never ran")
    v.add_argument("--fail-on-uncovered", action="store_true",
                   help="exit 1 when some statement never ran (a racy path that never runs passes vacuously)")
    v.add_argument("--progress", action="store_true", help="a progress line on stderr even when it is not a terminal")
    v.add_argument("-q", "--quiet", action="store_true",
                   help="for gates: no progress line, print only what is not as expected, then a summary line")
    v.add_argument("--no-reduction", action="store_true",
                   help="explicit engine: explore every interleaving (no partial-order reduction; the "
                        "verdicts and traces are the same, the state counts larger)")
    v.add_argument("--no-symmetry", action="store_true",
                   help="explicit engine: explore interchangeable thread instances (w[0], w[1], ...) as "
                        "distinct, not one state per class of states equal up to renaming them (same verdicts "
                        "and traces, larger state counts)")
    v.add_argument("--fingerprints", action="store_true",
                   help="(the default now: the explicit engine stores a 64-bit fingerprint per state)")

    c = sub.add_parser("check", help="parse, resolve and type-check only")
    common(c)

    g = sub.add_parser("graph", help="write the reachable state graph as DOT")
    common(g)
    g.add_argument("-o", "--output", required=True, help="the .dot file to write")
    g.add_argument("--max-states", type=_positive, default=5_000, help="refuse graphs larger than N states")
    g.add_argument("--max-depth", type=_positive, default=1_000_000)
    g.add_argument("--locks", action="store_true",
                   help="write the lock-order graph instead (locks as nodes, an edge A -> B when a thread takes B "
                        "holding A; cycles in red)")
    _report_arguments(v)
    _diff_parser(sub)
    return parser


def _report_arguments(v: argparse.ArgumentParser) -> None:
    v.add_argument("--format", choices=["text", "json", "sarif", "junit"], default="text",
                   help="text (default), json (docs/output.md), sarif (SARIF 2.1.0 for code scanning), junit (XML); "
                        "one document for all the specs")
    v.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout (-: stdout)")
    v.add_argument("--trace", choices=["text", "mermaid"], default="text",
                   help="mermaid: markdown with each counterexample as a Mermaid sequence diagram (text format only)")
    v.add_argument("--html", metavar="FILE", help="also write the results as one self-contained HTML page")
    v.add_argument("--max-chars", type=_positive, default=None, metavar="N",
                   help="--trace mermaid: at most N characters (a review comment holds 65,536); diagrams are left "
                        "out, those of expected violations first, until it fits")


def _diff_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("diff", help="semantic diff of two versions of the specs (files, or a git revision)")
    d.add_argument("paths", nargs="*", metavar="PATH",
                   help="OLD NEW (two files or folders); with --rev, the specs to compare (default specs/)")
    d.add_argument("--rev", metavar="REV", help="compare the specs at git revision REV with the working tree")
    d.add_argument("--format", choices=["text", "json"], default="text")
    d.add_argument("-o", "--output", metavar="FILE", help="write the diff to FILE instead of stdout (-: stdout)")
    d.add_argument("--no-traces", action="store_true", help="do not print the new counterexamples")
    d.add_argument("--max-chars", type=_positive, default=None, metavar="N",
                   help="at most N characters (a review comment holds 65,536): counterexamples are left out, "
                        "last first, until it fits")
    d.add_argument("-D", dest="defines", action="append", type=_define, default=[], metavar="NAME=VALUE")
    d.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")
    d.add_argument("--max-states", type=_positive, default=None)
    d.add_argument("--max-depth", type=_positive, default=1_000_000)


def _to_file(output: str | None) -> bool:
    return bool(output) and output != "-"


def _write(text: str, output: str | None, stdout: TextIO) -> None:
    if _to_file(output):
        assert output is not None
        try:
            with open(output, "w", encoding="utf-8", errors="backslashreplace") as out:
                out.write(text)
        except OSError as err:
            raise SpecError(f"cannot write {output}: {err.strerror or err}") from None
    else:
        stdout.write(text)


def _check_writable(args: argparse.Namespace) -> None:
    """--output, --html and graph -o: refused before the run, not after it."""
    for output in (getattr(args, "output", None), getattr(args, "html", None)):
        if output is None or not _to_file(output):
            continue
        folder = os.path.dirname(os.path.abspath(output))
        if os.path.isdir(output):
            raise SpecError(f"cannot write {output}: it is a folder")
        if not os.path.isdir(folder):
            raise SpecError(f"cannot write {output}: no folder {folder}")
        if not os.access(output if os.path.exists(output) else folder, os.W_OK):
            raise SpecError(f"cannot write {output}: permission denied")


def _diff(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    import json

    from .diff import DiffError, diff_json, diff_paths, diff_rev, render_diff_text

    options = Options(include_dirs=args.include_dirs, defines=dict(args.defines), max_states=args.max_states,
                      max_depth=args.max_depth)
    try:
        if args.rev:
            report = diff_rev(args.rev, args.paths, options)
        elif len(args.paths) == 2:
            report = diff_paths(args.paths[0], args.paths[1], options)
        else:
            raise DiffError("give OLD NEW, or --rev REV [PATH ...]")
    except DiffError as err:
        print(f"lockcheck diff: error: {err}", file=stderr)
        return EXIT_SPEC_ERROR
    if args.format == "json":
        text = json.dumps(diff_json(report), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_diff_text(report, traces=not args.no_traces, max_chars=args.max_chars)
    for spec in report.specs:
        if spec.new is not None and spec.new.error:
            print(spec.new.error, file=stderr)
    _write(text, args.output, stdout)
    return report.exit_code


def _finish_report(args: argparse.Namespace, run: object, codes: list[int], text: str, stdout: TextIO,
                   stderr: TextIO, summary: str) -> None:
    """verify --format/--output/--html: the one document for every spec of the run. A
    document written to a file leaves stdout to the -q text (what is not as expected, and
    the summary line); one written to stdout sends the summary to stderr."""
    from .report.json_report import Run

    assert isinstance(run, Run)
    run.exit_code = next((c for c in (EXIT_SPEC_ERROR, EXIT_UNEXPECTED, EXIT_LIMIT) if c in codes), EXIT_OK)
    if args.format != "text" and _to_file(args.output):
        from .report.text import render_result

        shown = [render_result(r, verbose=args.verbose, quiet=True) for r in run.results]
        stdout.write("".join(s + "\n\n" for s in shown if s) + summary + "\n")
    elif args.format != "text" and summary:
        print(summary, file=stderr)
    elif summary:
        text += summary + "\n"
    if args.format == "json":
        from .report.json_report import render_json

        text = render_json(run)
    elif args.format == "sarif":
        from .report.sarif import render_sarif

        text = render_sarif(run)
    elif args.format == "junit":
        from .report.junit import render_junit

        text = render_junit(run)
    elif args.trace == "mermaid" and args.max_chars:
        from .report.mermaid import render_markdown_run

        text = printable_lines(render_markdown_run(run.results, verbose=args.verbose, max_chars=args.max_chars))
    _write(text, args.output, stdout)   # the text report was collected too: it goes where the document goes
    if args.html:
        from .report.html import render_html

        _write(render_html(run), args.html, stdout)


def _spec_files(args: list[str]) -> list[str]:
    files: list[str] = []
    for arg in args:
        path = Path(arg)
        try:
            is_dir = path.is_dir()
        except (OSError, ValueError) as err:
            raise SpecError(f"cannot read {arg}: {getattr(err, 'strerror', None) or err}") from None
        if is_dir:
            found = sorted(str(p) for p in path.rglob("*.lk"))
            if not found:
                raise SpecError(f"no .lk files under {arg}")
            files.extend(found)
        else:
            files.append(arg)
    return files


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    try:
        with _sigterm_as_interrupt():
            return _main(argv, stdout, stderr)
    except KeyboardInterrupt:   # a second Ctrl-C while the partial report was being written
        print("lockcheck: interrupted", file=stderr or sys.stderr)
        return EXIT_LIMIT
    except BrokenPipeError:  # `lockcheck verify ... | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_UNEXPECTED


def _main(argv: list[str] | None, stdout: TextIO | None, stderr: TextIO | None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    sources = Sources()
    try:
        try:
            args = build_parser().parse_args(argv)
        except _VersionAsked:
            print(version_text(), file=stdout)
            return EXIT_OK
        if args.command == "diff":
            return _diff(args, stdout, stderr)
        options = Options(include_dirs=args.include_dirs, defines=dict(args.defines),
                          max_states=getattr(args, "max_states", None),
                          max_memory=getattr(args, "max_memory", None),
                          max_depth=getattr(args, "max_depth", 1_000_000),
                          fingerprints=getattr(args, "fingerprints", False),
                          engine=getattr(args, "engine", "explicit"), depth=getattr(args, "depth", None),
                          timeout=getattr(args, "timeout", None),
                          more_candidates=getattr(args, "more_candidates", False),
                          reduction=not getattr(args, "no_reduction", False),
                          symmetry=not getattr(args, "no_symmetry", False),
                          properties=tuple(getattr(args, "properties", [])))
        files = _spec_files(args.specs)
        _check_writable(args)
    except SpecError as err:
        print(format_diagnostic(err.diagnostic, sources), file=stderr)
        return EXIT_SPEC_ERROR
    codes: list[int] = []
    report = None   # verify --format/--output/--html: collect every spec's result for one document
    if args.command == "verify" and (args.format != "text" or args.output or args.html or args.trace != "text"):
        import io

        from .report.json_report import LoadError, Run

        if args.trace != "text" and args.format != "text":
            print("lockcheck: error: --trace mermaid goes with --format text", file=stderr)
            return EXIT_SPEC_ERROR
        buffer = io.StringIO()
        report, real_stdout, stdout = Run(), stdout, buffer
        args.report_run = report
    args.checked = []   # every spec's Result, for the summary line
    started = time.monotonic()
    for path in files:
        failure = ""
        span = None
        try:
            codes.append(_run_one(args, path, options, sources, stdout, stderr))
        except KeyboardInterrupt:   # before or after the engine ran (the engines keep what they found)
            print(f"{printable(path)}: interrupted", file=stderr)
            codes.append(EXIT_LIMIT)
            args.interrupted = True
        except MemoryError:
            failure = f"{printable(path)}: error: out of memory"
        except SpecError as err:
            failure, span = format_diagnostic(err.diagnostic, sources), err.diagnostic.span
        except LocalLoopError as err:
            failure, span = format_diagnostic(Diagnostic(str(err), err.span), sources), err.span
        except RecursionError:
            failure = (f"{printable(path)}: error: the spec is nested too deeply to check (an expression, or a "
                       "built-in check over every element of a large array); make the arrays smaller (-D)")
        if failure:
            print(failure, file=stderr)
            codes.append(EXIT_SPEC_ERROR)
            if report is not None:
                report.errors.append(LoadError(path, failure, span))
        if getattr(args, "interrupted", False):
            break   # Ctrl-C or SIGTERM: report what was found, check no further spec
    summary = ""
    if args.command == "verify":
        from .report.text import summary_line

        summary = summary_line(args.checked, codes.count(EXIT_SPEC_ERROR), time.monotonic() - started)
        if len(files) == 1 and not args.quiet and not (args.format != "text" and _to_file(args.output)):
            summary = ""   # one spec's report ends with its own statistics
    if report is not None:
        try:
            _finish_report(args, report, codes, buffer.getvalue(), real_stdout, stderr, summary)
        except SpecError as err:
            print(format_diagnostic(err.diagnostic, sources), file=stderr)
            return EXIT_SPEC_ERROR
    elif summary:
        print(_paint(summary, stdout), file=stdout)
    if getattr(args, "interrupted", False):
        return EXIT_LIMIT
    for severity in (EXIT_SPEC_ERROR, EXIT_UNEXPECTED, EXIT_LIMIT):
        if severity in codes:
            return severity
    return EXIT_OK


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does: exit 3 with what was found. The handler raises
    KeyboardInterrupt, which the engines catch; it runs only between Python bytecodes, so a
    thread woken by the signal also interrupts Z3, which may be in a long check. (Ctrl-C
    needs no help: Z3 answers SIGINT itself.) Outside the main thread: nothing."""
    import os
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def relay() -> None:
        while True:
            try:
                data = os.read(read_end, 64)
            except OSError:
                return
            if not data or b"\x00" in data:
                return
            if bytes([signal.SIGTERM]) in data and "z3" in sys.modules:
                sys.modules["z3"].main_ctx().interrupt()

    old_handler = signal.signal(signal.SIGTERM, on_sigterm)
    old_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    thread = threading.Thread(target=relay, name="lockcheck-sigterm", daemon=True)
    thread.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGTERM, old_handler)
        os.write(write_end, b"\x00")   # the relay thread ends
        thread.join(timeout=1)
        os.close(write_end)
        os.close(read_end)


def _progress_printer(args: argparse.Namespace, stderr: TextIO) -> Callable[[Progress], None] | None:
    """Every couple of seconds on stderr, when it is a terminal (or with --progress)."""
    tty = stderr.isatty()
    if args.quiet or not (args.progress or tty):
        return None
    last = [-1e9]

    def show(p: Progress) -> None:
        if p.seconds - last[0] < 2.0:
            return
        last[0] = p.seconds
        rate = p.states / p.seconds if p.seconds else 0.0
        line = (f"{p.seconds:.0f} s, {p.states:,} states, {rate:,.0f} states/s, depth {p.depth}, "
                f"frontier {p.frontier:,}, {p.memory / (1 << 20):,.0f} MB")
        if tty:
            print(f"\r{line}\033[K", end="", file=stderr, flush=True)
        else:
            print(line, file=stderr, flush=True)

    return show


def _step_teller(args: argparse.Namespace, stderr: TextIO) -> Callable[[str], None] | None:
    """What a symbolic engine is doing (bmc's depth, induction's k, the property Spacer is
    asked about), with the time so far, where the progress line would show."""
    tty = stderr.isatty()
    if args.quiet or not (args.progress or tty):
        return None
    started = time.monotonic()

    def tell(text: str) -> None:
        line = f"{time.monotonic() - started:.0f} s, {printable(text)}"
        if tty:
            print(f"\r{line}\033[K", end="", file=stderr, flush=True)
        else:
            print(line, file=stderr, flush=True)

    return tell


def _violation_teller(args: argparse.Namespace, stderr: TextIO) -> Callable[[ViolationFound], None] | None:
    """Each property's first violation on stderr as the explicit search finds it, where the
    progress line would show (a terminal, or --progress): on a long run the developer learns
    of a race minutes before the report. -q keeps only the unexpected ones. stderr, so a
    report on stdout (text, json, sarif) stays as it is."""
    if not (args.progress or stderr.isatty()):
        return None
    started = time.monotonic()
    tty = stderr.isatty()

    def tell(found: ViolationFound) -> None:
        if args.quiet and found.expected:
            return
        how = ("as expected; trace at the end" if found.expected else
               "UNEXPECTED; trace at the end, or now with Ctrl-C, which stops the search")
        line = (f"found: {printable(found.spec)}: {printable(found.prop)} violated at depth {found.depth} "
                f"after {time.monotonic() - started:.1f} s ({how})")
        print(("\r\033[K" if tty else "") + _paint(line, stderr), file=stderr, flush=True)

    return tell


def _run_one(args: argparse.Namespace, path: str, options: Options, sources: Sources, stdout: TextIO,
             stderr: TextIO) -> int:
    if args.command == "check":
        from .api import load_model

        model = load_model(path, options, sources)
        print(f"{path}: ok ({len(model.threads)} threads, {len(model.slots)} state variables, "
              f"{len(model.properties)} properties)", file=stdout)
        return EXIT_OK
    if args.command == "graph" and args.locks:
        from dataclasses import replace

        from .api import verify_lock_order
        from .report.locks import cyclic_edges, locks_to_dot

        # the whole exploration is needed, not a drawable graph: --max-states 5000 is the state graph's default
        lock_options = replace(options, max_states=None) if options.max_states == 5_000 else options
        result, edges = verify_lock_order(path, lock_options, sources)
        _write(locks_to_dot(edges), args.output, stdout)
        locks = {n for e in edges for n in (e.held, e.acquired)}
        print(f"{path}: wrote {len(locks)} locks and {len(edges)} lock-order edges "
              f"({len(cyclic_edges(edges))} on a cycle) to {args.output}", file=stdout)
        return EXIT_LIMIT if result.stats.limit else EXIT_OK
    if args.command == "graph":
        graph, cut = state_graph(path, options, sources)
        if cut:
            print(f"{path}: the state graph has more than {options.max_states} states; not written. "
                  f"Raise --max-states or make the spec smaller (e.g. -D NPAGES=1).", file=stdout)
            return EXIT_LIMIT
        try:
            write_dot(graph, args.output)
        except OSError as err:
            raise SpecError(f"cannot write {args.output}: {err.strerror or err}") from None
        print(f"{path}: wrote {graph.number_of_nodes()} states and {graph.number_of_edges()} steps "
              f"to {args.output}", file=stdout)
        return EXIT_OK
    printer = _progress_printer(args, stderr)
    result = verify(path, options, sources, printer, _violation_teller(args, stderr), _step_teller(args, stderr))
    if result.stats.limit == INTERRUPTED:
        args.interrupted = True
    if printer is not None and stderr.isatty():
        print("\r\033[K", end="", file=stderr, flush=True)
    if getattr(args, "report_run", None) is not None:
        args.report_run.results.append(result)
    args.checked.append(result)
    if args.trace == "mermaid":
        from .report.mermaid import render_markdown

        print(printable_lines(render_markdown(result, verbose=args.verbose)), file=stdout)
    else:
        text = render_result(result, verbose=args.verbose, coverage=args.coverage, quiet=args.quiet)
        if text:
            print(_paint(text, stdout), file=stdout)
    if args.fail_on_uncovered and any(c.unreached for c in result.coverage):
        print(f"{path}: some statements never ran (--fail-on-uncovered)", file=stdout)
        return EXIT_UNEXPECTED
    if not args.quiet or result.exit_code != 0 or result.warnings:
        print(file=stdout)
    return result.exit_code


_COLOURS = [   # (pattern, SGR code): the text report's words that matter, on a terminal
    (re.compile(r"UNEXPECTED|^-- \S+ violated \(UNEXPECTED\)$|\d+ UNEXPECTED \([^)]*\)", re.M), "1;31"),
    (re.compile(r"\((?:ok|as expected)\)|every expectation met"), "32"),
    (re.compile(r"^== .*$", re.M), "1"),
    (re.compile(r"^(?:warning|stopped at)\b.*$", re.M), "33"),
    (re.compile(r"\bunknown\b"), "33"),
]


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str) -> str:
    for pattern, code in _COLOURS:
        text = pattern.sub(lambda m: f"\033[{code}m{m.group(0)}\033[0m", text)
    return text


def _paint(text: str, stream: TextIO) -> str:
    return paint(text) if use_colour(stream) else text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
