"""The kernel specs (specs/*.lk) through the CLI: each run exits 0 (every verdict as its
`expect` lines say), the verdicts that answer the 2010 thread's questions are the ones
docs/kernel-questions.md states, and that document is current."""
from __future__ import annotations

import importlib.util
import io
import re
import sys
from pathlib import Path

import pytest

from lockcheck.cli import main

REPO = Path(__file__).resolve().parent.parent
SPECS = sorted((REPO / "specs").glob("*.lk"))

# spec -> {property: verdict}: the answer each spec gives (a subset of its table)
VERDICTS: dict[str, dict[str, str]] = {
    "ext4.lk": {"no_remove_under_writeback": "holds", "io_on_cached_page": "holds"},
    "ext4_unlock_early.lk": {"no_remove_under_writeback": "violated", "io_on_cached_page": "violated",
                             "set_page_writeback.requires": "violated",
                             "writepage_redirty_or_writeback": "violated"},
    "ext4_truncate_nowait.lk": {"no_remove_under_writeback": "violated", "io_on_cached_page": "violated"},
    "ext4_reclaim.lk": {"no_oom": "violated", "refused_never_activated": "holds",
                        "a_ops_writepage.ensures": "holds", "writepage_redirty_or_writeback": "holds"},
    "ext3_reclaim.lk": {"no_oom": "holds", "io_on_cached_page": "holds"},
    "ext4_reclaim_flusher.lk": {"no_oom": "violated", "lock_order": "holds"},
    "ext4_journal.lk": {"lock_order": "violated", "deadlock": "violated"},
    "ext4_journal_refuse.lk": {"lock_order": "holds", "deadlock": "holds", "a_ops_writepage.ensures": "holds"},
    "shmem.lk": {"a_ops_writepage.ensures": "holds", "unlock_page.requires": "holds", "release_unheld": "holds"},
    "shmem_activate_unlocked.lk": {"a_ops_writepage.ensures": "violated", "unlock_page.requires": "violated",
                                   "release_unheld": "violated"},
    "btrfs.lk": {"no_oom": "violated", "a_ops_writepage.ensures": "holds",
                 "writepage_redirty_or_writeback": "holds", "deadlock": "holds"},
    "btrfs_flusher.lk": {"no_oom_throttled": "holds", "deadlock": "holds", "io_on_cached_page": "holds"},
    "ext3.lk": {"no_remove_under_writeback": "holds", "io_on_cached_page": "holds"},
    "ext3_lock_only.lk": {"io_on_cached_page": "violated", "writepage_redirty_or_writeback": "violated"},
    "cluster.lk": {"no_remove_in_bio": "holds", "io_on_cached_page": "holds"},
    "cluster_first_only.lk": {"no_remove_in_bio": "violated", "io_on_cached_page": "violated"},
    "truncate_lock.lk": {"no_remove_under_writeback": "holds", "io_on_cached_page": "holds",
                         "deadlock": "holds", "lock_order": "holds"},
    "truncate_lock_inverted.lk": {"deadlock": "violated", "lock_order": "violated"},
    # before the fix (FIXED=false); tests/test_fixed_specs.py checks the FIXED=true side
    "end_writeback_nrpages.lk": {"bug": "violated", "tree_and_count_agree": "holds"},
    "end_page_writeback_uaf.lk": {"use_after_free": "violated", "bug": "holds"},
    "lock_page_killable_starvation.lk": {"deadlock": "violated"},
    "page_mkwrite_race.lk": {"dirty_page_has_metadata": "violated", "writepage_redirty_or_writeback": "holds"},
    "lock_page_fairness.lk": {"first_come_first_served": "violated", "deadlock": "holds"},
}


def verify(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["verify", *argv], out, err)
    return code, out.getvalue(), err.getvalue()


def table(text: str) -> dict[str, str]:
    """property -> verdict, from the CLI's verdict table (verbose: every built-in check)."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"(\S+)\s+(invariant|assertion|requires|ensures|builtin|lemma)\s+(holds|violated|unknown)\s",
                     line)
        if m:
            rows[m.group(1)] = m.group(3)
    return rows


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_spec_verdicts_as_expected(path):
    code, out, err = verify("-v", str(path))
    assert code == 0, out + err
    got = table(out)
    for prop, verdict in VERDICTS.get(path.name, {}).items():
        assert got.get(prop) == verdict, f"{path.name}: {prop} is {got.get(prop)}, want {verdict}\n{out}"


def test_every_spec_has_its_verdicts_listed():
    assert {p.name for p in SPECS} >= set(VERDICTS)
    missing = {p.name for p in SPECS} - set(VERDICTS)
    assert not missing, f"add the answers of {sorted(missing)} to VERDICTS"


def test_every_spec_states_its_question_and_expectations():
    for path in SPECS:
        text = path.read_text()
        assert text.startswith("// specs/"), f"{path.name} must start with a comment stating its question"
        assert "expect " in text, f"{path.name} has no expect line"


def test_ext3_unlock_before_submit_also_holds():
    code, out, err = verify("-v", "-D", "UNLOCK_BEFORE_SUBMIT=true", str(REPO / "specs" / "ext3.lk"))
    assert code == 0, out + err
    assert table(out)["io_on_cached_page"] == "holds"


def test_reclaim_scales_with_consts():
    # more pinned and more delalloc pages: still OOM on ext4, still progress on ext3
    code, out, _ = verify("-v", "-D", "NPAGES=3", "-D", "NPINNED=1", str(REPO / "specs" / "ext4_reclaim.lk"))
    assert code == 0 and table(out)["no_oom"] == "violated"
    code, out, _ = verify("-v", "-D", "NPAGES=3", "-D", "NPINNED=1", str(REPO / "specs" / "ext3_reclaim.lk"))
    assert code == 0 and table(out)["no_oom"] == "holds"


def test_cluster_of_two_pages():
    code, out, _ = verify("-v", "-D", "NPAGES=2", str(REPO / "specs" / "cluster_first_only.lk"))
    assert code == 0 and table(out)["no_remove_in_bio"] == "violated"


def _questions_module():
    spec = importlib.util.spec_from_file_location("kernel_questions", REPO / "tools" / "kernel_questions.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_kernel_questions_doc_is_current():
    module = _questions_module()
    committed = (REPO / "docs" / "kernel-questions.md").read_text()
    assert module.generate() == committed, "docs/kernel-questions.md is stale: run python tools/kernel_questions.py"


def test_kernel_questions_doc_cites_every_spec():
    committed = (REPO / "docs" / "kernel-questions.md").read_text()
    for path in SPECS:
        assert f"specs/{path.name}" in committed, f"{path.name} answers no question in the doc"
