"""expect unreached: statements a spec knowingly leaves unreached, with the reason."""
from __future__ import annotations

import json

import pytest

import lockcheck

from conftest import REPO, SPECS, cli

# `never` runs only if `go` is set when a tests it, and the b threads set it only after that
# (so no constant propagation rules it out: it is unreached, not unused); bump always runs
BASE = """\
bool go = false;
bool checked = false;
int[0..3] n = 0;
proc never() { n = 3; }
proc bump() { n = n + 1; }
thread a { if (go) { never(); } checked = true; bump(); }
thread b[2] { await checked; go = true; bump(); }
"""


def warnings(path: str) -> list[str]:
    return lockcheck.verify(path).warnings


def test_without_a_line_the_unreached_statement_is_a_warning(spec):
    (warning,) = warnings(spec(BASE))
    assert "a: 1 of" in warning and "never: n = 3" in warning


def test_a_proc_target_moves_it_to_accepted_with_the_reason(spec):
    path = spec(BASE + 'expect unreached never because "go is never set";\n')
    result = lockcheck.verify(path)
    assert result.warnings == []
    (cov,) = [c for c in result.coverage if c.thread == "a"]
    assert cov.unreached == () and [(t, why) for t, _, why in cov.accepted] == [("never: n = 3", "go is never set")]
    code, out, _ = cli("verify", "--coverage", path)
    assert "statements the spec expects to leave unreached" in out and "-- go is never set" in out
    code, out, _ = cli("verify", "--format", "json", path)
    (a,) = [c for c in json.loads(out)["specs"][0]["coverage"] if c["thread"] == "a"]
    assert a["accepted"][0]["reason"] == "go is never set" and a["accepted"][0]["location"]["line"] == 4


def test_a_line_target_and_a_thread(spec, tmp_path):
    path = spec(BASE + 'expect unreached "spec0.lk:4" in a because "go is never set";\n', "spec0.lk")
    assert warnings(path) == []
    wrong_thread = spec(BASE + 'expect unreached "spec1.lk:4" in b because "go is never set";\n', "spec1.lk")
    found = warnings(wrong_thread)
    assert len(found) == 2 and "a: 1 of" in found[0]
    assert "expect unreached \"spec1.lk:4\" in b: every statement it names ran" in found[1]


def test_a_line_naming_what_ran_is_a_warning(spec):
    path = spec(BASE + 'expect unreached never, bump because "stale";\n')
    (warning,) = warnings(path)
    assert warning.startswith("spec0.lk:8: expect unreached bump: every statement it names ran")


def test_no_warning_change_when_a_limit_stops_the_search(spec):
    path = spec(BASE + 'expect unreached bump because "stale, but the search stopped";\n')
    result = lockcheck.verify(path, max_states=2)
    assert result.stats.limit and result.warnings == []


@pytest.mark.parametrize("line, message", [
    ('expect unreached nevr because "x";', "there is no proc 'nevr' (did you mean 'never'?)"),
    ('expect unreached never in c because "x";', "there is no thread 'c'"),
    ('expect unreached "spec.lk" because "x";', 'give a proc\'s name or "file.lk:LINE"'),
    ('expect unreached never because "";', "needs a reason"),
])
def test_bad_lines_are_errors_with_a_caret(spec, line, message):
    path = spec(BASE + line + "\n")
    code, out, err = cli("verify", path)
    assert code == 2 and message in err and f"{path}:8:" in err and "^" in err
    code, _, err = cli("check", path)
    assert code == 2 and message in err


def test_unreached_and_because_stay_usable_as_names(spec):
    path = spec("bool unreached = false;\nbool because = true;\nthread a { unreached = because; }\n")
    assert lockcheck.verify(path).exit_code == 0


def test_the_shipped_specs_run_without_warnings(shipped_specs):
    """Every statement a shipped spec leaves unreached is explained by an expect unreached line
    (and each line still names something left unreached)."""
    assert len(shipped_specs) == len(SPECS)
    for result in shipped_specs:
        assert result.warnings == [], (result.spec, result.warnings)
        assert any(cov.accepted for cov in result.coverage) or not any(
            "expect unreached" in line for line in (REPO / result.spec).read_text().splitlines()), result.spec
        for cov in result.coverage:
            assert all(why for _, _, why in cov.accepted)


def test_coverage_warnings_are_written_once_after_the_lines_apply(spec):
    """The engine reports coverage as data only; api.py writes the warnings from it, once,
    after `expect unreached` moved what the spec accepts (no warning is filtered by its words)."""
    from lockcheck.api import Options, load_model
    from lockcheck.engines.explicit import SearchLimits, check_frontier
    from lockcheck.errors import Sources

    path = spec(BASE)
    engine, _ = check_frontier(load_model(path, Options(), Sources()), SearchLimits())
    assert engine.warnings == [] and [c.unreached for c in engine.coverage if c.thread == "a"][0]
    assert len(warnings(path)) == 1
    stale = spec(BASE + 'expect unreached never because "go is never set";\n'
                 'expect unreached bump because "it always runs";\n')
    (only,) = warnings(stale)
    assert "expect unreached bump" in only and "drop it from the line" in only
