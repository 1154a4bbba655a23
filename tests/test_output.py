"""What a kernel developer sees: the public Python API, --version, -q and the summary line,
-o -, colour, the lockdep-shaped report, bounded review-comment forms, the HTML contents,
JSON memory and ITF values from data."""
from __future__ import annotations

import io
import json
import re

import pytest

import lockcheck
from lockcheck.cli import main, paint, use_colour
from lockcheck.report.bounded import Part, fit
from lockcheck.report.json_report import itf_trace
from lockcheck.report.mermaid import render_markdown_run
from lockcheck.result import Change, ThreadState, Trace, TraceStep
from lockcheck.source import Span

from conftest import REPO, SPECS, cli

# two threads each add STEP to n: (a's pc, b's pc) x n gives 4 states and 4 transitions by
# hand (start; a done; b done; both done), n = 2 * STEP at the end
TINY = """\
const STEP = 1;
int[0..2] n = 0;
thread a { n = n + STEP; }
thread b { n = n + STEP; }
invariant small: n <= 1;
expect violation small;
"""
INVERTED = str(REPO / "specs" / "truncate_lock_inverted.lk")
UNLOCK_EARLY = str(REPO / "specs" / "ext4_unlock_early.lk")


# ---- the Python API -------------------------------------------------------------------------

def test_public_api_names_exist_and_are_documented():
    for name in lockcheck.__all__:
        assert hasattr(lockcheck, name), name
    assert lockcheck.verify.__doc__ and "SpecError" in lockcheck.verify.__doc__
    assert "lockcheck.verify(" in lockcheck.__doc__
    readme = (REPO / "README.md").read_text()
    assert "lockcheck.verify(" in readme


def test_verify_returns_the_result_counted_by_hand(spec):
    path = spec(TINY)
    result = lockcheck.verify(path)
    assert isinstance(result, lockcheck.Result)
    assert (result.stats.states, result.stats.transitions, result.stats.max_depth) == (4, 4, 2)
    small = next(p for p in result.properties if p.name == "small")
    assert small.verdict == "violated" and small.as_expected and small.trace.length == 2
    assert result.exit_code == 0
    # STEP = 0: n stays 0, the expected violation does not happen (exit code 1, as the CLI's)
    quiet = lockcheck.verify(path, defines={"STEP": 0})
    assert quiet.stats.states == 4 and quiet.exit_code == 1
    assert next(p for p in quiet.properties if p.name == "small").verdict == "holds"
    limited = lockcheck.verify(path, max_states=2)
    assert limited.stats.limit and limited.exit_code == 3


def test_verify_with_a_symbolic_engine_and_options(spec):
    path = spec(TINY)
    bmc = lockcheck.verify(path, engine="bmc", depth=3)
    assert bmc.engine == "bmc" and next(p for p in bmc.properties if p.name == "small").verdict == "violated"
    same = lockcheck.verify(path, options=lockcheck.Options(defines={"STEP": "0"}))
    assert same.exit_code == 1


