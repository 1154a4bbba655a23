#!/usr/bin/env python3
"""Generate docs/kernel-questions.md: one section per question of the 2010 linux-mm
writeback thread, with the spec that answers it, the verdicts and the counterexamples
exactly as `lockcheck verify` prints them.

    python tools/kernel_questions.py            # rewrite docs/kernel-questions.md
    python tools/kernel_questions.py --check    # exit 1 if the committed doc is stale

The text comes from the CLI (lockcheck.cli.main), so the document follows the reporter's
format. Only the run time is dropped from the statistics line (it changes from run to run).
"""
from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lockcheck.cli import main as lockcheck_main  # noqa: E402

DOC = REPO / "docs" / "kernel-questions.md"


@dataclass
class Run:
    spec: str                                   # path relative to the repo
    defines: dict[str, str] = field(default_factory=dict)
    show: dict[str, str] = field(default_factory=dict)   # violated property -> what its counterexample shows


@dataclass
class Question:
    title: str
    question: str
    runs: list[Run]
    answer: str
    later: str


QUESTIONS: list[Question] = [
    Question(
        "PG_writeback and truncate",
        "Does PG_writeback protect a page from truncate the way PG_locked does?",
        [
            Run("specs/ext4.lk"),
            Run("specs/ext4_unlock_early.lk", show={"io_on_cached_page":
                "ext4_writepage unlocks before set_page_writeback; truncate locks the page in that "
                "window, finds no writeback, removes it, and the write I/O then completes on it."}),
            Run("specs/ext4_truncate_nowait.lk", show={"io_on_cached_page":
                "truncate without wait_on_page_writeback removes a page whose bio is in flight: "
                "block_write_full_page has already unlocked it."}),
        ],
        "Yes, on two conditions, and only together: ->writepage sets PG_writeback before it unlocks "
        "the page, and truncate waits for PG_writeback under the page lock (truncate_inode_pages_range "
        "does: it skips such pages in its first pass and waits in its second). Drop either and truncate "
        "removes a page with I/O in flight.",
        "Unchanged in kind: today's truncate_inode_pages_range (mm/truncate.c) still does folio_lock; "
        "folio_wait_writeback; truncate_inode_folio; folio_unlock in its second pass, and writeback "
        "starts before the folio is unlocked.",
    ),
    Question(
        "ext2/ext3: the page lock across block_write_full_page",
        "ext2/ext3 keep the page locked until block_write_full_page has submitted the I/O; is that needed?",
        [
            Run("specs/ext3.lk"),
            Run("specs/ext3.lk", defines={"UNLOCK_BEFORE_SUBMIT": "true"}),
            Run("specs/ext3_lock_only.lk", show={"io_on_cached_page":
                "a ->writepage that holds the page lock across submit_bh but sets no PG_writeback: "
                "once it unlocks, truncate removes the page while its bio is in flight."}),
        ],
        "No. set_page_writeback; unlock_page; submit is as safe as set_page_writeback; submit; "
        "unlock_page (both hold). What keeps truncate away from the I/O is PG_writeback; the page lock "
        "held across the submission alone does not (ext3_lock_only.lk).",
        "ext4 moved to its own bio path in 2.6.37 (fs/ext4/page-io.c, ext4_bio_write_page, today "
        "ext4_bio_write_folio): start writeback, add the buffers to a bio, unlock, submit the bio later.",
    ),
    Question(
        "A cluster of pages in one I/O",
        "Writing a cluster of pages in one I/O: must every page get set_page_writeback() before the I/O "
        "is submitted?",
        [
            Run("specs/cluster.lk"),
            Run("specs/cluster_first_only.lk", show={"no_remove_in_bio":
                "PG_writeback only on the first page: truncate locks the second page once the writer "
                "unlocks it, sees no writeback, and removes it while it is in the bio."}),
        ],
        "Yes: every page, before it is unlocked. A page of the bio without PG_writeback is invisible to "
        "truncate's wait.",
        "fs/mpage.c already did this per page in 2.6.34 (__mpage_writepage: set_page_writeback; "
        "unlock_page; the bio is submitted later), and ext4's page-io.c does the same per folio.",
    ),
    Question(
        "ext4 refusing delalloc pages: OOM",
        "With most memory pinned and the rest delalloc pages, does ext4's refusal in ->writepage make "
        "reclaim fail, where ext3 copes?",
        [
            Run("specs/ext4_reclaim.lk", show={"no_oom":
                "two reclaim passes: the pinned page is culled, the delalloc page is refused "
                "(redirty, unlock, return 0 = PAGE_SUCCESS with the page still dirty: kept, not "
                "activated), nothing is freed, out_of_memory()."}),
            Run("specs/ext3_reclaim.lk"),
            Run("specs/ext4_reclaim_flusher.lk", show={"no_oom":
                "the flusher holds the delalloc page's lock (with its journal handle) while both "
                "reclaim passes run; trylock_page fails, congestion_wait has no I/O to wait for, "
                "nothing is freed."}),
        ],
        "Yes. A refusal (redirty, unlock, return 0) is PAGE_SUCCESS to shrink_page_list with the page "
        "still dirty, so the page is kept, never activated and rescanned, and reclaim frees nothing: OOM "
        "is reachable. ext3 allocated the blocks in write_begin, so its ->writepage writes the page and "
        "the next pass frees it. With the flusher allocating concurrently the checker still finds the "
        "OOM: nothing makes 2.6.34 direct reclaim wait for the flusher (congestion_wait only naps on I/O "
        "already in flight), so the outcome is a race on timing, which the checker, making no speed "
        "assumptions, reports as reachable; the interleavings where the flusher wins are there too.",
        "Linux 3.2 stopped direct reclaim from calling ->writepage on file pages (Mel Gorman, \"mm: "
        "vmscan: do not writeback filesystem pages in direct reclaim\"); reclaim wakes the flusher "
        "threads and throttles on writeback instead (reclaim_throttle(), VMSCAN_THROTTLE_WRITEBACK, "
        "5.16). specs/btrfs_flusher.lk checks that design.",
    ),
    Question(
        "ext4, the journal and the page lock",
        "Why may ext4_writepage not allocate blocks (start a journal handle) for a delalloc page?",
        [
            Run("specs/ext4_journal.lk", show={
                "deadlock": "the writer holds the jbd2 handle and waits for the page lock; the flusher "
                            "holds the page lock in ->writepage and waits for a handle.",
                "lock_order": "the cycle as lockdep reports it: ext4_da_write_begin takes the page lock "
                              "under the handle, the allocating ->writepage takes the handle under the "
                              "page lock; the trace reaches the second order."}),
            Run("specs/ext4_journal_refuse.lk"),
        ],
        "ext4_da_write_begin takes the handle, then the page lock; a ->writepage that starts a handle "
        "under the page lock closes an ABBA cycle, and the deadlock is reachable. ext4's refusal keeps the "
        "order acyclic (handle -> page lock everywhere; allocation happens in ext4_da_writepages, which "
        "takes the handle first); the price is the OOM above.",
        "ext4 kept the order journal -> page lock and allocates only in ->writepages (ext4_da_writepages, "
        "later ext4_writepages), under a handle taken before the page locks.",
    ),
    Question(
        "AOP_WRITEPAGE_ACTIVATE",
        "Documentation/filesystems/Locking asks for AOP_WRITEPAGE_ACTIVATE when ->writepage refuses a "
        "page; what does it mean for the page lock?",
        [
            Run("specs/shmem.lk"),
            Run("specs/shmem_activate_unlocked.lk", show={"release_unheld":
                "the ->writepage unlocks and returns AOP_WRITEPAGE_ACTIVATE; shrink_page_list "
                "activates the page and unlocks it a second time."}),
        ],
        "AOP_WRITEPAGE_ACTIVATE means \"the page is still locked\": shmem_writepage returns it for "
        "reclaim with the page locked and pageout/shrink_page_list activate and unlock it, which holds. A "
        "filesystem that refuses the usual way (unlock) must return 0; returning the special value after "
        "unlocking is a double unlock.",
        "AOP_WRITEPAGE_ACTIVATE stayed essentially shmem's (mm/shmem.c) return value for reclaim; not "
        "re-verified against today's source here.",
    ),
    Question(
        "btrfs refusing under PF_MEMALLOC",
        "btrfs_writepage refuses every page under PF_MEMALLOC: is that legal, and can reclaim progress?",
        [
            Run("specs/btrfs.lk", show={"no_oom":
                "kswapd and then direct reclaim, both with PF_MEMALLOC, have every dirty page "
                "refused by btrfs_writepage; nothing is freed."}),
            Run("specs/btrfs_flusher.lk"),
        ],
        "The refusal is within the ->writepage contract (redirty, unlock, return 0). But kswapd has "
        "PF_MEMALLOC too in 2.6.34, so writeback from reclaim (direct or kswapd) is refused entirely and "
        "OOM is reachable. When the flusher (no PF_MEMALLOC) writes the pages and reclaim waits for that "
        "writeback before its next pass, reclaim makes progress.",
        "That is the design later kernels adopted: no ->writepage of file pages from direct reclaim "
        "(3.2), flusher wakeups and throttling on writeback (reclaim_throttle, 5.16).",
    ),
    Question(
        "A higher-level lock against truncate",
        "Would a higher-level lock that keeps truncate from racing writepage/writeback be simpler, and in "
        "which order must it go with the page lock?",
        [
            Run("specs/truncate_lock.lk"),
            Run("specs/truncate_lock_inverted.lk", show={
                "deadlock": "the lock taken inside ->writepage, under the page lock: truncate holds the "
                            "lock and waits for the page, the flusher holds the page and waits for the lock.",
                "lock_order": "truncate takes page locks under invalidate_lock, the flusher's ->writepage "
                              "takes invalidate_lock under the page lock; the trace reaches the second "
                              "order."}),
        ],
        "It works, without wait_on_page_writeback in truncate, if it is taken outside every page lock "
        "(invalidate_lock -> page lock), i.e. around ->writepages and held until the I/O completes; "
        "->writepage (and reclaim's pageout) run with the page locked and cannot take it.",
        "Linux 5.15 added mapping->invalidate_lock (Jan Kara): exclusive in truncate and hole punch, "
        "shared in faults, reads and readahead; the documented order is invalidate_lock -> folio lock "
        "(mm/filemap.c). Writeback does not take it: truncate still waits for writeback per folio.",
    ),
]

