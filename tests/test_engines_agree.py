"""The symbolic engines against the explicit one, which is the reference. bmc finds exactly
the violations the explicit engine finds within its depth, with counterexamples of the same
length, and calls nothing `holds` that the explicit engine violates; induction never proves a
property the explicit engine violates, and what its base case reports violated is violated
with a shortest counterexample. On every spec in specs/, on the small models of the other
test files, and on a few hundred random specs (tests/random_specs.py)."""
from __future__ import annotations

import pytest
from hypothesis import given

from conftest import REPO, SPECS
from lockcheck.api import Options, load_model
from lockcheck.ir import Model
from lockcheck.engines.symbolic.bmc import check_bmc
from reference.explicit import Limits, check_explicit
from lockcheck.engines.symbolic.induction import check_induction
from lockcheck.engines.symbolic.pdr import check_pdr
from lockcheck.engines.symbolic.shared import Settings
from lockcheck.errors import Sources
from lockcheck.result import Result
from random_specs import random_spec_settings, write_spec, specs as random_specs

MIN_DEPTH = 3
SPEC_DEPTH_CAP = 21     # bmc on a spec: as deep as its violations go, up to this
RANDOM_EXAMPLES = 40         # the default run; `pytest -m slow` runs RANDOM_EXAMPLES_SLOW more
RANDOM_EXAMPLES_SLOW = 300
PDR_RANDOM_EXAMPLES = 3      # pdr: these in the default run, PDR_RANDOM_EXAMPLES_SLOW with -m slow
PDR_RANDOM_EXAMPLES_SLOW = 50
# the specs whose cross-check takes longest (bmc to depth 21 and induction): `pytest -m slow`
SLOW_SPECS = {"cluster_first_only.lk", "ext4_reclaim_flusher.lk", "btrfs.lk", "ext3_lock_only.lk",
              "truncate_lock_inverted.lk", "page_mkwrite_race.lk"}


def program_of(path: str) -> Model:
    return load_model(path, Options(), Sources())


def by_name(result: Result) -> dict:
    return {p.name: p for p in result.properties}


def length(p) -> int | None:
    return p.trace.length if p.trace is not None else None


def assert_bmc_agrees(explicit: Result, bmc: Result, depth: int) -> None:
    ref = by_name(explicit)
    for name, q in by_name(bmc).items():
        p = ref[name]
        if q.verdict == "holds":
            assert p.verdict == "holds", (name, q.detail)
        if name == "lock_order":  # a property of the whole acquisition graph: verdicts only
            assert q.verdict != "violated" or p.verdict == "violated", name
            continue
        if p.verdict == "violated" and length(p) <= depth:
            assert q.verdict == "violated", (name, length(p), q.detail)
        if q.verdict == "violated":   # (a failing step may lie one past the depth)
            assert p.verdict == "violated", name
            assert length(q) == length(p), (name, length(q), length(p))


def assert_induction_sound(explicit: Result, induction: Result) -> None:
    ref = by_name(explicit)
    for name, q in by_name(induction).items():
        p = ref[name]
        if q.verdict == "holds":
            assert p.verdict == "holds", (name, q.detail)
        if q.verdict == "violated":
            assert p.verdict == "violated", name
            if name != "lock_order":
                assert length(q) == length(p), (name, length(q), length(p))


def assert_pdr_sound(explicit: Result, pdr: Result) -> None:
    """pdr proves nothing the explicit engine violates; what it reports violated is, with a
    counterexample of the same length."""
    ref = by_name(explicit)
    for name, q in by_name(pdr).items():
        p = ref[name]
        if q.verdict == "holds":
            assert p.verdict == "holds", (name, q.detail)
        if q.verdict == "violated":
            assert p.verdict == "violated", name
            assert length(q) == length(p), (name, length(q), length(p))


def pdr_check(path: str, timeout: float = 60) -> Result:
    program = program_of(path)
    explicit, _ = check_explicit(program, Limits())
    pdr = check_pdr(program, Settings(timeout=timeout))
    assert_pdr_sound(explicit, pdr)
    return pdr


