"""The fuzzer (tests/fuzz_lk.py) for a bounded time: mutants of specs/ and models/, and specs
generated from the grammar, through main(); any traceback, exit code outside 0..3, malformed
report, input over its time limit or its memory allowance fails the test with the input."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings

import fuzz_lk


def _report(runner: fuzz_lk.Runner) -> str:
    lines = []
    for f in runner.findings[:5]:
        lines.append(f"{f.kind} {' '.join(f.argv)}\n{f.detail}\ninput (first 400 bytes): {f.data[:400]!r}")
    return "\n\n".join(lines)


def _mutants(tmp_path, seconds: float, seed: int) -> None:
    done, runner = fuzz_lk.fuzz(10**9, seed, tmp_path / "fuzz", deadline=time.monotonic() + seconds)
    assert done > 0
    assert not runner.findings, _report(runner)


def test_mutants_for_a_few_seconds(tmp_path):
    _mutants(tmp_path, 5.0, seed=int(time.time()) % 1000)


@pytest.mark.slow
def test_mutants_for_two_minutes(tmp_path):
    _mutants(tmp_path, 120.0, seed=int(time.time()))


def _generated(tmp_path, text: str) -> None:
    runner = fuzz_lk.Runner(tmp_path / "gen", seconds=10.0)
    path = tmp_path / "gen" / "generated.lk"
    data = text.encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    runner.run(["check", str(path)], data)
    runner.run(["verify", "-q", "--max-states", "300", "--format", "junit", str(path)], data)
    assert not runner.findings, _report(runner)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(text=fuzz_lk.grammar_specs())
def test_specs_generated_from_the_grammar(tmp_path, text):
    _generated(tmp_path, text)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(text=fuzz_lk.grammar_specs(max_depth=16))
def test_many_specs_generated_from_the_grammar(tmp_path, text):
    _generated(tmp_path, text)


def test_an_input_that_allocates_without_bound_is_a_memory_error_then_the_limit_is_restored():
    restore = fuzz_lk._limit_address_space(100.0)
    try:
        with pytest.raises(MemoryError):
            bytearray(1024 * 2**20)
    finally:
        restore()
    assert len(bytearray(256 * 2**20)) == 256 * 2**20