def test_verify_raises_spec_error_with_the_printed_diagnostic(spec):
    path = spec("int x = ;\n")
    with pytest.raises(lockcheck.SpecError) as caught:
        lockcheck.verify(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:1:") and "error:" in text and "^" in text
    assert caught.value.diagnostic.span.line == 1
    with pytest.raises(lockcheck.SpecError):
        lockcheck.verify(spec(TINY), defines={"NOPE": 1})


def test_version():
    code, out, _ = cli("--version")
    assert code == 0 and out == f"lockcheck {lockcheck.__version__} (kernel-lockcheck)\n"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'name = "kernel-lockcheck"' in pyproject and 'attr = "lockcheck.__version__"' in pyproject


# ---- the text report ------------------------------------------------------------------------

def test_quiet_prints_only_the_summary_when_all_is_as_expected(spec):
    path = spec(TINY)
    code, out, err = cli("verify", "-q", path)
    assert code == 0 and err == ""
    assert out == out.splitlines()[0] + "\n" and out.startswith("lockcheck: 1 spec, ")
    assert "every expectation met (1 expected violation)" in out


def test_quiet_prints_what_is_unexpected_then_the_summary(spec):
    good, bad = spec(TINY), spec(TINY.replace("expect violation", "expect holds"))
    code, out, _ = cli("verify", "-q", good, bad)
    assert code == 1
    assert good not in out and f"== {bad}" in out
    assert "-- small violated (UNEXPECTED)" in out and "deadlock" not in out   # only the unexpected row
    last = out.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(rf"lockcheck: 2 specs, \d+ properties: 1 UNEXPECTED \({re.escape(bad)}: small\), [\d.]+ s", last)


def test_a_multi_spec_run_ends_with_a_summary_line(spec):
    code, out, _ = cli("verify", spec(TINY), spec(TINY))
    assert code == 0
    assert out.rstrip("\n").splitlines()[-1].startswith("lockcheck: 2 specs, ")
    code, out, _ = cli("verify", spec(TINY))
    assert "lockcheck: 1 spec" not in out   # one spec: its own statistics line ends it


def test_output_dash_is_stdout(tmp_path, monkeypatch, spec):
    monkeypatch.chdir(tmp_path)
    path = spec(TINY)
    code, out, _ = cli("verify", "--format", "json", "-o", "-", path)
    assert code == 0 and json.loads(out)["specs"][0]["path"] == path
    code, out, _ = cli("verify", "-o", "-", path)
    assert "-- small violated" in out
    assert not (tmp_path / "-").exists()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_only_and_never_with_no_color(monkeypatch, spec):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    bad = spec(TINY.replace("expect violation", "expect holds"))
    out, err = _Tty(), io.StringIO()
    assert main(["verify", bad], out, err) == 1
    assert "\033[1;31mUNEXPECTED\033[0m" in out.getvalue()
    plain = io.StringIO()
    main(["verify", bad], plain, io.StringIO())
    assert "\033[" not in plain.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(_Tty())
    out = _Tty()
    main(["verify", bad], out, io.StringIO())
    assert "\033[" not in out.getvalue()
    # colour changes no visible character (tables stay aligned)
    text = "holds (ok)  violation (UNEXPECTED)\nwarning: x"
    assert re.sub(r"\033\[[\d;]*m", "", paint(text)) == text


def test_lock_order_and_deadlock_as_lockdep_prints_them():
    code, out, _ = cli("verify", INVERTED)
    assert code == 0
    lock_order = out[out.index("-- lock_order violated"):]
    block = lock_order[lock_order.index("as lockdep would print it:"):]
    lines = [line[3:] for line in block.splitlines()]
    assert "WARNING: possible circular locking dependency detected" in lines
    i = lines.index("flusher is trying to acquire lock:")
    assert lines[i + 1].startswith(" (invalidate_lock), at: invalidate_lock.lk:24")
    assert lines[lines.index("but task is already holding lock:") + 1] == " (pages[0].locked)"
    chain = lines.index("the existing dependency chain (in reverse order) is:")
    assert lines[chain + 2] == "-> #1 (pages[0].locked):" and "truncate holding invalidate_lock" in lines[chain + 3]
    assert lines[chain + 5] == "-> #0 (invalidate_lock):"
    scenario = lines.index(" Possible unsafe locking scenario:")
    table = [line.rstrip() for line in lines[scenario + 2:scenario + 8]]
    assert table[0].split() == ["CPU0", "CPU1"] and table[1].split() == ["----", "----"]
    # CPU0 (the flusher) holds the page lock, CPU1 (truncate) the invalidate lock, each wants the other
    assert table[2:] == ["  lock(pages[0].locked);", " " * 31 + "lock(invalidate_lock);",
                         " " * 31 + "lock(pages[0].locked);", "  lock(invalidate_lock);"]
    assert " *** DEADLOCK ***" in block
    deadlock = out[out.index("-- deadlock violated"):out.index("-- lock_order violated")]
    assert "truncate is blocked acquiring lock:" in deadlock and "Possible unsafe locking scenario" in deadlock


def test_no_lockdep_block_for_a_deadlock_that_is_not_a_lock_cycle(spec):
    path = spec("bool go = false;\nthread a { await go; }\nexpect violation deadlock;\n")
    code, out, _ = cli("verify", path)
    assert code == 0 and "-- deadlock violated" in out and "as lockdep would print it" not in out


# ---- bounded forms for review comments ----------------------------------------------------

def test_fit_leaves_out_detail_least_important_first():
    parts = [Part("head"), Part("a" * 50, "(a left out)", keep=1), Part("b" * 50, "(b left out)"), Part("tail")]
    assert fit(parts, None) == "head\n" + "a" * 50 + "\n" + "b" * 50 + "\ntail"
    text = fit(parts, 80)
    assert text == "head\n" + "a" * 50 + "\n(b left out)\ntail"
    assert fit(parts, 40) == "head\n(a left out)\n(b left out)\ntail"
    cut = fit([Part("\n".join(f"line {i}" for i in range(100))), Part("BROKEN: x")], 200)
    assert len(cut) <= 200 and cut.endswith("BROKEN: x") and "more lines cut" in cut


def test_mermaid_of_every_spec_fits_a_review_comment(shipped_specs, tmp_path):
    full = render_markdown_run(shipped_specs)
    short = render_markdown_run(shipped_specs, max_chars=20000)
    assert len(full) > 20000 >= len(short)
    heads = re.compile(r"^### ", re.M)
    assert len(heads.findall(short)) == len(heads.findall(full)) == len(SPECS)   # every spec's verdict table stays
    assert "(counterexample left out to keep this comment short" in short
    assert short.count("```mermaid") < full.count("```mermaid")
    # the command line: --max-chars with --trace mermaid gives the same bounded form
    code, out, _ = cli("verify", "--trace", "mermaid", "--max-chars", "3000", UNLOCK_EARLY)
    assert code == 0 and len(out) <= 3000 and "counterexample left out" in out


def test_diff_fits_a_review_comment(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    # ext4's ->writepage made to unlock early, its expect lines left at holds: four properties BROKEN
    early = (REPO / "specs" / "ext4_unlock_early.lk").read_text().replace("expect violation", "expect holds")
    (old / "ext4.lk").write_text((REPO / "specs" / "ext4.lk").read_text())
    (new / "ext4.lk").write_text(early)
    code, full, _ = cli("diff", str(old), str(new))
    code2, short, _ = cli("diff", "--max-chars", "3000", str(old), str(new))
    assert code == code2 == 1
    assert len(short) <= 3000 < len(full)
    assert "counterexample left out to stay under 3,000 characters" in short
    assert short.splitlines()[0] == full.splitlines()[0]                  # the headline
    assert short.rstrip("\n").splitlines()[-1] == full.rstrip("\n").splitlines()[-1]   # the BROKEN: line


# ---- HTML, JSON ---------------------------------------------------------------------------

def test_html_has_contents_with_anchors_and_leaves_out_idle_threads(tmp_path):
    page_file = tmp_path / "all.html"
    code, _, _ = cli("verify", "-q", "--html", str(page_file), UNLOCK_EARLY, INVERTED)
    page = page_file.read_text()
    nav = page[page.index('<nav class="toc">'):page.index("</nav>")]
    targets = re.findall(r'href="#([^"]+)"', nav)
    assert "spec-0" in targets and "spec-1" in targets and "spec-1-lock_order" in targets
    for target in targets:
        assert f'id="{target}"' in page, target
    # ext4_unlock_early's race: the bio_end threads take no step before it breaks
    article = page[page.index('id="spec-0-no_remove_under_writeback"'):]
    article = article[:article.index("</article>")]
    assert 'data-lane="bio_end[0]"' not in article and 'data-idle="bio_end[0]"' in article
    assert 'data-lane="truncate"' in article
    # a single spec has no contents
    code, _, _ = cli("verify", "-q", "--html", str(page_file), UNLOCK_EARLY)
    assert '<nav class="toc">' not in page_file.read_text()


def test_json_peak_memory_is_measured(spec):
    code, out, _ = cli("verify", "--format", "json", spec(TINY))
    assert json.loads(out)["specs"][0]["stats"]["peak_memory_mb"] > 1.0


def test_itf_values_come_from_the_data_not_the_printed_text():
    span = Span("x.lk", 1, 1)
    # an enum member printed as 'true' and an int: the data says what they are
    steps = (TraceStep(1, "a", "mode = ON", span, changes=(Change("mode", "false", "true", False, "false", "true"),
                                                          Change("n", "1", "2", False, 1, 2))),)
    trace = Trace(steps, (ThreadState("a", "finished"),), "breaks", (("mode", "true"),), ("true",))
    itf = itf_trace(trace, "x.lk", "p")
    assert itf["states"][0]["mode"] == "false" and itf["states"][1]["mode"] == "true"
    assert itf["states"][1]["n"] == 2 and itf["states"][0]["n"] == 1
    big = Trace((TraceStep(1, "a", "n = N", span, changes=(Change("n", "0", "x", False, 0, 2 ** 60),)),),
                (), "", ())
    assert itf_trace(big, "x.lk", "p")["states"][1]["n"] == {"#bigint": str(2 ** 60)}


def test_itf_of_a_real_trace_has_typed_values(spec):
    result = lockcheck.verify(UNLOCK_EARLY)
    p = next(p for p in result.properties if p.name == "no_remove_under_writeback")
    states = itf_trace(p.trace, UNLOCK_EARLY, p.name)["states"]
    assert states[0]["pages[0].writeback"] is False and states[-1]["pages[0].writeback"] is True
    assert states[0]["pages[0].locked"] == "free" and states[1]["pages[0].locked"] == "held by flusher"
    assert all(c.old_value is not None for s in p.trace.steps for c in s.changes)


# ---- where imports are found --------------------------------------------------------------

MY_MODEL = "bool flag = false;\nproc set_flag() { flag = true; }\n"
MY_SPEC = 'import "my_model.lk";\nthread a { set_flag(); }\ninvariant off: !flag;\nexpect violation off;\n'


def test_verify_and_diff_find_the_projects_models_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "specs" / "sub").mkdir(parents=True)
    (project / ".git").mkdir()            # the top of a repository: the search stops here
    (project / "models").mkdir()
    (project / "models" / "my_model.lk").write_text(MY_MODEL)
    (project / "specs" / "sub" / "mine.lk").write_text(MY_SPEC)
    monkeypatch.chdir(tmp_path)            # from outside the project, too
    result = lockcheck.verify(project / "specs" / "sub" / "mine.lk")
    assert result.exit_code == 0 and next(p for p in result.properties if p.name == "off").verdict == "violated"
    code, out, _ = cli("diff", str(project / "specs"), str(project / "specs"))
    assert code == 0 and "1 spec, 0 changed" in out
    # a models/ folder above the repository's top is not the project's
    (project / "models" / "my_model.lk").unlink()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "my_model.lk").write_text(MY_MODEL)
    with pytest.raises(lockcheck.SpecError, match='import "my_model.lk" not found'):
        lockcheck.verify(project / "specs" / "sub" / "mine.lk")


def test_a_spec_named_as_its_model_imports_the_model(tmp_path):
    """specs/my_model.lk importing "my_model.lk" means models/my_model.lk: a file is never its
    own import (it used to be found first, beside itself: an import cycle)."""
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / ".git").mkdir()
    (project / "models").mkdir()
    (project / "models" / "my_model.lk").write_text(MY_MODEL)
    (project / "specs" / "my_model.lk").write_text(MY_SPEC)
    result = lockcheck.verify(project / "specs" / "my_model.lk")
    assert result.exit_code == 0 and next(p for p in result.properties if p.name == "off").verdict == "violated"
    (project / "models" / "my_model.lk").unlink()   # with no other file of that name: not found
    with pytest.raises(lockcheck.SpecError, match='import "my_model.lk" not found'):
        lockcheck.verify(project / "specs" / "my_model.lk")
