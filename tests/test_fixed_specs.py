"""The specs of kernel fixes (specs/ with a FIXED const): one spec gates both sides. Before
the fix (FIXED=false) the race is found, with the counterexample the commit describes; after
it (FIXED=true) the same property holds; both runs exit 0 because the expect lines depend on
FIXED. The engines agree on both sides."""
from __future__ import annotations

import pytest

from conftest import REPO, cli, run, verdicts
from test_engines_agree import cross_check as symbolic_cross_check
from test_frontier import assert_agree


def cross_check(path: str, **kwargs) -> None:
    """bmc and induction against the explicit engine, and the frontier engine against it."""
    symbolic_cross_check(path, **kwargs)
    assert_agree(path)

FIXES = {
    # spec: (the property the fix is about, what the counterexample's last step says)
    "end_writeback_nrpages.lk": ("bug", "BUG_ON(inode->i_data.nrpages)"),
    "end_page_writeback_uaf.lk": ("use_after_free", "use after free: pages[0].wb_wait of a page"),
    "lock_page_killable_starvation.lk": ("deadlock", ""),
    "page_mkwrite_race.lk": ("dirty_page_has_metadata", ""),
    "lock_page_fairness.lk": ("first_come_first_served", "a waiter that came later took the page lock first"),
    "shmem_swap_truncate.lk": ("shmem_swap_has_owner", ""),
    "punch_hole_fault.lk": ("no_page_on_freed_blocks", ""),
}


@pytest.mark.parametrize("name", sorted(FIXES))
def test_before_the_fix_the_race_is_found_and_after_it_the_property_holds(name):
    path = str(REPO / "specs" / name)
    prop, message = FIXES[name]
    before, after = run(path, FIXED=False), run(path, FIXED=True)
    assert verdicts(before)[prop] == "violated" and verdicts(after)[prop] == "holds"
    trace = next(p for p in before.properties if p.name == prop).trace
    assert trace is not None and message in (trace.steps[-1].failed or "")
    for fixed in ("false", "true"):
        assert cli("verify", "-q", "-D", f"FIXED={fixed}", path)[0] == 0


def test_the_killed_waiter_swallows_the_wakeup(tmp_path):
    # the shortest deadlock: both queue, unlock wakes the killable one, it is killed and
    # leaves with finish_wait; the other sleeps with the page unlocked
    result = run(str(REPO / "specs" / "lock_page_killable_starvation.lk"))
    trace = next(p for p in result.properties if p.name == "deadlock").trace
    texts = [s.text for s in trace.steps]
    assert any("finish_wait" in t for t in texts) and any("wake_up" in t for t in texts)
    assert {ts.status for ts in trace.final if ts.thread == "waiter"} == {"blocked"}


def test_the_woken_waiter_is_overtaken_by_the_next_in_line():
    # the stealer's wakeup goes to w[1], the first in line once w[0] was woken (FIFO
    # wake_up), while w[0] has not run yet
    result = run(str(REPO / "specs" / "lock_page_fairness.lk"))
    trace = next(p for p in result.properties if p.name == "first_come_first_served").trace
    wakes = [s for s in trace.steps if "wake_up" in s.text]
    assert [s.thread for s in wakes] == ["holder", "stealer"]
    assert [c.name for c in wakes[1].changes if not c.local] == ["page_wait.w[1]"]
    assert trace.steps[-1].thread == "w[1]"


# the FIXED=false side is each spec as committed: tests/test_engines_agree.py checks it
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "page_mkwrite_race.lk" else n
                                  for n in sorted(FIXES)])
def test_engines_agree_after_the_fix(tmp_path, name):
    text = (REPO / "specs" / name).read_text().replace("const FIXED = false;", "const FIXED = true;")
    path = tmp_path / name
    path.write_text(text)
    cross_check(str(path), induction_depth=1)
