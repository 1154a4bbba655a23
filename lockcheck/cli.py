"""The command line: the only place that prints or exits."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from typing import Callable

from .api import Options, state_graph, verify
from .engines.explicit import Progress
from .engines.explicit import LocalLoopError
from .errors import Diagnostic, Sources, SpecError, format_diagnostic
from .report.dot import write_dot
from .report.text import render_result

EXIT_OK, EXIT_UNEXPECTED, EXIT_SPEC_ERROR, EXIT_LIMIT = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit code 2 with a one-line reason, as for bad specs
        self.print_usage(sys.stderr)
        raise SpecError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _define(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"-D wants NAME=VALUE, not '{text}'")
    return name.strip(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lockcheck", description="Model checker for locking races in kernel code paths.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("specs", nargs="+", metavar="SPEC", help=".lk files, or folders to search for them")
        p.add_argument("-D", dest="defines", action="append", type=_define, default=[], metavar="NAME=VALUE",
                       help="override a const of the spec")
        p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                       help="search DIR for imports (after the spec's own folder)")

    v = sub.add_parser("verify", help="explore every interleaving and check every property")
    common(v)
    v.add_argument("--max-states", type=_positive, default=2_000_000, help="stop after N states (exit 3)")
    v.add_argument("--max-depth", type=_positive, default=1_000_000, help="explore at most N steps deep (exit 3)")
    v.add_argument("-v", "--verbose", action="store_true", help="list every built-in check in the table")
    v.add_argument("--engine", choices=["explicit", "bmc", "induction", "pdr", "auto"], default="explicit",
                   help="explicit-state search (default), bounded model checking, k-induction or PDR (Spacer) "
                        "with Z3, or auto: explicit, then induction if a limit stops it")
    v.add_argument("--depth", type=_positive, default=None,
                   help="steps for bmc (default 30) or the largest k for induction (default 4)")
    v.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="bound on Z3's time")
    v.add_argument("--more-candidates", action="store_true",
                   help="induction: also try the costlier shapes of candidate invariants (proves more, slower)")
    v.add_argument("--coverage", action="store_true", help="list every statement that never ran")
    v.add_argument("--fail-on-uncovered", action="store_true",
                   help="exit 1 when some statement never ran (a racy path that never runs passes vacuously)")
    v.add_argument("--progress", action="store_true", help="a progress line on stderr even when it is not a terminal")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    v.add_argument("--fingerprints", action="store_true",
                   help="store a 64-bit hash per state, not the state (big runs: about 90 bytes a state)")

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
    v.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    v.add_argument("--trace", choices=["text", "mermaid"], default="text",
                   help="mermaid: markdown with each counterexample as a Mermaid sequence diagram (text format only)")
    v.add_argument("--html", metavar="FILE", help="also write the results as one self-contained HTML page")


def _diff_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("diff", help="semantic diff of two versions of the specs (files, or a git revision)")
    d.add_argument("paths", nargs="*", metavar="PATH",
                   help="OLD NEW (two files or folders); with --rev, the specs to compare (default specs/)")
    d.add_argument("--rev", metavar="REV", help="compare the specs at git revision REV with the working tree")
    d.add_argument("--format", choices=["text", "json"], default="text")
    d.add_argument("--output", metavar="FILE", help="write the diff to FILE instead of stdout")
    d.add_argument("--no-traces", action="store_true", help="do not print the new counterexamples")
    d.add_argument("-D", dest="defines", action="append", type=_define, default=[], metavar="NAME=VALUE")
    d.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR")
    d.add_argument("--max-states", type=_positive, default=2_000_000)
    d.add_argument("--max-depth", type=_positive, default=1_000_000)


def _write(text: str, output: str | None, stdout: TextIO) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        stdout.write(text)


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
        text = render_diff_text(report, traces=not args.no_traces)
    for spec in report.specs:
        if spec.new is not None and spec.new.error:
            print(spec.new.error, file=stderr)
    _write(text, args.output, stdout)
    return report.exit_code


def _finish_report(args: argparse.Namespace, run: object, codes: list[int], text: str, stdout: TextIO) -> None:
    """verify --format/--output/--html: the one document for every spec of the run."""
    from .report.json_report import Run

    assert isinstance(run, Run)
    run.exit_code = next((c for c in (EXIT_SPEC_ERROR, EXIT_UNEXPECTED, EXIT_LIMIT) if c in codes), EXIT_OK)
    if args.format == "json":
        from .report.json_report import render_json

        text = render_json(run)
    elif args.format == "sarif":
        from .report.sarif import render_sarif

        text = render_sarif(run)
    elif args.format == "junit":
        from .report.junit import render_junit

        text = render_junit(run)
    _write(text, args.output, stdout)   # the text report was collected too: it goes where the document goes
    if args.html:
        from .report.html import render_html

        _write(render_html(run), args.html, stdout)


def _spec_files(args: list[str]) -> list[str]:
    files: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.lk"))
            if not found:
                raise SpecError(f"no .lk files under {arg}")
            files.extend(found)
        else:
            files.append(arg)
    return files


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    try:
        return _main(argv, stdout, stderr)
    except BrokenPipeError:  # `lockcheck verify ... | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_UNEXPECTED


def _main(argv: list[str] | None, stdout: TextIO | None, stderr: TextIO | None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    sources = Sources()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "diff":
            return _diff(args, stdout, stderr)
        options = Options(include_dirs=args.include_dirs, defines=dict(args.defines),
                          max_states=getattr(args, "max_states", 2_000_000),
                          max_depth=getattr(args, "max_depth", 1_000_000),
                          fingerprints=getattr(args, "fingerprints", False),
                          engine=getattr(args, "engine", "explicit"), depth=getattr(args, "depth", None),
                          timeout=getattr(args, "timeout", None),
                          more_candidates=getattr(args, "more_candidates", False))
        files = _spec_files(args.specs)
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
        report, real_stdout, stdout = Run(), stdout, io.StringIO()
        args.report_run = report
    for path in files:
        failure = ""
        span = None
        try:
            codes.append(_run_one(args, path, options, sources, stdout, stderr))
        except SpecError as err:
            failure, span = format_diagnostic(err.diagnostic, sources), err.diagnostic.span
        except LocalLoopError as err:
            failure, span = format_diagnostic(Diagnostic(str(err), err.span), sources), err.span
        except RecursionError:
            failure = f"{path}: error: the spec is nested too deeply to check"
        if failure:
            print(failure, file=stderr)
            codes.append(EXIT_SPEC_ERROR)
            if report is not None:
                report.errors.append(LoadError(path, failure, span))
    if report is not None:
        _finish_report(args, report, codes, stdout.getvalue(), real_stdout)
    for severity in (EXIT_SPEC_ERROR, EXIT_UNEXPECTED, EXIT_LIMIT):
        if severity in codes:
            return severity
    return EXIT_OK


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
        line = f"{p.states:,} states, queue {p.queue:,}, depth {p.depth}, {rate:,.0f} states/s"
        if tty:
            print(f"\r{line}\033[K", end="", file=stderr, flush=True)
        else:
            print(line, file=stderr, flush=True)

    return show


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
        lock_options = replace(options, max_states=2_000_000) if options.max_states == 5_000 else options
        result, edges = verify_lock_order(path, lock_options, sources)
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(locks_to_dot(edges))
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
        write_dot(graph, args.output)
        print(f"{path}: wrote {graph.number_of_nodes()} states and {graph.number_of_edges()} steps "
              f"to {args.output}", file=stdout)
        return EXIT_OK
    printer = _progress_printer(args, stderr)
    result = verify(path, options, sources, printer)
    if printer is not None and stderr.isatty():
        print("\r\033[K", end="", file=stderr, flush=True)
    if getattr(args, "report_run", None) is not None:
        args.report_run.results.append(result)
    if args.trace == "mermaid":
        from .report.mermaid import render_markdown

        print(render_markdown(result, verbose=args.verbose), file=stdout)
    else:
        print(render_result(result, verbose=args.verbose, coverage=args.coverage), file=stdout)
    if args.fail_on_uncovered and any(c.unreached for c in result.coverage):
        print(f"{path}: some statements never ran (--fail-on-uncovered)", file=stdout)
        return EXIT_UNEXPECTED
    print(file=stdout)
    return result.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
