from __future__ import annotations

import io
from pathlib import Path

import pytest

from lockcheck.api import Options, load_model, verify
from lockcheck.cli import main
from lockcheck.errors import Sources
from lockcheck.result import Result

REPO = Path(__file__).resolve().parent.parent
SPECS = sorted((REPO / "specs").glob("*.lk"))


@pytest.fixture
def spec(tmp_path):
    """Write a spec to a file and return its path."""
    counter = iter(range(1000))

    def write(text: str, name: str | None = None) -> str:
        path = tmp_path / (name or f"spec{next(counter)}.lk")
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture(scope="session")
def shipped_specs() -> list[Result]:
    """Every spec in specs/, checked once for the whole session, with relative paths as CI
    passes them (from the repository root). Read them, do not change them."""
    import os

    here = os.getcwd()
    os.chdir(REPO)
    try:
        return [verify(str(path.relative_to(REPO)), Options(), Sources()) for path in SPECS]
    finally:
        os.chdir(here)


def run(path: str, **defines: object) -> Result:
    options = Options(defines={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in defines.items()})
    return verify(path, options, Sources())


def run_full(path: str, **defines: object) -> Result:
    """run, without partial-order reduction or symmetry: the state counts of the whole graph."""
    options = Options(defines={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in defines.items()},
                      reduction=False, symmetry=False)
    return verify(path, options, Sources())


def model_of(path: str, **defines: object):
    options = Options(defines={k: str(v) for k, v in defines.items()})
    return load_model(path, options, Sources())


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def verdicts(result: Result) -> dict[str, str]:
    return {p.name: p.verdict for p in result.properties}