# time and rate vary from run to run: the doc keeps what the search found, not how fast
_TIMING = re.compile(r", [0-9.]+ s(?=[,\s(])| \([0-9,]+ states/s\)")


def run_cli(run: Run) -> tuple[int, str]:
    argv = ["verify"]
    for name, value in run.defines.items():
        argv += ["-D", f"{name}={value}"]
    argv.append(str(REPO / run.spec))
    out, err = io.StringIO(), io.StringIO()
    code = lockcheck_main(argv, out, err)
    text = (out.getvalue() + err.getvalue()).replace(str(REPO) + "/", "")
    return code, _TIMING.sub("", text).rstrip() + "\n"


def split_output(text: str) -> tuple[str, dict[str, str], str]:
    """The verdict table, each '-- NAME violated' block (marker line included) by name, and the
    statistics line."""
    lines = text.splitlines()
    table: list[str] = []
    blocks: dict[str, list[str]] = {}
    stats = ""
    current: list[str] | None = None
    for line in lines[1:]:
        m = re.match(r"-- (\S+) violated", line)
        if m:
            current = blocks.setdefault(m.group(1), [])
        elif re.match(r"\d+ states[, ]", line):
            stats = line
            current = None
            continue
        if current is not None:
            current.append(line)
        elif not blocks and not line.startswith("also checked") and line.strip():
            table.append(line)
    return "\n".join(table), {k: "\n".join(v).rstrip() for k, v in blocks.items()}, stats