def cross_check(path: str, depth_cap: int | None = None, induction_depth: int = 2,
                induction: bool = True) -> None:
    """bmc searches as deep as the longest violation the explicit engine found (at most
    `depth_cap`), so it must find each one of those; induction is judged for soundness."""
    program = program_of(path)
    explicit, _ = check_explicit(program, Limits())
    assert not explicit.stats.limit
    lengths = [length(p) for p in explicit.properties if p.verdict == "violated"]
    depth = max([n for n in lengths if depth_cap is None or n <= depth_cap] + [MIN_DEPTH])
    assert_bmc_agrees(explicit, check_bmc(program, Settings(depth)), depth)
    if induction:
        assert_induction_sound(explicit, check_induction(program, Settings(induction_depth, more_candidates=True)))


# ---- specs/ -------------------------------------------------------------------------------

def _violates(path) -> bool:
    explicit, _ = check_explicit(program_of(str(path)), Limits())
    return any(p.verdict == "violated" for p in explicit.properties)


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW_SPECS else p
                                  for p in SPECS], ids=[p.name for p in SPECS])
def test_every_spec_agrees(path):
    # induction's soundness can only fail where the explicit engine finds a violation
    cross_check(str(path), SPEC_DEPTH_CAP, induction_depth=1, induction=_violates(path))


def test_the_depth_cap_leaves_out_only_the_longest_spec_violations():
    lengths = {(path.name, p.name): length(p) for path in SPECS
               for p in check_explicit(program_of(str(path)), Limits())[0].properties if p.verdict == "violated"}
    beyond = {k for k, n in lengths.items() if n > SPEC_DEPTH_CAP}
    assert beyond == {("btrfs.lk", "no_oom"), ("ext4_reclaim.lk", "no_oom"),
                      ("cluster_first_only.lk", "no_remove_in_bio"), ("cluster_first_only.lk", "io_on_cached_page")}
    assert len(lengths) - len(beyond) >= 17


# each run is bounded: Spacer answers what it can within the timeout, and what it answers must be right
PDR_SPECS = ["ext4_journal.lk", "shmem_activate_unlocked.lk", "ext4_reclaim.lk"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PDR_SPECS)
def test_pdr_on_small_specs_is_sound(name):
    pdr_check(str(REPO / "specs" / name), timeout=45)


# ---- the small models of the other tests --------------------------------------------------

def _test_models() -> dict[str, str]:
    from test_checks import CASES
    import test_semantics
    models: dict[str, str] = {}
    for prop, (bad, good) in CASES.items():
        models[f"checks.{prop}.bad"] = bad
        models[f"checks.{prop}.good"] = good
    for name in ("UNLOCKED", "LOCKED", "ABBA"):
        models[f"semantics.{name}"] = getattr(test_semantics, name)
    for module, attr in (("test_switches", "SPECS"), ("test_z3_agreement", "SMALL_MODELS")):
        found = getattr(__import__(module), attr)
        models.update({f"{module[5:]}.{k}": v for k, v in found.items() if isinstance(v, str)})
    return models


TEST_MODELS = _test_models()


@pytest.mark.parametrize("name", sorted(TEST_MODELS))
def test_test_models_agree(spec, name):
    cross_check(spec(TEST_MODELS[name]))


PDR_SLOW_MODELS = {"switches.locks"}   # Spacer needs its whole timeout on some property of it


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in PDR_SLOW_MODELS else n
                                  for n in sorted(TEST_MODELS)])
def test_pdr_on_test_models_is_sound(spec, name):
    pdr_check(spec(TEST_MODELS[name]), timeout=20)


# ---- random specs --------------------------------------------------------------------------

@random_spec_settings(RANDOM_EXAMPLES)
@given(text=random_specs())
def test_random_specs_agree(tmp_path, text):
    cross_check(write_spec(tmp_path, text, "random.lk"))


@pytest.mark.slow
@random_spec_settings(RANDOM_EXAMPLES_SLOW)
@given(text=random_specs())
def test_many_random_specs_agree(tmp_path, text):
    cross_check(write_spec(tmp_path, text, "random.lk"))


@random_spec_settings(PDR_RANDOM_EXAMPLES)
@given(text=random_specs())
def test_pdr_on_random_specs_is_sound(tmp_path, text):
    pdr_check(write_spec(tmp_path, text), timeout=10)


@pytest.mark.slow
@random_spec_settings(PDR_RANDOM_EXAMPLES_SLOW)
@given(text=random_specs())
def test_pdr_on_many_random_specs_is_sound(tmp_path, text):
    pdr_check(write_spec(tmp_path, text), timeout=20)
