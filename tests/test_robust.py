"""Bad input never crashes (issue 10): each case found by hand or by the fuzzer gives an
error line with exit 2 (or a limit, exit 3), never a traceback, and names the limit it hit."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, cli
from lockcheck.limits import MAX_FILE_BYTES


def run(*argv: str) -> tuple[int, str, str]:
    code, out, err = cli(*argv)
    assert "Traceback" not in out + err
    assert code in (0, 1, 2, 3)
    return code, out, err


# ---- specs that `check` accepts but generated Python could not compile ----------------------

NESTED = "int[0..3] x;\nthread t { x = " + "(" * 99 + "x" + " + 1) % 4" * 99 + "; }\n"   # 198 levels
FORALL = "bool a[1000];\nthread t { skip; }\ninvariant i: forall x in a: !x;\n"

@pytest.mark.parametrize("text", [NESTED, FORALL], ids=["nested 198 deep", "forall over 1000"])
def test_explicit_engine_checks_what_python_cannot_compile(spec, text):
    """The frontier engine interprets expressions: no generated code to refuse."""
    path = spec(text)
    assert run("check", path)[0] == 0
    assert run("verify", path)[0] == 0


def test_symbolic_engines_take_what_python_could_not_compile(spec):
    """bmc starts from the IR too: no generated code, so 198 levels of nesting are checked."""
    code, out, err = run("verify", "--engine", "bmc", "--depth", "2", spec(NESTED))
    assert code == 0, err


def test_a_forall_over_a_large_array_compiles(spec):
    """A forall (or a built-in check over every element) is a balanced tree of && (ir.conj),
    10 deep for 1000 elements, not one level an element, so bmc compiles it."""
    code, out, err = run("verify", "--engine", "bmc", "--depth", "2", spec(FORALL))
    assert code == 0 and "too large" not in err


def test_one_bad_spec_does_not_abort_a_folder_run(tmp_path):
    (tmp_path / "a_bad.lk").write_text('import "/etc/passwd";\nthread t { skip; }\n')
    (tmp_path / "b_good.lk").write_text("bool b;\nthread t { b = true; }\n")
    code, out, err = run("verify", "--format", "json", str(tmp_path))
    doc = json.loads(out)
    assert code == 2 and len(doc["errors"]) == 1 and [s["path"] for s in doc["specs"]] == [str(tmp_path / "b_good.lk")]


# ---- size limits, named where they are declared --------------------------------------------

LIMITS = [
    # (spec, line, fragment of the message)
    ("struct s { bool a[4096]; }\ns x[4096];\nthread t { skip; }\n", 2, "state size limit"),
    ("const A = 99999;\nconst B = A*A*A*A;\nconst C = B*B*B*B;\nconst D = C*C*C*C;\nthread t { skip; }\n", 2,
     "const limit"),
    ("const N = " + "9" * 4400 + ";\nthread t { skip; }\n", 1, "number limit"),
    ("int[0..2000000] x;\nthread t { skip; }\n", 1, "int range limit"),
    ("bool a[5000];\nthread t { skip; }\n", 1, "array size must be between 1 and 4096"),
    ("bool b;\nthread t { b = forall i in 0..100000000: b; }\n", 2, "quantifier size limit"),
    ("bool a[4096];\nthread t { skip; }\ninvariant i: forall x in a: forall y in a: x == y;\n", 3,
     "quantifier size limit"),
    ("bool b;\n" + "".join(f"thread t{i} {{ b = true; }}\n" for i in range(130)), 130, "thread limit"),
    ("bool b;\nthread t[65] { b = true; }\n", 2, "thread count must be between 1 and 64"),
    ("bool b;\nthread t { " + "if (b) { " * 250 + "skip;" + " }" * 250 + " }\n", 2, "nesting limit"),
    ('import "' + "a" * 300 + '.lk";\nthread t { skip; }\n', 1, "import name limit"),
    ("bool b;\nproc f() { " + "b = !b; " * 20 + "}\nthread t {\n" + "f();\n" * 200 + "}\n", 2, "steps limit"),
]


@pytest.mark.parametrize("text,line,fragment", LIMITS, ids=[f for _, _, f in LIMITS])
def test_limits_are_errors_at_the_declaration(spec, text, line, fragment):
    path = spec(text, "big.lk")
    code, out, err = run("check", path)
    assert code == 2 and f"big.lk:{line}:" in err.splitlines()[0] and fragment in err, err


def test_define_beyond_the_const_limit(spec):
    path = spec("const N = 2;\nbool a[N];\nthread t { skip; }\n")
    for value in ("9" * 5000, str(2**70)):
        code, out, err = run("check", "-D", f"N={value}", path)
        assert code == 2 and "const limit" in err and len(err) < 300


def test_define_on_a_shipped_spec_hits_the_state_size_limit():
    code, out, err = run("check", "-D", "NPAGES=4096", str(REPO / "specs" / "btrfs.lk"))
    assert code == 2 and "state size limit" in err


def test_file_size_limit(tmp_path):
    path = tmp_path / "huge.lk"
    path.write_text("bool b;\n" + "// padding\n" * (MAX_FILE_BYTES // 10))
    code, out, err = run("check", str(path))
    assert code == 2 and "file size limit" in err


def test_total_size_limit_over_imports(tmp_path):
    body = "// padding\n" * (MAX_FILE_BYTES // 12)
    names = [f"m{i}.lk" for i in range(6)]
    for name in names:
        (tmp_path / name).write_text(body)
    (tmp_path / "main.lk").write_text("".join(f'import "{n}";\n' for n in names) + "thread t { skip; }\n")
    code, out, err = run("check", str(tmp_path / "main.lk"))
    assert code == 2 and "total size limit" in err


# ---- files that are not specs -------------------------------------------------------------

def test_dev_zero_is_refused_without_reading_it():
    code, out, err = run("check", "/dev/zero")
    assert code == 2 and "not a regular file" in err


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ"])
def test_importing_a_system_file_does_not_show_it(spec, target):
    if not os.path.exists(target):
        pytest.skip(f"no {target}")
    path = spec(f'import "{target}";\nthread t {{ skip; }}\n')
    for fmt in ("text", "sarif", "json", "junit"):
        code, out, err = run("verify", "--format", fmt, path)
        assert code == 2 and "an import names a .lk file" in err
        first_line = Path(target).read_bytes().split(b"\n")[0].split(b"\0")[0][:20].decode("utf-8", "replace")
        assert first_line not in out + err.replace(target, "")


def test_checking_a_system_file_shows_no_line_of_it():
    code, out, err = run("check", "/etc/passwd")
    assert code == 2 and "/etc/passwd:1:" in err
    assert "root:x" not in err and len(err.splitlines()) == 1


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.lk"
    path.write_bytes(b"\xef\xbb\xbfbool b;\nthread t { b = true; }\n")
    assert run("verify", str(path))[0] == 0


def test_a_bom_inside_the_file_is_named_plainly(spec):
    code, out, err = run("check", spec("bool b;\n\ufeffthread t { skip; }\n"))
    assert code == 2 and "unexpected character '\\ufeff'" in err


def test_long_and_unreadable_paths():
    for path in ("a" * 5000 + ".lk", "/" + "b" * 300 + "/x.lk", "/root/" + "c" * 300):
        code, out, err = run("check", path)
        assert code == 2 and "cannot read" in err and len(err) < 6000


def test_syntax_errors_name_no_lark_internals(spec):
    for text in ("int[0 3] x;\nthread t { skip; }\n", "proc f() - bool { return true; }\n",
                 "thread t { skip; } ->\n", "bool b;\nthread t { for i in 0 ..; }\n"):
        code, out, err = run("check", spec(text))
        assert code == 2 and "__anon" not in err.lower() and "error:" in err, err
    from lockcheck.parser import _describe

    assert (_describe("__ANON_0"), _describe("__ANON_1"), _describe("IF")) == ("'->'", "'..'", "'if'")


def test_a_huge_token_is_not_echoed_whole(spec):
    code, out, err = run("check", spec("thread t { skip; } " + "x" * 100_000 + "\n"))
    assert code == 2 and max(len(line) for line in err.splitlines()) < 300


# ---- command line -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "soon"])
def test_timeout_must_be_a_positive_finite_number(spec, value):
    code, out, err = run("verify", "--engine", "bmc", "--timeout", value, spec("thread t { skip; }\n"))
    assert code == 2 and "--timeout" in err


@pytest.mark.parametrize("option", ["--output", "--html"])
def test_unwritable_report_paths_are_refused_before_the_run(spec, tmp_path, option):
    path = spec("bool b;\nthread t { b = true; }\n")
    for target in (str(tmp_path / "no" / "such" / "r.out"), str(tmp_path)):
        code, out, err = run("verify", option, target, path)
        assert code == 2 and f"cannot write {target}" in err and "==" not in out


def test_unwritable_graph_output(spec, tmp_path):
    path = spec("bool b;\nthread t { b = true; }\n")
    for extra in ([], ["--locks"]):
        code, out, err = run("graph", *extra, "-o", str(tmp_path / "no" / "g.dot"), path)
        assert code == 2 and "cannot write" in err


def test_write_failing_after_the_run_is_an_error_line(spec, monkeypatch):
    import lockcheck.cli as cli_module

    path = spec("bool b;\nthread t { b = true; }\n")
    monkeypatch.setattr(cli_module, "_check_writable", lambda args: None)
    code, out, err = run("verify", "--output", "/proc/version", path)
    assert code == 2 and "cannot write /proc/version" in err


# ---- hostile strings in every report --------------------------------------------------------

HOSTILE = ('bool b;\nthread t {\n  assert b, "ctl \\x01\\x1b[31mred\\x1b[0m \\x7f surrogate \\udc80 nul \\x00 end";\n'
           '  assert b, "\x1b]0;title\x07 raw escape";\n}\n')


def hostile_spec(tmp_path: Path, name: str = "hostile.lk") -> str:
    path = tmp_path / name
    path.write_text(HOSTILE, encoding="utf-8")
    return str(path)


def _all_formats(path: str, tmp_path: Path) -> dict[str, str]:
    docs = {}
    for fmt in ("text", "json", "sarif", "junit"):
        out_file = tmp_path / f"report.{fmt}"
        code, out, err = run("verify", "-v", "--format", fmt, "--output", str(out_file), path)
        assert code == 1, err
        docs[fmt] = out_file.read_text(encoding="utf-8")
    html = tmp_path / "report.html"
    run("verify", "--html", str(html), path)
    docs["html"] = html.read_text(encoding="utf-8")
    code, out, err = run("verify", "--trace", "mermaid", path)
    docs["mermaid"] = out
    return docs


def _well_formed(docs: dict[str, str]) -> None:
    import jsonschema

    assert "\x1b" not in docs["text"] and "\x07" not in docs["text"]
    assert "\x1b" not in docs["mermaid"]
    json.loads(docs["json"])
    ET.fromstring(docs["junit"].encode("utf-8"))
    schema = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(json.loads(docs["sarif"]), schema)
    for doc in docs.values():
        doc.encode("utf-8")   # no lone surrogate anywhere


def test_hostile_messages_in_every_format(tmp_path):
    _well_formed(_all_formats(hostile_spec(tmp_path), tmp_path))


def test_control_characters_in_the_file_name(tmp_path):
    _well_formed(_all_formats(hostile_spec(tmp_path, "we\x1bird\x01\tname.lk"), tmp_path))


def test_non_utf8_file_name(tmp_path):
    folder = os.fsencode(str(tmp_path))
    raw = folder + b"/caf\xe9-\xff.lk"
    with open(raw, "wb") as f:
        f.write(HOSTILE.encode("utf-8"))
    _well_formed(_all_formats(os.fsdecode(raw), tmp_path))


def test_hostile_load_errors_in_every_format(tmp_path):
    path = tmp_path / "bad\x1b[2J.lk"
    path.write_text('bool b;\nthread t { b = "\x1b[2J"; }\n')
    for fmt in ("text", "json", "sarif", "junit"):
        code, out, err = run("verify", "--format", fmt, str(path))
        assert code == 2 and "\x1b" not in err
        if fmt == "junit":
            ET.fromstring(out.encode("utf-8"))
        elif fmt != "text":
            json.loads(out)


# ---- Ctrl-C and SIGTERM: exit 3 with the partial report ------------------------------------

def _interrupt(sig: int, fmt: str, *argv: str, wait_for_progress: bool = True, delay: float = 3.0
               ) -> tuple[int, str, str]:
    """Run lockcheck in a child process, signal it mid-run, return its exit code and output."""
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "lockcheck", "verify", "--format", fmt, *argv]
    child = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        if wait_for_progress:   # the first progress line: the search is under way
            assert child.stderr is not None
            line = child.stderr.readline()
            assert "states" in line, line
        else:
            time.sleep(delay)
        child.send_signal(sig)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert "Traceback" not in err, err
    return child.returncode, out, err


def _check_partial(fmt: str, out: str) -> None:
    if fmt == "text":
        assert "stopped at an interrupt" in out and "\x1b" not in out
    elif fmt == "json":
        doc = json.loads(out)
        assert doc["exit_code"] == 3 and doc["specs"][0]["stats"]["limit"] == "an interrupt"
        assert doc["specs"][0]["stats"]["states"] > 0
    elif fmt == "sarif":
        doc = json.loads(out)
        assert "stopped at an interrupt" in json.dumps(doc)
    else:
        root = ET.fromstring(out.encode("utf-8"))
        assert any(p.get("value") == "an interrupt" for p in root.iter("property"))


EXPLICIT_LONG = ("--progress", "-D", "NPAGES=8", "specs/ext4.lk")


@pytest.mark.parametrize("sig,fmt", [("SIGINT", "json"), ("SIGTERM", "junit")])
def test_interrupted_explicit_search_keeps_what_it_found(sig, fmt):
    import signal

    code, out, err = _interrupt(getattr(signal, sig), fmt, *EXPLICIT_LONG)
    assert code == 3
    _check_partial(fmt, out)


@pytest.mark.slow
@pytest.mark.parametrize("sig,fmt", [("SIGINT", "text"), ("SIGINT", "sarif"), ("SIGTERM", "text"),
                                     ("SIGTERM", "json"), ("SIGTERM", "sarif"), ("SIGINT", "junit")])
def test_interrupted_explicit_search_every_format(sig, fmt):
    import signal

    code, out, err = _interrupt(getattr(signal, sig), fmt, *EXPLICIT_LONG)
    assert code == 3
    _check_partial(fmt, out)


def _z3_argument_interrupt() -> Exception:
    """What ctypes raises when Ctrl-C lands while it converts an argument of a Z3 call."""
    import ctypes
    return ctypes.ArgumentError("argument 1: KeyboardInterrupt: ")


@pytest.mark.parametrize("engine", ["bmc", "induction"])
@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, _z3_argument_interrupt], ids=["plain", "in-ctypes"])
def test_symbolic_engine_interrupted_between_checks(monkeypatch, engine, interrupt):
    """Ctrl-C while the engine's Python code runs (between Z3 checks, or inside a call into
    Z3's library): every property unknown, limit 'an interrupt', exit 3, in the JSON document."""
    from lockcheck.engines.symbolic import shared as symbolic

    calls = []
    real = symbolic.Budget.check

    def check(self, solver, *assumptions):
        calls.append(1)
        if len(calls) == 2:
            raise interrupt()
        return real(self, solver, *assumptions)

    monkeypatch.setattr(symbolic.Budget, "check", check)
    code, out, err = run("verify", "--format", "json", "--engine", engine, "--depth", "3",
                         str(REPO / "specs" / "ext4_unlock_early.lk"))
    doc = json.loads(out)
    assert code == 3 and doc["specs"][0]["stats"]["limit"] == "an interrupt"
    assert {p["verdict"] for p in doc["specs"][0]["properties"]} == {"unknown"}


