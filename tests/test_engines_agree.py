"""The symbolic engines against the explicit one: bmc finds exactly the violations the
explicit engine finds within its depth, with counterexamples of the same length; induction
never proves a property the explicit engine violates."""
import pytest

from conftest import REPO, run
from lockcheck.api import Options, verify
from lockcheck.errors import Sources
from test_checks import CASES

DEPTH = 12


def by_name(result):
    return {p.name: p for p in result.properties}


def engine(path: str, name: str, depth: int = DEPTH):
    return verify(path, Options(engine=name, depth=depth), Sources())


def agree(path: str, depth: int = DEPTH) -> None:
    explicit = by_name(run(path))
    bmc = by_name(engine(path, "bmc", depth))
    for name, p in explicit.items():
        if name == "lock_order":
            continue  # a property of the whole acquisition graph, not of one path
        q = bmc[name]
        if p.verdict == "violated" and p.trace.length <= depth:
            assert q.verdict == "violated", name
        if q.verdict == "violated":  # (a failing step may lie one past the depth)
            assert p.verdict == "violated", name
            assert q.trace.length == p.trace.length, name
    induction = by_name(engine(path, "induction", 3))
    for name, p in explicit.items():
        if p.verdict == "violated":
            assert induction[name].verdict != "holds", name


@pytest.mark.parametrize("prop", sorted(CASES))
def test_small_models_agree(spec, prop):
    bad, good = CASES[prop]
    agree(spec(bad))
    agree(spec(good))


@pytest.mark.parametrize("name", ["ext4_truncate_nowait.lk", "shmem_activate_unlocked.lk"])
def test_specs_agree(name):
    agree(str(REPO / "specs" / name))


def test_induction_proves_the_ext4_invariant():
    result = engine(str(REPO / "specs" / "ext4.lk"), "induction", 3)
    prop = by_name(result)["no_remove_under_writeback"]
    assert prop.verdict == "holds" and prop.detail.startswith("proved (k=")
    assert result.engine == "induction"


def test_bad_depth_is_exit_two():
    from conftest import cli

    code, out, err = cli("verify", "--engine", "bmc", "--depth", "0", str(REPO / "specs" / "ext4.lk"))
    assert code == 2 and "Traceback" not in err
    code, out, err = cli("verify", "--engine", "bmc", "--timeout", "0", str(REPO / "specs" / "ext4.lk"))
    assert code == 2 and "--timeout must be positive" in err
