"""Hooks with a default: `default proc` in a model, replaced by a spec's proc of the same
name (docs/language.md, proc), and the model hooks built on it: ->invalidatepage, called by
truncate (models/pagecache.lk truncate_inode_page). A call of an empty default is no step,
so specs without the hook keep their state spaces; counted by hand below."""
from __future__ import annotations

from conftest import cli, run, verdicts
from test_idioms import counts, cross_check

MODEL = """
bool x = false;
bool hooked = false;
default proc hook(bool v) { }
proc work() { if (x) { hook(true); } }
thread t { work(); x = true; }
thread u { x = true; }
"""


def test_an_empty_default_hook_is_no_step(spec, tmp_path):
    # t: x = true (the test of x before the empty hook is no step either); u: x = true:
    # (t0,u0) (t1,u0) (t0,u1) (t1,u1) = 4 states, 4 transitions, as with no call at all
    assert counts(run(spec(MODEL))) == (4, 4)
    assert counts(run(spec(MODEL.replace("work(); ", "")))) == (4, 4)


def test_a_proc_of_the_same_name_replaces_the_default(spec, tmp_path):
    model = tmp_path / "model.lk"
    model.write_text(MODEL)
    replacing = "proc hook(bool v) { hooked = v; }\ninvariant never_hooked: !hooked;\n"
    # the spec before or after the import: either way its hook runs (t reads x after u set it)
    for text in ('import "model.lk";\n' + replacing, replacing + 'import "model.lk";\n'):
        path = tmp_path / "spec.lk"
        path.write_text(text)
        assert verdicts(run(str(path)))["never_hooked"] == "violated"
    cross_check(str(path))


def test_a_replacement_must_have_the_default_signature(spec, tmp_path):
    (tmp_path / "model.lk").write_text(MODEL)
    path = tmp_path / "spec.lk"
    path.write_text('import "model.lk";\nproc hook(int[0..1] v) { skip; }\n')
    code, _, err = cli("verify", str(path))
    assert code == 2 and "replaces a default proc of another signature" in err and "model.lk:4" in err
    path.write_text('import "model.lk";\ndefault proc hook(bool v) { skip; }\n')
    code, _, err = cli("verify", str(path))
    assert code == 2 and "'hook' is declared twice" in err
    code, _, err = cli("verify", spec("bool default; thread t { skip; }"))
    assert code == 2


INVALIDATE = """
import "truncate.lk";
const NPAGES = 2;
page pages[NPAGES];
extend struct page {
    bool buffers = true;        // PagePrivate: buffer heads attached
}
HOOK
thread truncate { truncate_inode_pages_range(); }
invariant no_buffers_on_a_truncated_page: forall p in pages: !p.in_cache -> !p.buffers;
"""


def test_truncate_calls_the_specs_invalidatepage(spec):
    # mm/truncate.c truncate_complete_page: do_invalidatepage before the page leaves the cache
    hook = "proc invalidatepage(page p) { p.buffers = false; }"
    result = run(spec(INVALIDATE.replace("HOOK", hook)))
    assert verdicts(result)["no_buffers_on_a_truncated_page"] == "holds"
    # without it (the default: no private data) the buffers stay on the removed page
    assert verdicts(run(spec(INVALIDATE.replace("HOOK", ""))))["no_buffers_on_a_truncated_page"] == "violated"
    # one thread: per page, trylock, the writeback test, the in_cache test, the hook, the
    # removal, unlock = 6 steps; then the while test: 2 * 6 + 1 = 13 steps, 14 states; with
    # the default hook the in_cache test and the hook are no steps: 2 * 4 + 1 = 9, 10 states
    assert counts(result) == (14, 13)
    assert counts(run(spec(INVALIDATE.replace("HOOK", "")))) == (10, 9)
    cross_check(spec(INVALIDATE.replace("HOOK", hook)))