@pytest.mark.slow
@pytest.mark.parametrize("engine,sig", [("bmc", "SIGTERM"), ("induction", "SIGINT")])
def test_interrupted_symbolic_engines(engine, sig):
    import signal

    argv = ["--engine", engine, "-D", "NPAGES=16", "specs/ext4.lk"]
    if engine == "bmc":
        argv += ["--depth", "40"]
    code, out, err = _interrupt(getattr(signal, sig), "json", *argv, wait_for_progress=False, delay=12.0)
    assert code == 3, err
    doc = json.loads(out)
    assert doc["exit_code"] == 3 and doc["specs"][0]["stats"]["limit"] == "an interrupt"


def test_interrupt_during_a_folder_run_checks_no_further_spec(monkeypatch, tmp_path):
    """A KeyboardInterrupt outside the engines (here while loading the second spec): the first
    spec's result is reported, the rest are not checked, exit 3."""
    import lockcheck.cli as cli_module

    for name in ("a.lk", "b.lk", "c.lk"):
        (tmp_path / name).write_text("bool b;\nthread t { b = true; }\n")
    real = cli_module.verify
    calls = []

    def verify(path, *args, **kwargs):
        calls.append(path)
        if path.endswith("b.lk"):
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(cli_module, "verify", verify)
    code, out, err = run("verify", "--format", "json", str(tmp_path))
    assert code == 3 and len(calls) == 2 and "b.lk: interrupted" in err
    assert [s["path"] for s in json.loads(out)["specs"]] == [str(tmp_path / "a.lk")]


