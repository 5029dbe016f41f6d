/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which mappings the agent gives back after start-up (from smaps text), and the release
 * itself in this process: RSS goes down, and every library still works afterwards
 * (relocated data and the heap were kept). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/kernel/memtrim.h"
#include "../../agent/util.h"
#include "helpers.h"

/* Six mappings, one of each case. */
static const char smaps[] =
        "55d0c0a00000-55d0c0a08000 r--p 00000000 fe:01 1234                       /usr/sbin/medic\n"
        "Size:                 32 kB\n"
        "Rss:                  32 kB\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd mr mw me sd \n"
        "55d0c0a08000-55d0c0a40000 r-xp 00008000 fe:01 1234                       /usr/sbin/medic\n"
        "Rss:                 212 kB\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd ex mr mw me sd \n"
        /* RELRO: read-only now, relocated (copied) at load. */
        "55d0c0a50000-55d0c0a52000 r--p 00050000 fe:01 1234                       /usr/sbin/medic\n"
        "Anonymous:             8 kB\n"
        "VmFlags: rd mr mw me ac sd \n"
        "55d0c0a52000-55d0c0a53000 rw-p 00052000 fe:01 1234                       /usr/sbin/medic\n"
        "Anonymous:             4 kB\n"
        "VmFlags: rd wr mr mw me ac sd \n"
        /* mlock()ed text */
        "7f0000000000-7f0000010000 r-xp 00000000 fe:01 99                         /usr/lib/libx.so\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd ex mr mw me lo sd \n"
        "7ffd1c1f0000-7ffd1c1f2000 r-xp 00000000 00:00 0                          [vdso]\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd ex mr mw me de sd \n"
        "7f0000100000-7f0000110000 r--s 00000000 fe:01 77                         /var/lib/shared.map\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd sh mr mw me ms sd \n"
        "7f0000200000-7f0000204000 r-xp 00000000 fe:01 55                         /usr/lib/liby.so\n"
        "Anonymous:             0 kB\n"
        "VmFlags: rd ex mr mw me sd";

static void test_plan(void **state) {
        (void) state;
        struct memtrim_range r[8];

        assert_int_equal(memtrim_plan(smaps, r, 8), 3);
        assert_true(r[0].start == 0x55d0c0a00000 && r[0].end == 0x55d0c0a08000);
        assert_true(r[1].start == 0x55d0c0a08000 && r[1].end == 0x55d0c0a40000);
        /* The last mapping, with no newline after it. */
        assert_true(r[2].start == 0x7f0000200000 && r[2].end == 0x7f0000204000);
        /* Room for fewer: the first ones. */
        assert_int_equal(memtrim_plan(smaps, r, 1), 1);
        assert_true(r[0].start == 0x55d0c0a00000);
        assert_int_equal(memtrim_plan("Rss: 4 kB\n", r, 8), -EBADMSG);
        assert_int_equal(memtrim_plan("", r, 8), -EBADMSG);
}

static long rss_kib(void) {
        _cleanup_free_ char *status = NULL;
        assert_int_equal(read_file("/proc/self/status", &status, NULL), 0);
        const char *p = strstr(status, "\nVmRSS:");
        assert_non_null(p);
        return strtol(p + 7, NULL, 10);
}

static void test_release_here(void **state) {
        (void) state;
        _cleanup_free_ char *before = xasprintf("%s-%d", "heap kept", 42);
        long released = -1, rss0 = rss_kib();

        assert_int_equal(memtrim_release(&released), 0);
        long rss1 = rss_kib();
        /* Something was mapped from files and clean: this test's own text at least. */
        assert_true(released > 0);
        assert_true(rss1 < rss0);
        /* Heap and relocations survived: allocation, formatting and a library call work. */
        assert_string_equal(before, "heap kept-42");
        _cleanup_free_ char *after = xasprintf("%ld", released);
        assert_int_equal(strtol(after, NULL, 10), released);
        assert_int_equal(memtrim_release(NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan),
                cmocka_unit_test(test_release_here),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
