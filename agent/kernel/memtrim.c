/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../util.h"
#include "memtrim.h"

/* One mapping of smaps as read so far. */
struct mapping {
        bool open, candidate;
        uintptr_t start, end;
};

static bool keep(const struct mapping *m, struct memtrim_range *ranges, size_t max, size_t *n) {
        if (m->open && m->candidate) {
                if (*n >= max)
                        return false;
                ranges[(*n)++] = (struct memtrim_range) { m->start, m->end };
        }
        return true;
}

/* Whether the VmFlags line (len bytes) has the two-letter flag. */
static bool has_flag(const char *line, size_t len, const char *flag) {
        for (size_t i = strlen("VmFlags:"); i + 3 <= len; i++)
                if (line[i] == ' ' && line[i + 1] == flag[0] && line[i + 2] == flag[1] &&
                    (i + 3 == len || line[i + 3] == ' '))
                        return true;
        return false;
}

/* "start-end perms offset dev inode [path]": a header line, or false. */
static bool parse_header(const char *line, struct mapping *m) {
        char perms[5];
        unsigned long long start, end, inode;
        int path_at = 0;

        if (sscanf(line, "%llx-%llx %4s %*x %*x:%*x %llu %n", &start, &end, perms, &inode, &path_at) != 4)
                return false;
        *m = (struct mapping) {
                .open = true,
                .start = (uintptr_t) start,
                .end = (uintptr_t) end,
                /* Private, not writable, backed by a file (not [vdso] and friends: inode 0). */
                .candidate = perms[1] != 'w' && perms[3] == 'p' && inode != 0 && line[path_at] == '/',
        };
        return true;
}

int memtrim_plan(const char *smaps, struct memtrim_range *ranges, size_t max) {
        struct mapping m = { 0 };
        size_t n = 0;
        bool any = false;

        for (const char *line = smaps; line && *line;) {
                const char *eol = strchr(line, '\n');
                struct mapping next;
                unsigned long long kib;

                if (parse_header(line, &next)) {
                        if (!keep(&m, ranges, max, &n))
                                return (int) n;
                        m = next;
                        any = true;
                } else if (m.open && sscanf(line, "Anonymous: %llu kB", &kib) == 1) {
                        if (kib > 0)
                                m.candidate = false;
                } else if (m.open && startswith(line, "VmFlags:")) {
                        /* Locked pages stay (madvise refuses them); so do I/O and
                         * pure-PFN mappings, whose pages are not the page cache's. */
                        size_t len = eol ? (size_t) (eol - line) : strlen(line);
                        if (has_flag(line, len, "lo") || has_flag(line, len, "io") || has_flag(line, len, "pf"))
                                m.candidate = false;
                }
                line = eol ? eol + 1 : NULL;
        }
        if (!any)
                return -EBADMSG;
        keep(&m, ranges, max, &n);
        return (int) n;
}

static long vm_rss_kib(void) {
        _cleanup_free_ char *status = NULL;
        const char *p;

        if (read_file("/proc/self/status", &status, NULL) < 0 || !(p = strstr(status, "\nVmRSS:")))
                return -1;
        return strtol(p + strlen("\nVmRSS:"), NULL, 10);
}

int memtrim_release(long *released_kib) {
        _cleanup_free_ char *smaps = NULL;
        _cleanup_free_ struct memtrim_range *ranges = NULL;
        long before = vm_rss_kib();
        int r, n;

        r = read_file("/proc/self/smaps", &smaps, NULL);
        if (r < 0)
                return r;
        /* One range per mapping at most; a mapping's header line is longer than 40 bytes. */
        size_t max = strlen(smaps) / 40 + 1;
        ranges = xcalloc(max, sizeof(*ranges));
        n = memtrim_plan(smaps, ranges, max);
        if (n < 0)
                return n;
        /* The text is read and planned before anything is given back: the heap the read
         * used goes first, then the pages. */
        free(smaps);
        smaps = NULL;
        malloc_trim(0);
        for (int i = 0; i < n; i++)
                if (madvise((void *) ranges[i].start, ranges[i].end - ranges[i].start, MADV_DONTNEED) < 0)
                        return -errno;
        if (released_kib)
                *released_kib = before >= 0 ? before - vm_rss_kib() : 0;
        return 0;
}