@pytest.mark.slow
def test_out_of_memory_is_a_limit_with_the_partial_report():
    import resource
    import subprocess
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (450 * 2**20, 450 * 2**20))

    child = subprocess.run([sys.executable, "-m", "lockcheck", "verify", "--format", "json", "-D", "NPAGES=8",
                            "specs/ext4.lk"], cwd=REPO, capture_output=True, text=True, preexec_fn=cap, timeout=300)
    assert "Traceback" not in child.stderr
    doc = json.loads(child.stdout)
    assert child.returncode == 3 and doc["specs"][0]["stats"]["limit"] == "the memory limit"


# ---- inputs the fuzzer found (tests/fuzz_lk.py) ---------------------------------------------

def test_fuzz_a_shipped_spec_at_256_pages_stops_at_the_state_limit():
    """Mutant NPAGES = 256: code generation compared checks deeply (quadratic), minutes."""
    code, out, err = run("verify", "-q", "--max-states", "300", "-D", "NPAGES=256",
                         str(REPO / "specs" / "shmem_activate_unlocked.lk"))
    assert code == 3


def test_fuzz_a_call_repeated_two_hundred_times_hits_the_steps_limit(tmp_path):
    """Mutant: a statement calling ext4_da_writepage_one repeated 200 times (1.2 GB, minutes)."""
    text = (REPO / "specs" / "ext4_reclaim_flusher.lk").read_text()
    text = text.replace("        ext4_da_writepage_one(p);\n", "        ext4_da_writepage_one(p);\n" * 200, 1)
    assert text.count("ext4_da_writepage_one(p);") >= 200
    path = tmp_path / "ext4_reclaim_flusher.lk"
    path.write_text(text)
    code, out, err = run("verify", "-q", "--max-states", "300", str(path))
    assert code == 2 and "steps limit" in err


