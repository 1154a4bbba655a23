"""deadcode.py calls a statement unusable only if no run can take it: never one the explicit
engine ran, on every spec, the small test models and random specs; and it does find the
statements that constant arguments rule out."""
from __future__ import annotations

import pytest
from hypothesis import given

from conftest import REPO, SPECS
from lockcheck.api import Options, load_model
from lockcheck.deadcode import dead_edges
from reference.explicit import Limits, check_explicit
from lockcheck.errors import Sources
from reference.pycompile import compile_model
from random_specs import random_spec_settings, write_spec, specs as random_specs
from test_engines_agree import TEST_MODELS


def assert_never_ran(path: str) -> set[int]:
    program = compile_model(load_model(path, Options(), Sources()))
    result, _ = check_explicit(program, Limits())
    assert not result.stats.limit
    dead = dead_edges(program.model)
    ran = {e for e in dead if program.coverage[e]}
    assert not ran, [program.model.edges[e].text for e in ran]
    return dead


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_no_spec_runs_a_dead_statement(path):
    assert_never_ran(str(path))


def test_ext4_unused_statements_are_the_modes_it_does_not_use():
    program = compile_model(load_model(str(REPO / "specs" / "ext4.lk"), Options(), Sources()))
    texts = {program.model.edges[e].text for e in dead_edges(program.model) if program.model.edges[e].shown}
    # write_cache_page(p, false): no wait for writeback; no page is delalloc: no redirty
    assert {"io_schedule(p.wb_wait)", "p.dirty = true"} <= texts


@pytest.mark.parametrize("name", sorted(TEST_MODELS))
def test_no_test_model_runs_a_dead_statement(spec, name):
    assert_never_ran(spec(TEST_MODELS[name]))


@random_spec_settings(30)
@given(text=random_specs())
def test_no_random_spec_runs_a_dead_statement(tmp_path, text):
    assert_never_ran(write_spec(tmp_path, text))


@pytest.mark.slow
@random_spec_settings(300)
@given(text=random_specs())
def test_no_one_of_many_random_specs_runs_a_dead_statement(tmp_path, text):
    assert_never_ran(write_spec(tmp_path, text))
