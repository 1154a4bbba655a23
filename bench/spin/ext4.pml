/*
 * ext4.pml -- SPIN second opinion for lockcheck: truncate vs. writeback.
 *
 * Scenario (see docs/kernel-notes.md for the kernel sources behind it):
 *   truncate       mm/truncate.c: truncate_inode_pages_range() (2.6.34),
 *                  second (blocking) pass: lock_page; wait_on_page_writeback;
 *                  truncate_inode_page; unlock_page -- for each page in order.
 *   flusher        mm/page-writeback.c: write_cache_pages() -> a ->writepage
 *                  that really writes the page (fs/buffer.c:
 *                  __block_write_full_page(), reached from ext4_writepage()
 *                  for pages without delalloc buffers).
 *   io_completion  fs/buffer.c: end_buffer_async_write() -> end_page_writeback().
 *
 * Invariant no_remove_under_writeback: for every page p,
 *   !in_cache[p] -> !writeback[p]
 * checked by the monitor process below (a guard that only becomes executable
 * in a violating state, so it adds no states of its own), plus the assert in
 * io_completion ("no I/O completes on a page no longer in the cache").
 *
 * Variants (compile-time macros, e.g. spin -a -DNPAGES=4 -DNO_WAIT_WB ext4.pml):
 *   NPAGES=n          number of pages (default 2, at most 8)
 *   UNLOCK_BEFORE_WB  buggy writepage: unlock_page before set_page_writeback
 *   NO_WAIT_WB        buggy truncate: no wait_on_page_writeback
 *   SUBMIT_BEFORE_UNLOCK  kernel order of __block_write_full_page():
 *                     set_page_writeback; submit_bh; unlock_page
 *                     (default is the brief's order: set_page_writeback;
 *                     unlock_page; submit)
 *
 * Modelling discipline (same as lockcheck): every statement is one atomic
 * step with at most one read or read-modify-write of shared state; lock
 * acquisition is an atomic test-and-set; a condition that reads shared state
 * is its own step.  Loop counters are process-local (SPIN merges purely local
 * statements into the neighbouring step).
 */

#ifndef NPAGES
#define NPAGES 2
#endif
#if NPAGES < 1 || NPAGES > 8
#error "NPAGES must be in 1..8"
#endif

/* lock owners (0 = unlocked) */
#define TRUNC 1
#define FLUSH 2

/* io_state[p]: hand-off from flusher to io_completion */
#define UNDECIDED 0
#define SUBMITTED 1   /* writepage put the page under I/O */
#define SKIPPED   2   /* flusher finished page p without submitting I/O */

byte locked[NPAGES];          /* PG_locked, holds owner id */
bool writeback[NPAGES];       /* PG_writeback */
bool dirty[NPAGES] = true;    /* PG_dirty: every page starts dirty */
bool in_cache[NPAGES] = true; /* page->mapping == mapping */
byte io_state[NPAGES];

/* per-page invariant, and its conjunction over all pages (cpp has no loops,
 * so unrolled up to 8; the NPAGES test short-circuits the unused terms) */
#define OK(p)  (in_cache[p] || !writeback[p])
#define INV    (OK(0) && \
                (NPAGES < 2 || OK(1)) && (NPAGES < 3 || OK(2)) && \
                (NPAGES < 4 || OK(3)) && (NPAGES < 5 || OK(4)) && \
                (NPAGES < 6 || OK(5)) && (NPAGES < 7 || OK(6)) && \
                (NPAGES < 8 || OK(7)))

active proctype truncate()
{
	byte i;
	for (i : 0 .. NPAGES-1) {
		atomic { locked[i] == 0 -> locked[i] = TRUNC };   /* lock_page */
#ifndef NO_WAIT_WB
		!writeback[i];                                    /* wait_on_page_writeback */
#endif
		/* truncate_inode_page -> truncate_complete_page.  The kernel runs
		 * cancel_dirty_page() before remove_from_page_cache(); both happen
		 * under the page lock, so the order does not change any verdict. */
		in_cache[i] = false;                              /* remove_from_page_cache */
		dirty[i] = false;                                 /* cancel_dirty_page */
		locked[i] = 0                                     /* unlock_page */
	}
}

active proctype flusher()
{
	byte i;
	for (i : 0 .. NPAGES-1) {
		atomic { locked[i] == 0 -> locked[i] = FLUSH };   /* lock_page */
		if
		:: !in_cache[i] ->                                /* page->mapping != mapping */
			locked[i] = 0;                            /* continue_unlock: unlock_page */
			io_state[i] = SKIPPED                     /* harness: no I/O for page i */
		:: else ->
			if
			:: !dirty[i] ->                           /* !PageDirty: someone wrote it */
				locked[i] = 0;                    /* continue_unlock: unlock_page */
				io_state[i] = SKIPPED             /* harness: no I/O for page i */
			:: else ->
				dirty[i] = false;                 /* clear_page_dirty_for_io */
				/* ->writepage, page locked on entry */
#if defined(UNLOCK_BEFORE_WB)
				locked[i] = 0;                    /* BUG: unlock_page too early */
				d_step { assert(!writeback[i]); writeback[i] = true };  /* set_page_writeback */
				io_state[i] = SUBMITTED           /* submit_bh */
#elif defined(SUBMIT_BEFORE_UNLOCK)
				d_step { assert(!writeback[i]); writeback[i] = true };  /* set_page_writeback */
				io_state[i] = SUBMITTED;          /* submit_bh */
				locked[i] = 0                     /* unlock_page */
#else
				d_step { assert(!writeback[i]); writeback[i] = true };  /* set_page_writeback */
				locked[i] = 0;                    /* unlock_page */
				io_state[i] = SUBMITTED           /* submit_bh */
#endif
			fi
		fi
	}
}

active proctype io_completion()
{
	byte i;
	for (i : 0 .. NPAGES-1) {
		if
		:: io_state[i] == SUBMITTED ->
			assert(in_cache[i]);                      /* no I/O on a page no longer in the cache */
			writeback[i] = false                      /* end_page_writeback */
		:: io_state[i] == SKIPPED
		fi
	}
}

/* no_remove_under_writeback: blocked until the invariant fails */
active proctype monitor()
{
end:	atomic { !INV -> assert(INV) }
}