def test_fuzz_four_thousand_spinlocks_beside_a_sleeping_thread(tmp_path):
    """Mutant: `spinlock zl[4096];` in models/shmem_aops.lk; every sleeping step checks each
    spinlock. The conjunction over them is a balanced tree (ir.conj), 12 deep, so it checks."""
    for f in (REPO / "models").glob("*.lk"):
        (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / "shmem.lk").write_text((REPO / "specs" / "shmem.lk").read_text())
    model = tmp_path / "shmem_aops.lk"
    model.write_text("spinlock zl[4096];\n" + model.read_text())
    code, out, err = run("verify", "-q", "--max-states", "300", str(tmp_path / "shmem.lk"))
    assert code == 0 and "every expectation met" in out and "nested too deeply" not in err


def _mutated_spec(tmp_path, name: str, old: str, new: str):
    """specs/NAME with one mutation, beside a copy of models/ (as the fuzzer runs it)."""
    for f in (REPO / "models").glob("*.lk"):
        (tmp_path / f.name).write_text(f.read_text())
    text = (REPO / "specs" / name).read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def test_fuzz_a_loop_over_a_huge_range_is_an_error_at_the_range(tmp_path):
    """Mutant NPINNED = 999999999999999999 in ext4_reclaim.lk: `for i in 0..NPINNED - 1` ran
    out of memory with no location (the loop counter is an int over the range)."""
    path = _mutated_spec(tmp_path, "ext4_reclaim.lk", "const NPINNED = 1;", "const NPINNED = 999999999999999999;")
    code, out, err = run("verify", "-q", "--max-states", "300", str(path))
    assert code == 2 and "ext4_reclaim.lk:26:14: error:" in err and "int range limit" in err
    assert "for i in 0..NPINNED - 1" in err


