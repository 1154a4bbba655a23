"""The wheel ships every package of the source tree: pyproject.toml lists packages by name,
so a new folder under lockcheck/ that is not listed would be missing from an install."""
from __future__ import annotations

import tomllib

from conftest import REPO


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(init.parent.relative_to(REPO).parts) for init in (REPO / "lockcheck").rglob("__init__.py")}
    assert folders - listed == set()
    assert "lockcheck.models" in listed
