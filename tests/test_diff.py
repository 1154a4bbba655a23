"""lockcheck diff: two versions of a spec, as files or at a git revision: what broke, new
counterexamples, lock-order edges, state counts; exit 1 when the change leaves a property
not as the new expect line says (a break, or an expectation not met), 0 when every change
is met."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conftest import REPO, cli

HEADER = "lock m;\nlock n;\nbool a = false;\nbool b = false;\n"
GOOD = HEADER + """thread t1 { acquire m; a = true; b = true; a = false; b = false; release m; }
thread t2 { acquire m; acquire n; release n; release m; }
invariant same: !locked(m) -> a == b;
expect holds same;
"""
# t1 drops m between the two writes; t2 now takes the locks the other way round
BROKEN = HEADER + """thread t1 { acquire m; a = true; release m; acquire m; b = true; a = false; b = false; release m; }
thread t2 { acquire n; acquire m; release m; release n; }
invariant same: !locked(m) -> a == b;
expect holds same;
"""


def test_diff_files_reports_the_break(tmp_path):
    old, new = tmp_path / "old.lk", tmp_path / "new.lk"
    old.write_text(GOOD)
    new.write_text(BROKEN)
    code, out, err = cli("diff", str(old), str(new))
    assert code == 1, out + err
    assert "1 property BROKEN" in out.splitlines()[0]
    assert "BROKEN    same: held, now violated; its expect line still says 'holds'; new counterexample, 3 steps" in out
    assert "t1        release m" in out          # the new counterexample, as a trace table
    assert "lock order + n -> m  (t2, new.lk:6)" in out
    assert "lock order - m -> n  (t2, old.lk:6)" in out
    assert "states 20 -> 39" in out


def test_diff_expect_changed_is_not_a_break(tmp_path):
    old, new = tmp_path / "old.lk", tmp_path / "new.lk"
    old.write_text(GOOD)
    new.write_text(BROKEN.replace("expect holds same;", "expect violation same;"))
    code, out, _ = cli("diff", str(old), str(new), "--no-traces")
    assert code == 0
    assert "same: held, now violated (expect changed holds -> violation)" in out
    assert "nothing broken" in out.splitlines()[0]


def test_diff_same_spec(tmp_path):
    old, new = tmp_path / "old.lk", tmp_path / "new.lk"
    old.write_text(GOOD)
    new.write_text(GOOD + "// a comment\n")
    code, out, _ = cli("diff", str(old), str(new))
    assert code == 0 and "1 spec unchanged" in out


def test_diff_json(tmp_path):
    old, new = tmp_path / "old.lk", tmp_path / "new.lk"
    old.write_text(GOOD)
    new.write_text(BROKEN)
    code, out, _ = cli("diff", "--format", "json", str(old), str(new))
    assert code == 1
    doc = json.loads(out)
    assert doc["format"] == "lockcheck-diff" and doc["exit_code"] == 1
    assert doc["broken"] == [{"spec": str(new), "property": "same"}]
    spec = doc["specs"][0]
    change = spec["properties"][0]
    assert (change["status"], change["old_verdict"], change["new_verdict"]) == ("broken", "holds", "violated")
    assert change["trace"]["length"] == 3 and len(change["trace"]["itf"]["states"]) == 4
    assert [(e["held"], e["acquired"]) for e in spec["lock_order_added"]] == [("n", "m")]
    assert spec["old"]["stats"]["states"] == 20 and spec["new"]["stats"]["states"] == 39


def test_diff_usage_errors(tmp_path):
    assert cli("diff", str(tmp_path / "x.lk"))[0] == 2
    assert cli("diff", str(tmp_path / "nope.lk"), str(tmp_path / "nope2.lk"))[0] == 2


def _count_checks(monkeypatch) -> list[str]:
    """The paths lockcheck diff explores, in order, as the test runs."""
    import lockcheck.diff

    checked: list[str] = []
    real_check = lockcheck.diff._check
    monkeypatch.setattr(lockcheck.diff, "_check", lambda path, options: checked.append(path) or real_check(path, options))
    return checked


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", *args], cwd=repo,
                   check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_rev_on_a_commit_that_breaks_a_spec(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    (repo / "specs" / "mini.lk").write_text(GOOD)
    shutil.copy(REPO / "specs" / "ext4.lk", repo / "specs" / "ext4.lk")   # imports the bundled models
    (repo / "models").mkdir()
    (repo / "models" / "note.lk").write_text("const UNUSED = 1;\n")      # a model file: not a spec
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    (repo / "specs" / "mini.lk").write_text(BROKEN)
    _git(repo, "commit", "-qam", "break mini")
    monkeypatch.chdir(repo)
    checked = _count_checks(monkeypatch)
    code, out, err = cli("diff", "--rev", "HEAD~1")
    assert code == 1, out + err
    # ext4.lk and the models it imports are the same at HEAD~1: explored once, not twice
    assert sorted(p.rsplit("/", 1)[-1] for p in checked) == ["ext4.lk", "mini.lk", "mini.lk"]
    lines = out.splitlines()
    assert lines[0].startswith("lockcheck diff HEAD~1 (") and "2 specs, 1 changed, 1 property BROKEN" in lines[0]
    assert "specs/mini.lk:" in lines
    assert "BROKEN: specs/mini.lk: same" in out
    assert "1 spec unchanged" in out                     # ext4.lk: same verdicts, lock order, states
    # the working tree is the commit: nothing changed
    code, out, _ = cli("diff", "--rev", "HEAD", "specs/mini.lk")
    assert code == 0 and "1 spec, 0 changed, nothing broken" in out
    # an unknown revision, or no repository
    assert cli("diff", "--rev", "no-such-rev")[0] == 2
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("diff", "--rev", "HEAD")
    assert code == 2 and "git" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_rev_checks_again_a_spec_whose_model_changed(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    (repo / "models").mkdir()
    (repo / "models" / "helper.lk").write_text("proc set_a() { a = true; }\n")
    (repo / "specs" / "uses.lk").write_text('import "helper.lk";\nbool a = false;\nthread t { set_a(); }\n'
                                            "invariant no_a: !a;\nexpect violation no_a;\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    (repo / "models" / "helper.lk").write_text("proc set_a() { skip; }\n")   # the spec's text is unchanged
    _git(repo, "commit", "-qam", "helper no longer sets a")
    monkeypatch.chdir(repo)
    checked = _count_checks(monkeypatch)
    code, out, _ = cli("diff", "--rev", "HEAD~1")
    assert len(checked) == 2 and "1 changed" in out
    # the race is gone but the spec still says `expect violation no_a`: not met
    assert code == 1
    assert "NOT MET   no_a: was violated, now holds, but its expect line says 'violation': not met" in out


def _repo_with(tmp_path, text: str):
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    (repo / "specs" / "mini.lk").write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "first")
    return repo


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_rev_an_expect_line_changed_to_a_verdict_the_spec_does_not_meet(tmp_path, monkeypatch):
    # `same` holds; the working tree now says it is violated: the gate must fail
    repo = _repo_with(tmp_path, GOOD)
    (repo / "specs" / "mini.lk").write_text(GOOD.replace("expect holds same;", "expect violation same;"))
    monkeypatch.chdir(repo)
    code, out, err = cli("diff", "--rev", "HEAD")
    assert code == 1, out + err
    assert "1 spec, 1 changed, 1 expectation NOT MET" in out.splitlines()[0]
    assert ("NOT MET   same: expect changed holds -> violation, but it still holds: the new expectation is not met"
            in out)
    assert out.rstrip().splitlines()[-1].startswith("NOT MET: specs/mini.lk: same")
    doc = json.loads(cli("diff", "--rev", "HEAD", "--format", "json")[1])
    assert doc["exit_code"] == 1 and doc["broken"] == []
    assert doc["unmet"] == [{"spec": "specs/mini.lk", "property": "same"}]
    (change,) = doc["specs"][0]["properties"]
    assert (change["status"], change["met"]) == ("expect", False)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_rev_changes_that_are_met_exit_0(tmp_path, monkeypatch):
    # the committed spec is wrong about `same` (it says violation; it holds): the working
    # tree corrects the expect line, which is now met
    repo = _repo_with(tmp_path, GOOD.replace("expect holds same;", "expect violation same;"))
    (repo / "specs" / "mini.lk").write_text(GOOD)
    monkeypatch.chdir(repo)
    code, out, err = cli("diff", "--rev", "HEAD")
    assert code == 0, out + err
    assert "expect    same: expect changed violation -> holds (verdict still holds)" in out
    assert "nothing broken" in out.splitlines()[0] and "NOT MET" not in out
    # an intended race: the code breaks `same` and the expect line says so in the same commit
    _git(repo, "commit", "-qam", "fix the expect line")
    (repo / "specs" / "mini.lk").write_text(BROKEN.replace("expect holds same;", "expect violation same;"))
    code, out, err = cli("diff", "--rev", "HEAD", "--no-traces")
    assert code == 0, out + err
    assert "violated  same: held, now violated (expect changed holds -> violation)" in out
    doc = json.loads(cli("diff", "--rev", "HEAD", "--format", "json")[1])
    assert doc["exit_code"] == 0 and doc["unmet"] == [] and doc["specs"][0]["properties"][0]["met"] is True


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_diff_rev_a_new_property_or_spec_not_as_expected(tmp_path, monkeypatch):
    repo = _repo_with(tmp_path, GOOD)
    monkeypatch.chdir(repo)
    # a new invariant that the spec breaks, with no expect line: expected to hold, not met
    (repo / "specs" / "mini.lk").write_text(GOOD + "invariant never_a: !a;\n")
    code, out, _ = cli("diff", "--rev", "HEAD")
    assert code == 1 and "NOT MET   never_a: new invariant, violated, but its expect line says 'holds': not met" in out
    (repo / "specs" / "mini.lk").write_text(GOOD + "invariant never_a: !a;\nexpect violation never_a;\n")
    code, out, _ = cli("diff", "--rev", "HEAD")
    assert code == 0 and "added     never_a: new invariant, violated (expect violation)" in out
    # a new spec: exit 1 only if one of its properties is not as expected
    (repo / "specs" / "mini.lk").write_text(GOOD)
    (repo / "specs" / "other.lk").write_text(GOOD.replace("expect holds same;", "expect violation same;"))
    code, out, _ = cli("diff", "--rev", "HEAD")
    assert code == 1 and "not as expected: same" in out and "NOT MET: specs/other.lk: same" in out
    (repo / "specs" / "other.lk").write_text(GOOD)
    code, out, _ = cli("diff", "--rev", "HEAD")
    assert code == 0 and "specs/other.lk: new spec" in out

