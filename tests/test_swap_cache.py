"""The swap cache of models/swap.lk and tmpfs's swap path (models/shmem_swap.lk): a page
moved by shmem_writepage leaves its file's page cache for the swap cache (page->mapping
identity), and the swap slot's counts (SWAP_HAS_CACHE, SWAP_MAP_SHMEM) follow the calls of
mm/swapfile.c. Small models with hand-counted states, the engines cross-checked."""
from __future__ import annotations

from conftest import run, verdicts
from test_idioms import counts, cross_check

HEAD = """
import "swap.lk";
const NPAGES = 1;
page pages[NPAGES];
"""

MOVE = HEAD + """
// shmem_writepage's move, under the page lock: add_to_swap_cache, then remove_from_page_cache
thread mover {
    lock_page(pages[0]);
    add_to_swap_cache(pages[0]);
    remove_from_page_cache(pages[0]);
    unlock_page(pages[0]);
}
"""


def test_a_page_moves_from_the_page_cache_to_the_swap_cache_under_its_lock(spec):
    # one thread, four steps: 5 states in a line; in both caches only while locked
    result = run(spec(MOVE))
    assert counts(result) == (5, 4)
    assert verdicts(result)["page_in_one_mapping"] == "holds"
    # unlocked between the two, another task could find the page in both mappings
    early = MOVE.replace("    remove_from_page_cache(pages[0]);\n    unlock_page(pages[0]);",
                         "    unlock_page(pages[0]);\n    lock_page(pages[0]);\n"
                         "    remove_from_page_cache(pages[0]);\n    unlock_page(pages[0]);")
    assert verdicts(run(spec(early)))["page_in_one_mapping"] == "violated"


FREE = HEAD + """
bool done = false;
init {
    // the page written to slot 0 and counted by tmpfs: in the swap cache, out of the file
    pages[0].in_cache = false;
    pages[0].swapcache = true;
    pages[0].dirty = false;
    swap_map[0].used = true;
    swap_map[0].has_cache = true;
    swap_map[0].shmem = true;
}
thread truncate { free_swap_and_cache(pages[0], swap_map[0]); done = true; }
invariant count_dropped: done -> !swap_map[0].shmem;
invariant page_and_slot_freed: done -> (!pages[0].swapcache && !swap_map[0].used && pages[0].dirty);
"""


def test_free_swap_and_cache_drops_the_count_and_the_unlocked_cache_page(spec):
    # truncate alone: swap_entry_free (SWAP_MAP_SHMEM -> 0; SWAP_HAS_CACHE keeps the slot),
    # trylock_page, the PageSwapCache && !PageWriteback test, delete_from_swap_cache (the
    # slot is free), SetPageDirty, unlock_page, done: 7 steps in a line, 8 states
    result = run(spec(FREE))
    assert counts(result) == (8, 7)
    assert verdicts(result)["page_and_slot_freed"] == "holds"


def test_a_swap_cache_page_locked_by_another_task_stays(spec):
    # the trylock fails while another task holds the page: the count goes, the page stays in
    # the swap cache and keeps its slot (SWAP_HAS_CACHE) until reclaim frees it
    text = FREE + "thread holder { lock_page(pages[0]); unlock_page(pages[0]); }\n"
    result = run(spec(text))
    assert verdicts(result)["count_dropped"] == "holds"
    assert verdicts(result)["page_and_slot_freed"] == "violated"
    cross_check(spec(text))



MAPPING_RECHECKS = """
import "shmem_swap.lk";
import "truncate.lk";
const NPAGES = 1;
page pages[NPAGES];
writeback_control reclaim_wbc;
init { reclaim_wbc.for_reclaim = true; }
proc writepage(page p, writeback_control wbc) -> aop {
    assert writepage_on_cached_page: p.in_cache, "->writepage on a page no longer in the mapping";
    aop ret = WRITEPAGE_OK;
    if (wbc.for_reclaim) {
        ret = shmem_writepage_swap(p, wbc, true);
    } else {
        ret = shmem_writepage(p, wbc);
    }
    return ret;
}
// mm/vmscan.c: shrink_page_list -> pageout(): page_mapping(page) checked, clear_page_dirty_for_io, ->writepage
thread kswapd {
    lock_page(pages[0]);
    if (pages[0].in_cache && pages[0].dirty) {
        bool was_dirty = clear_page_dirty_for_io(pages[0]);
        aop ret = a_ops_writepage(pages[0], reclaim_wbc);
        if (ret == AOP_WRITEPAGE_ACTIVATE) {
            unlock_page(pages[0]);
        } else {
            end_page_writeback(pages[0]);   // end_swap_bio_write
        }
    } else {
        unlock_page(pages[0]);
    }
}
thread flusher { write_cache_pages(false); }
thread truncate { truncate_inode_pages_range(); shmem_truncate_swap(); }
"""


def test_the_models_recheck_page_mapping_after_lock_page(spec):
    # kswapd moves the page to the swap cache; the flusher (write_cache_page: `if
    # (page->mapping != mapping)`) and truncate (truncate_complete_page) lock it afterwards
    # and leave it alone: ->writepage only ever sees a page of the mapping
    result = run(spec(MAPPING_RECHECKS))
    assert verdicts(result)["writepage_on_cached_page"] == "holds"
    assert verdicts(result)["page_in_one_mapping"] == "holds"
    assert verdicts(result)["deadlock"] == "holds"
