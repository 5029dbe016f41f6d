/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Giving back what start-up touched. A process's RSS counts every page it has mapped, and
 * most of a fresh medic's are clean pages of library and program text that the kernel
 * mapped around each fault (fault-around maps up to 16 cached pages per fault): policy
 * parsing, recovery and the first apply touch code the idle agent never runs again. */

#include <stddef.h>
#include <stdint.h>

struct memtrim_range {
        uintptr_t start, end;
};

/* The mappings of an smaps text whose pages can be dropped with nothing lost: private
 * file mappings, not writable, not locked, with no anonymous (copied-on-write) page.
 * Relocated read-only data (RELRO) and a debugger's breakpoints are anonymous pages in a
 * read-only mapping, so they are left alone. Returns how many were stored (at most max),
 * or -EBADMSG for text that is not smaps. */
int memtrim_plan(const char *smaps, struct memtrim_range *ranges, size_t max);

/* malloc_trim(), then MADV_DONTNEED over memtrim_plan() of /proc/self/smaps: what the
 * kernel's own reclaim does to clean file pages under memory pressure, done now. A page
 * needed again is mapped back from the page cache on its next use (a minor fault).
 * Stores the RSS given back in KiB (VmRSS before and after) when released_kib is set.
 * Returns 0 or -errno. */
int memtrim_release(long *released_kib);
