"""End to end, as a new user: build the wheel, install it into a fresh virtualenv, and run
the gate commands of docs/ci.md (and its workflow's diff step) in a temporary git
repository with specs/ and models/ of its own; the SARIF must validate against the schema
and point into that repository (bundled models under their own base, in the installed
package)."""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import venv
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())

MODEL = """\
// models/myfs_aops.lk: myfs's ->writepage starts writeback under the page lock
import "pagecache.lk";

proc myfs_start_io(page p) requires held(p.locked) {
    set_page_writeback(p);
    unlock_page(p);
}
"""

SPEC = """\
// specs/myfs.lk: truncate against myfs's writeback of one page
import "myfs_aops.lk";

page pg;

thread flusher {
    lock_page(pg);
    if (pg.in_cache) {
        myfs_start_io(pg);
        end_page_writeback(pg);
    } else {
        unlock_page(pg);
    }
}

thread truncate {
    lock_page(pg);
    wait_on_page_writeback(pg);
    pg.in_cache = false;
    unlock_page(pg);
}

invariant no_remove_under_writeback: !pg.in_cache -> !pg.writeback;
expect holds no_remove_under_writeback;
"""


def _ci_md() -> str:
    return (REPO / "docs" / "ci.md").read_text()


def gate_commands() -> list[str]:
    """The commands of docs/ci.md's 'The gate' block that write reports (SARIF, HTML, JUnit)."""
    text = _ci_md()
    block = text[text.index("## The gate"):]
    block = block[block.index("```sh\n") + 6:]
    block = block[:block.index("```")]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("lockcheck verify -q")]


def workflow_diff_script() -> str:
    """The diff step's script in docs/ci.md's GitHub workflow."""
    text = _ci_md()
    start = text.index("- name: what the change did to the specs")
    run = text.index("run: |", start)
    lines = []
    for line in text[run:].splitlines()[1:]:
        if not line.startswith(" " * 10):
            break
        lines.append(line[10:])
    return "\n".join(lines) + "\n"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel built from this checkout: its bin/ folder."""
    if subprocess.run(["git", "--version"], capture_output=True).returncode != 0:
        pytest.skip("git is needed")
    tmp = tmp_path_factory.mktemp("install")
    dist = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    assert wheel.name.startswith("kernel_lockcheck-")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return bin_dir


def _run(bin_dir: Path, command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ.update(PATH=f"{bin_dir}{os.pathsep}{environ.get('PATH', '')}", NO_COLOR="1", **env)
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=environ, capture_output=True, text=True)


@pytest.mark.slow
def test_the_documented_gate_in_a_repository_of_ones_own(installed: Path, tmp_path: Path):
    version = _run(installed, "lockcheck --version", tmp_path)
    from lockcheck import __version__

    assert version.returncode == 0 and version.stdout.strip() == f"lockcheck {__version__} (kernel-lockcheck)"
    repo = tmp_path / "myfs"
    (repo / "specs").mkdir(parents=True)
    (repo / "models").mkdir()
    (repo / "models" / "myfs_aops.lk").write_text(MODEL)
    (repo / "specs" / "myfs.lk").write_text(SPEC)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "myfs: a spec and a model")
    _git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")   # the pull request's base branch
    commands = gate_commands()
    assert any("--format sarif" in c for c in commands), commands

    for command in commands:   # every expectation met: exit 0, a SARIF log with no alerts
        done = _run(installed, command, repo)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    sarif = json.loads((repo / "lockcheck.sarif").read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    assert sarif["runs"][0]["results"] == []

    # a change to the project's own model breaks the spec: the gate fails with alerts in the repository
    broken = MODEL.replace("    set_page_writeback(p);\n    unlock_page(p);", "    unlock_page(p);\n    set_page_writeback(p);")
    (repo / "models" / "myfs_aops.lk").write_text(broken)
    for command in commands:
        done = _run(installed, command, repo)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
    sarif = json.loads((repo / "lockcheck.sarif").read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    run = sarif["runs"][0]
    assert {r["ruleId"] for r in run["results"]} == {"no_remove_under_writeback", "set_page_writeback.requires"}
    assert all(r["help"]["text"] for r in run["tool"]["driver"]["rules"])
    for result in run["results"]:   # code scanning shows each alert at a line of the repository
        primary = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert primary["uriBaseId"] == "%SRCROOT%" and (repo / primary["uri"]).is_file(), primary
    requires = next(r for r in run["results"] if r["ruleId"] == "set_page_writeback.requires")
    assert requires["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/myfs_aops.lk"
    bases = run["originalUriBaseIds"]
    models = Path(bases["LOCKCHECKMODELS"]["uri"].removeprefix("file://"))
    assert models.parts[-2:] == ("lockcheck", "models") and "site-packages" in models.parts
    assert "kernel-lockcheck 0.1.0" in bases["LOCKCHECKMODELS"]["description"]["text"]
    locations = [tfl["location"]["physicalLocation"]["artifactLocation"]
                 for r in run["results"] for flow in r.get("codeFlows", [])
                 for tf in flow["threadFlows"] for tfl in tf["locations"]]
    locations += [loc["physicalLocation"]["artifactLocation"] for r in run["results"]
                  for loc in r.get("relatedLocations", [])]
    assert locations and not [a for a in locations if "uriBaseId" not in a or a["uri"].startswith("file:")]
    in_models = {a["uri"] for a in locations if a["uriBaseId"] == "LOCKCHECKMODELS"}
    assert "pagecache.lk" in in_models and all((models / uri).is_file() for uri in in_models)
    in_repo = {a["uri"] for a in locations if a["uriBaseId"] == "%SRCROOT%"}
    assert {"specs/myfs.lk", "models/myfs_aops.lk"} <= in_repo
    html = (repo / "lockcheck.html").read_text()
    assert 'data-property="no_remove_under_writeback"' in html

    # the workflow's diff step: the base branch through env (BASE_REF), the model change re-checked
    script = workflow_diff_script()
    assert "${{" not in script and '"origin/$BASE_REF"' in script
    output = repo / "github_output"
    done = _run(installed, script, repo, BASE_REF="main", GITHUB_OUTPUT=str(output),
                GITHUB_STEP_SUMMARY=str(repo / "summary.md"))
    assert done.returncode == 0, done.stderr
    assert output.read_text().strip() == "status=1"
    comment = (repo / "comment.md").read_text()
    assert "BROKEN" in comment and "no_remove_under_writeback" in comment and len(comment) < 65_536
    assert re.search(r"BROKEN: specs/myfs.lk: ", comment)


def test_the_gate_commands_are_found():
    commands = gate_commands()
    assert len(commands) >= 2 and all(shlex.split(c)[:3] == ["lockcheck", "verify", "-q"] for c in commands)
    assert "lockcheck diff --rev" in workflow_diff_script()
