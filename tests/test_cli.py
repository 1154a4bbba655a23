"""The CLI end to end on specs/: verdicts, exit codes, the trace a reviewer reads."""
import json
import re

import pytest

from conftest import REPO, SPECS, cli


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_every_spec_meets_its_expectations(path):
    code, out, err = cli("verify", str(path))
    assert code == 0, out + err
    assert "UNEXPECTED" not in out


def test_verify_a_folder():
    code, out, err = cli("verify", str(REPO / "specs"))
    assert code == 0, out + err
    assert sum(line.startswith("== ") for line in out.splitlines()) == len(SPECS)


def test_ext4_holds():
    code, out, err = cli("verify", str(REPO / "specs" / "ext4.lk"))
    assert code == 0
    assert "no_remove_under_writeback" in out and "violated" not in out
    assert "states," in out and "transitions" in out and "max depth" in out


def test_unlock_early_trace_reads_as_the_race():
    code, out, err = cli("verify", str(REPO / "specs" / "ext4_unlock_early.lk"))
    assert code == 0
    section = out.split("-- no_remove_under_writeback violated")[1].split("\n-- ")[0]
    # the race, top to bottom: flusher unlocks, truncate locks and removes, flusher sets writeback
    order = ["flusher   unlock_page: release pages[0].locked",
             "truncate  lock_page: acquire pages[0].locked",
             "truncate  truncate_inode_page",
             "pages[0].in_cache: true -> false",
             "flusher   set_page_writeback",
             "pages[0].writeback: false -> true"]
    positions = [section.index(s) for s in order]
    assert positions == sorted(positions), section


def test_truncate_nowait_trace_reads_as_the_race():
    code, out, err = cli("verify", str(REPO / "specs" / "ext4_truncate_nowait.lk"))
    assert code == 0
    section = out.split("-- no_remove_under_writeback violated")[1].split("\n-- ")[0]
    order = ["pages[0].writeback: false -> true", "release pages[0].locked",
             "truncate  lock_page: acquire pages[0].locked", "pages[0].in_cache: true -> false"]
    positions = [section.index(s) for s in order]
    assert positions == sorted(positions), section


def test_define_changes_the_size():
    small = cli("verify", str(REPO / "specs" / "ext4.lk"))[1]
    big = cli("verify", "-D", "NPAGES=3", str(REPO / "specs" / "ext4.lk"))[1]
    states = lambda out: int(out.strip().splitlines()[-1].split()[0])
    assert states(big) > states(small)


def test_max_states_stops_with_exit_three():
    code, out, err = cli("verify", "--max-states", "50", str(REPO / "specs" / "ext4.lk"))
    assert code == 3
    assert "stopped at --max-states 50" in out
    assert "unknown" in out


def test_max_states_keeps_what_it_found():
    # the violation is found early; the limit still stops the run, and the verdict stays
    code, out, err = cli("verify", "--max-states", "300", str(REPO / "specs" / "ext4_truncate_nowait.lk"))
    assert "no_remove_under_writeback" in out and "violated" in out
    assert code == 3


def test_max_depth():
    code, out, err = cli("verify", "--max-depth", "3", str(REPO / "specs" / "ext4.lk"))
    assert code == 3 and "stopped at --max-depth 3" in out


def test_check_command():
    code, out, err = cli("check", str(REPO / "specs" / "ext4.lk"))
    assert code == 0 and "ok (" in out


def test_graph_command(tmp_path):
    dot = tmp_path / "states.dot"
    code, out, err = cli("graph", str(REPO / "specs" / "ext4.lk"), "-D", "NPAGES=1", "-o", str(dot))
    assert code == 0, err
    text = dot.read_text()
    assert text.startswith("digraph states {")
    assert "flusher: lock_page: acquire p.locked" in text


def test_graph_refuses_big_graphs(tmp_path):
    dot = tmp_path / "states.dot"
    code, out, err = cli("graph", str(REPO / "specs" / "ext4.lk"), "--max-states", "10", "-o", str(dot))
    assert code == 3 and "more than 10 states" in out
    assert not dot.exists()


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "lockcheck", "check", str(REPO / "specs" / "ext4.lk")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "ok" in proc.stdout


@pytest.mark.parametrize("name", ["ext4.lk", "ext4_unlock_early.lk", "ext4_truncate_nowait.lk"])
def test_fingerprints_mode_gives_the_same_report(name):
    full = cli("verify", str(REPO / "specs" / name))
    hashed = cli("verify", "--fingerprints", str(REPO / "specs" / name))
    strip = lambda out: re.sub(r"max depth (\d+), .*", r"max depth \1", out)  # all but the timing
    assert full[0] == hashed[0]
    assert strip(full[1]) == strip(hashed[1])


def test_coverage_lists_statements_that_never_ran(spec):
    # u writes flag, but never true: x = 2 could run as far as the code goes, and never does
    path = spec("bool flag = false; int[0..2] x = 0;\n"
                "thread t {\n    if (flag) {\n        x = 2;\n    }\n    x = 1;\n}\n"
                "thread u { flag = false; }\n")
    code, out, err = cli("verify", path)
    assert code == 0
    assert "warning: t: 1 of 3 statements never ran: x = 2" in out
    code, out, err = cli("verify", "--coverage", path)
    assert "statements that never ran:" in out and ":4" in out
    code, out, err = cli("verify", "--fail-on-uncovered", path)
    assert code == 1