def test_fuzz_induction_when_the_init_block_fails_in_every_run(tmp_path):
    """Mutant NPINNED = 64 in btrfs.lk (NPAGES pages): the init block indexes past the array,
    so no run gets past it and there is no initial state to sample candidates from
    (IndexError: Cannot choose from an empty sequence)."""
    path = _mutated_spec(tmp_path, "btrfs.lk", "const NPINNED = 1;", "const NPINNED = 64;")
    code, out, err = run("verify", "-q", "--engine", "induction", "--depth", "2", "--timeout", "3", str(path))
    assert code == 1 and "Traceback" not in err and "bounds" in out


@pytest.mark.parametrize("engine", ["bmc", "induction"])
def test_timeout_bounds_the_python_phases_of_the_symbolic_engines(tmp_path, monkeypatch, engine):
    """Mutant `spinlock zl[256];` in ext3.lk: with --timeout 3, bmc spent 150 s building the
    lock-order terms and induction a minute making candidates, none of it inside a Z3 check.
    Those phases now ask the budget: with the time up from the start, nothing is built and
    every property is unknown, stopped at --timeout."""
    from lockcheck.engines.symbolic import shared as symbolic

    path = _mutated_spec(tmp_path, "ext3.lk", "const NPAGES = 2;", "spinlock zl[256]; const NPAGES = 2;")
    monkeypatch.setattr(symbolic.Budget, "overdue", lambda self: True)
    monkeypatch.setattr(symbolic.Budget, "left_ms", lambda self: 0)
    code, out, err = run("verify", "--engine", engine, "--depth", "2", "--timeout", "100", "--format", "json", str(path))
    doc = json.loads(out)
    assert code == 3 and doc["specs"][0]["stats"]["limit"] == "--timeout 100"
    searched = [p for p in doc["specs"][0]["properties"] if p["verdict"] != "holds"]   # holds: known without search
    assert len(searched) >= 10 and all(p["verdict"] == "unknown" for p in searched)
