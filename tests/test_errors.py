"""Bad input: every error is `file:line:col: error: message`, the source line and a caret,
exit code 2, never a traceback."""
import pytest

from conftest import cli


def check(spec, text: str, name: str = "bad.lk") -> tuple[int, str]:
    path = spec(text, name)
    code, out, err = cli("check", path)
    assert "Traceback" not in err
    return code, err


ERRORS = [
    # (source, line, column, message fragment)
    ("thread t { skip }\n", 1, 17, "expected ';' before '}'"),
    ("thread t { skip;\n", 1, 17, "a '}' is missing"),
    ("bool a;\nthread t { skip; }\ninvariant i: !a || a\nexpect holds i;\n", 3, 21,
     "expected ';' at the end of this line (before 'expect' on line 4)"),
    ("thread t { x = 1 $ 2; }\n", 1, 18, "unexpected character '$'"),
    ("int[0..3] x = 0;\nthread t { y = 1; }\n", 2, 12, "unknown name 'y'"),
    ("int[0..3] count = 0;\nthread t { cout = 1; }\n", 2, 12, "did you mean 'count'?"),
    ("bool b;\nthread t { b = 3; }\n", 2, 12, "cannot assign a int to a bool"),
    ("int[0..3] x;\nthread t { x = true && x; }\n", 2, 24, "expected a bool here"),
    ("struct page { bool dirty; }\npage pages[2];\nthread t { pages[0].dirt = true; }\n", 3, 12,
     "no field 'dirt' (did you mean 'dirty'?)"),
    ('import "nope.lk";\nthread t { skip; }\n', 1, 1, 'import "nope.lk" not found'),
    ("proc f() { g(); }\nproc g() { f(); }\nthread t { f(); }\n", 2, 12, "recursive call (f -> g -> f)"),
    ("bool x;\nbool x;\nthread t { skip; }\n", 2, 1, "'x' is declared twice"),
    ("thread t { skip; }\nexpect holds nodeadlock;\n", 2, 14, "did you mean 'deadlock'?"),
    ("lock l;\nthread t { acquire l; relase l; }\n", 2, 23,
     "unknown type 'relase' (did you mean the statement 'release'?)"),
    ("lock m;\nthread t { m = 1; }\n", 2, 12, "cannot assign to a lock"),
    ("bool b;\nthread t { acquire b; }\n", 2, 20, "expected a lock here"),
    ("int[3..1] x;\nthread t { skip; }\n", 1, 1, "empty int range 3..1"),
    ("bool a[2];\nthread t { a[2] = true; }\n", 2, 14, "index 2 is outside 0..1"),
    ("proc f(bool b) { skip; }\nthread t { f(); }\n", 2, 12, "'f' takes 1 argument(s), not 0"),
    ("thread t { break; }\n", 1, 12, "'break' outside a loop"),
    ("invariant i: held(m);\nlock m;\nthread t { skip; }\n", 1, 14, "held() needs a thread"),
    ("", 1, 1, "the spec declares no thread"),
    ("bool held;\nthread t { skip; }\n", 1, 1, "'held' is a keyword and cannot be a name"),
    ("thread t { bool x = true; if (locked) { skip; } }\n", 1, 37, "'locked' is a keyword: locked(l) asks"),
]


@pytest.mark.parametrize("text,line,column,fragment", ERRORS, ids=[e[3] for e in ERRORS])
def test_error_position_and_message(spec, text, line, column, fragment):
    code, err = check(spec, text)
    assert code == 2
    first = err.splitlines()[0]
    assert f"bad.lk:{line}:{column}: error: " in first, err
    assert fragment in first, err
    if text:
        # the offending source line and a caret under the column
        lines = err.splitlines()
        assert lines[1].strip() == text.splitlines()[line - 1].strip()
        assert lines[2].index("^") == column + 1


def test_import_cycle(spec):
    spec('import "b.lk";\nthread t { skip; }\n', "a.lk")
    path_b = spec('import "a.lk";\n', "b.lk")
    code, out, err = cli("check", path_b.replace("b.lk", "a.lk"))
    assert code == 2 and "import cycle: a.lk -> b.lk -> a.lk" in err


def test_binary_junk(spec, tmp_path):
    path = tmp_path / "junk.lk"
    path.write_bytes(bytes(range(256)) * 8)
    code, out, err = cli("check", str(path))
    assert code == 2 and "not UTF-8 text" in err and "Traceback" not in err


def test_a_very_long_line(spec):
    code, err = check(spec, "thread t { " + "skip; " * 60_000 + "x }")  # 360 KB: under the file size limit
    assert code == 2 and "error:" in err
    assert max(len(line) for line in err.splitlines()) < 300  # the snippet is cut to a window


def test_deep_nesting_is_an_error_not_a_crash(spec):
    code, err = check(spec, "bool b; thread t { b = " + "!" * 300_000 + "true; }")
    assert code == 2 and "nested more than" in err


def test_unknown_define(spec):
    path = spec("const N = 2;\nthread t { skip; }\n")
    code, out, err = cli("check", "-D", "M=3", path)
    assert code == 2 and "-D M: the spec has no const 'M'" in err
    code, out, err = cli("check", "-D", "N=x", path)
    assert code == 2 and "'N' is an int const" in err
    code, out, err = cli("check", "-D", "N", path)
    assert code == 2 and "-D wants NAME=VALUE" in err


def test_missing_file():
    code, out, err = cli("verify", "/nonexistent/spec.lk")
    assert code == 2 and "cannot read /nonexistent/spec.lk" in err


def test_bad_option_is_exit_two():
    code, out, err = cli("verify", "--max-states", "0", "x.lk")
    assert code == 2 and "must be at least 1" in err