def test_statements_the_spec_cannot_run_are_not_a_coverage_warning(spec):
    # `quiet` is passed as the constant false and `mode` is never written: both ifs are
    # decided before any interleaving, so their bodies are unused, not unreached
    path = spec("bool mode = false; int[0..3] x = 0;\n"
                "proc work(bool quiet) {\n    if (!quiet) {\n        x = 1;\n    } else {\n        x = 2;\n    }\n"
                "    if (mode) {\n        x = 3;\n    }\n}\n"
                "thread t { work(false); }\n")
    code, out, _ = cli("verify", "--fail-on-uncovered", path)
    assert code == 0 and "never ran" not in out
    code, out, _ = cli("verify", "--coverage", path)
    unused = out[out.index("statements this spec cannot run"):]
    assert "x = 2" in unused and "x = 3" in unused and "x = 1" not in unused
    doc = json.loads(cli("verify", "--format", "json", path)[1])
    (cov,) = doc["specs"][0]["coverage"]
    assert cov["unreached"] == [] and sorted(u["statement"] for u in cov["unused"]) == ["work: x = 2", "work: x = 3"]


def test_a_thread_about_to_return_reads_as_returning():
    # after ->writepage ran, the flusher stands at the step that stores its result: shown as
    # the call statement alone, it would read as about to call ->writepage again
    code, out, _ = cli("verify", str(REPO / "specs" / "ext4_truncate_nowait.lk"))
    flusher = next(line for line in out.splitlines() if line.strip().startswith("flusher     ready"))
    assert "at write_cache_page: return from a_ops_writepage: aop ret = a_ops_writepage(pages[0]" in flusher


def test_progress_line_on_request():
    code, out, err = cli("verify", "--progress", "-D", "NPAGES=4", str(REPO / "specs" / "ext4.lk"))
    assert code == 0
    assert "states, " in err and "states/s" in err and "frontier" in err and " MB" in err
    code, out, err = cli("verify", "--quiet", str(REPO / "specs" / "ext4.lk"))
    assert err == ""


def test_readme_sample_is_what_lockcheck_prints():
    readme = (REPO / "README.md").read_text()
    start = readme.index("```\n-- no_remove_under_writeback violated") + 4
    sample = readme[start:readme.index("```", start)].rstrip()
    code, out, err = cli("verify", str(REPO / "specs" / "ext4_unlock_early.lk"))
    section = out[out.index("-- no_remove_under_writeback violated"):]
    section = section[:section.index("\n-- ")].rstrip()
    assert sample == section


LONG_RUN = """int[0..1] bad = 0;
int[0..100] a = 0;
int[0..100] b = 0;
int[0..100] c = 0;
invariant never_bad: bad == 0;
expect violation seen;

thread breaker { bad = 1; }
thread counta { while (a < 100) { a = a + 1; } }
thread countb { while (b < 100) { b = b + 1; } }
thread countc { while (c < 100) { c = c + 1; assert seen: c < 3; } }
"""


def test_a_violation_is_told_while_the_search_goes_on(tmp_path):
    # about 4 million states, many seconds: the first violations are told on stderr while the
    # process still runs, at the depth of the shortest counterexample that SIGTERM's report then shows
    import signal
    import subprocess
    import sys

    spec = tmp_path / "long.lk"
    spec.write_text(LONG_RUN)
    proc = subprocess.Popen([sys.executable, "-m", "lockcheck", "verify", "--progress", "--format", "json", str(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    told = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("found: "):
                told.append(line.rstrip("\n"))
                if len(told) == 2:
                    break
        running = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert running, "the run ended before the violations were told"
    told_re = re.compile(rf"found: {re.escape(str(spec))}: (\w+) violated at depth (\d+) after [\d.]+ s \((.*)\)")
    depths = {m[1]: (int(m[2]), m[3]) for m in map(told_re.fullmatch, told) if m}
    assert proc.returncode == 3
    doc = json.loads(out)   # stdout is the document alone
    lengths = {p["name"]: len([s for s in p["trace"]["steps"] if s["number"] is not None])
               for p in doc["specs"][0]["properties"] if p["verdict"] == "violated"}
    assert depths == {"never_bad": (lengths["never_bad"], "UNEXPECTED; trace at the end, or now with Ctrl-C, "
                                                          "which stops the search"),
                      "seen": (lengths["seen"], "as expected; trace at the end")}
    assert lengths["never_bad"] == 1 and lengths["seen"] > 1


def test_violations_are_told_only_where_progress_shows(spec):
    path = spec("int[0..1] bad = 0;\ninvariant never_bad: bad == 0;\nexpect violation never_bad;\n"
                "thread t { bad = 1; }\n")
    assert cli("verify", path)[2] == ""                       # not a terminal: nothing extra
    assert "found: " in cli("verify", "--progress", path)[2]
    assert "found: " not in cli("verify", "-q", "--progress", path)[2]   # -q: only the unexpected ones


def test_the_library_tells_violations_to_a_callback_and_prints_nothing(spec, capsys):
    import lockcheck

    path = spec("int[0..3] x = 0;\ninvariant small: x < 2;\nexpect violation small;\n"
                "thread t { x = 1; x = 2; assert never: x == 0; }\n")
    told: list[lockcheck.ViolationFound] = []
    result = lockcheck.verify(path, on_violation=told.append)
    assert capsys.readouterr() == ("", "")
    lengths = {p.name: p.trace.length for p in result.properties if p.trace is not None}
    assert {(f.prop, f.depth, f.expected) for f in told} == {("small", lengths["small"], True),
                                                              ("never", lengths["never"], False)}
    assert lengths == {"small": 2, "never": 3} and all(f.spec == path for f in told)