def command_line(run: Run) -> str:
    defines = "".join(f" -D {k}={v}" for k, v in run.defines.items())
    return f"python -m lockcheck verify{defines} {run.spec}"


# Later kernel fixes of races in the same code, each one spec with a FIXED const that gates
# both sides (`expect ... when FIXED`): the race before the fix, the proof after it.
FIXES: list[Question] = [
    Question(
        "end_writeback() and reclaim: BUG_ON(nrpages)",
        "Can evict's final truncate miss a page that reclaim is removing, so that end_writeback() "
        "finds mapping->nrpages != 0? (commit 08142579b6ca, Jan Kara, 2011, \"mm: fix assertion "
        "mapping->nrpages == 0 in end_writeback()\")",
        [
            Run("specs/end_writeback_nrpages.lk", show={"bug":
                "reclaim has deleted the page from the radix tree but not yet dropped nrpages; "
                "truncate's lookup finds nothing and end_writeback's BUG_ON fires: the commit's "
                "CPU0/CPU1 diagram, step by step."}),
            Run("specs/end_writeback_nrpages.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix: radix_tree_delete and nrpages-- are two steps of __delete_from_page_cache, "
        "and truncate_inode_pages looks the pages up without mapping->tree_lock. Taking tree_lock "
        "around the BUG_ON waits for reclaim to finish the removal.",
        "The same window is why later kernels check mapping->nrpages under the i_pages lock "
        "(clear_inode)."),
    Question(
        "end_page_writeback() and truncate: a wakeup on a freed page",
        "Can end_page_writeback() touch a page truncate has already freed? (commit 073861ed77b6, "
        "Hugh Dickins, 2021, \"mm: fix VM_BUG_ON(PageTail) and BUG_ON(PageWriteback)\")",
        [
            Run("specs/end_page_writeback_uaf.lk", show={"use_after_free":
                "PG_writeback is cleared; truncate's wait_on_page_writeback sees it clear, removes the "
                "page and drops both references; then wake_up_page touches the freed page's waitqueue."}),
            Run("specs/end_page_writeback_uaf.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix: writeback holds no page reference of its own, and clearing the bit and "
        "waking its waiters are two steps. A get_page/put_page pair around them keeps the page alive.",
        "The race is invisible to a model whose wait_on_page_writeback is an ideal `await`: "
        "models/pagecache.lk has the kernel's wait_on_page_bit loop and the two-step end_page_writeback."),
    Question(
        "lock_page_killable() and exclusive wakeups",
        "Can a killed lock_page_killable() waiter swallow the wakeup meant for the next waiter? "
        "(commit 777c6c5f1f6e, Johannes Weiner, 2009, \"wait: prevent exclusive waiter starvation\")",
        [
            Run("specs/lock_page_killable_starvation.lk", show={"deadlock":
                "unlock_page wakes one exclusive waiter, the killable one; it is killed, leaves with "
                "finish_wait, and the other waiter sleeps with the page unlocked."}),
            Run("specs/lock_page_killable_starvation.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix. abort_exclusive_wait() passes the wakeup on when the aborting waiter "
        "was already woken.",
        "Linux 4.10's PageWaiters rework (62906027091f) reopened a variant; a8b169afbf06 makes a woken "
        "lock_page_killable() take the lock before it looks at signals."),
    Question(
        "->page_mkwrite and writeback: a dirty page without its metadata",
        "Can writeback clean a page between ->page_mkwrite and the fault's set_page_dirty, so that the "
        "page ends up dirty without what the filesystem attached to it in ->page_mkwrite? (commit "
        "b827e496c893, Nick Piggin, 2009, \"mm: close page_mkwrite races\")",
        [
            Run("specs/page_mkwrite_race.lk", show={"dirty_page_has_metadata":
                "->page_mkwrite reserves and unlocks; the flusher cleans the page and ->writepage gives the "
                "reservation up; the fault then relocks, unlocks and dirties the page: dirty, no reservation."}),
            Run("specs/page_mkwrite_race.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix: __do_fault dropped the page lock between ->page_mkwrite and "
        "set_page_dirty_balance. With ->page_mkwrite returning VM_FAULT_LOCKED and set_page_dirty "
        "before unlock_page, writeback cannot run in between.",
        "Filesystems converted to return VM_FAULT_LOCKED (block_page_mkwrite, ext4, btrfs, nfs); "
        "models/fault.lk has both versions of the fault path."),
    Question(
        "lock_page() and its waiters: first come, first served?",
        "Can a task that slept in lock_page() be overtaken by one that came after it, because the "
        "woken waiter must still win the bit and queues again at the tail when it loses? (commit "
        "2a9127fcf229, Linus Torvalds, 2020, \"mm: rewrite wait_on_page_bit_common() logic\")",
        [
            Run("specs/lock_page_fairness.lk", show={"first_come_first_served":
                "unlock_page clears PG_locked and wakes w[0], the first in line; before w[0] runs, the "
                "stealer takes and drops the bit and its wakeup goes to w[1], which takes the lock first."}),
            Run("specs/lock_page_fairness.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix: the wakeup only woke the first exclusive waiter, which then raced everyone "
        "for the bit. After it the wakeup takes the bit for that waiter (WQ_FLAG_DONE), or leaves it "
        "queued at the head when the bit is already taken, so the sleepers get the lock in queue order.",
        "The waitqueue model keeps the queue order (wake_up wakes the first exclusive waiter, "
        "__wake_up_common); with \"any one waiter\" the fixed version would look unfair too."),
    Question(
        "tmpfs writepage and truncate: a swap entry nobody owns",
        "Can shmem_truncate_range() free a swap entry between shmem_writepage() recording it in the "
        "file's swap vector and counting it with swap_shmem_alloc()? (commit 826267cf1e6c, Hugh "
        "Dickins, 2011, \"tmpfs: fix race between truncate and writepage\")",
        [
            Run("specs/shmem_swap_truncate.lk", show={"shmem_swap_has_owner":
                "shmem_writepage moves the page to the swap cache, sets the vector entry and drops "
                "info->lock; truncate frees the entry (the count is not set yet, the locked page stays "
                "in the swap cache); writepage then counts an entry the vector no longer names."}),
            Run("specs/shmem_swap_truncate.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix: swap_shmem_alloc() ran after spin_unlock(&info->lock). Under the lock, "
        "truncate finds the entry counted and frees the count with it.",
        "The orphaned SWAP_MAP_SHMEM count made swapoff loop looking for its owner; the swap cache "
        "(models/swap.lk) is also why truncate_complete_page rechecks page->mapping: tmpfs \"swizzles a "
        "page between a tmpfs inode and swapper_space\"."),
    Question(
        "Hole punching and page faults: invalidate_lock",
        "Can a page fault instantiate a page in a range hole punching has just cleared from the page "
        "cache, before the filesystem frees the range's blocks? (commit ea3d7209ca01, Jan Kara, 2015, "
        "\"ext4: fix races between page faults and hole punching\", and 730633f0b7f9, Jan Kara, 2021, "
        "\"mm: Protect operations adding pages to page cache with invalidate_lock\")",
        [
            Run("specs/punch_hole_fault.lk", show={"no_page_on_freed_blocks":
                "punch truncates the page cache (->invalidatepage drops the buffers); the fault adds a new "
                "page and ->readpage maps it to the blocks, still allocated; punch then frees them."}),
            Run("specs/punch_hole_fault.lk", defines={"FIXED": "true"}),
        ],
        "Yes, before the fix: page locks cannot help, the page did not exist yet. With invalidate_lock "
        "shared in filemap_fault around adding and reading the page, and exclusive in ext4_punch_hole "
        "around truncate_pagecache_range and the freeing of the blocks, the fault sees either the old "
        "blocks before the punch or the hole after it.",
        "5.15 moved ext4's i_mmap_sem and xfs's MMAPLOCK into mapping->invalidate_lock and took it in "
        "read and readahead too (\"fix a long standing race between hole punching and read(2) / "
        "readahead(2)\"); filemap_fault takes it only when it must create a page or bring it uptodate."),
]


def question_section(heading: str, q: Question) -> list[str]:
    """A question's lines: each run's verdict table, statistics and chosen counterexamples,
    then the answer."""
    out = [f"{heading} {q.title}", "", f"**Question.** {q.question}", ""]
    for run in q.runs:
        code, text = run_cli(run)
        table, blocks, stats = split_output(text)
        out += [f"`{command_line(run)}` (exit {code})", "", "```", table, "```", ""]
        if stats:
            out += [stats, ""]
        for prop, note in run.show.items():
            if prop not in blocks:
                out += [f"(no counterexample printed for {prop})", ""]
                continue
            out += [f"Counterexample for `{prop}`: {note}", "", "```", blocks[prop], "```", ""]
    out += [f"**Answer.** {q.answer}", "", f"**Later.** {q.later}", ""]
    return out


def generate() -> str:
    out = [
        "# The 2010 writeback thread, question by question",
        "",
        "<!-- Generated by tools/kernel_questions.py from `lockcheck verify`; do not edit by hand.",
        "     Regenerate: python tools/kernel_questions.py   Check: python tools/kernel_questions.py --check -->",
        "",
        "Ted Ts'o's questions on linux-mm/fsdevel (April 2010, \"No one seems to be using "
        "AOP_WRITEPAGE_ACTIVATE?\"), each answered by specs in `specs/` built from the models in "
        "`models/` (2.6.34-era code; each proc cites the kernel function it models). Every verdict "
        "and counterexample below is the checker's own output (run time left out).",
        "",
    ]
    for n, q in enumerate(QUESTIONS, 1):
        out += question_section(f"## {n}.", q)
    out += ["## Kernel fixes, before and after", "",
            "Later fixes of races in the same code. Each is one spec with a `FIXED` const: its `expect` "
            "lines depend on it (`expect violation ... when !FIXED;`), so `-D FIXED=false` shows the race "
            "and `-D FIXED=true` proves the fix.", ""]
    for n, q in enumerate(FIXES, 1):
        out += question_section(f"### {n}.", q)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/kernel-questions.md is stale")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        old = DOC.read_text() if DOC.exists() else ""
        if old != text:
            diff = difflib.unified_diff(old.splitlines(), text.splitlines(), str(DOC), "regenerated",
                                        lineterm="", n=1)
            print("\n".join(list(diff)[:60]))
            print(f"{DOC.relative_to(REPO)} is stale: run python tools/kernel_questions.py")
            return 1
        print(f"{DOC.relative_to(REPO)} is up to date")
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
