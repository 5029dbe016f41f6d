/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/proc.c: proc_comm_at(), the one-read comm of the comm: scan, against a directory
 * laid out like /proc (PID/comm files as the kernel writes them) and against this
 * process's own entry in the real /proc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "../../agent/kernel/proc.h"
#include "../../agent/util.h"

static void put_comm(const char *dir, const char *pid, const char *content) {
        _cleanup_free_ char *d = xasprintf("%s/%s", dir, pid), *f = xasprintf("%s/%s/comm", dir, pid);
        FILE *fp;

        assert_int_equal(mkdir(d, 0755), 0);
        fp = fopen(f, "w");
        assert_non_null(fp);
        fputs(content, fp);
        fclose(fp);
}

static void test_comm_at(void **state) {
        const char *dir = *state;
        _cleanup_close_ int fd = -1;
        char comm[16];

        put_comm(dir, "1", "etcd\n");
        /* comm is any 15 bytes: spaces and parentheses are the name's, not separators. */
        put_comm(dir, "22", "a b) (c\n");
        put_comm(dir, "333", ") (\n");
        /* A workqueue worker's line is longer than 15 bytes: cut like the kernel's comm. */
        put_comm(dir, "4444", "kworker/u8:1-events_unbound\n");
        put_comm(dir, "55555", "\n");
        put_comm(dir, "6", "no-newline");
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        assert_int_equal(proc_comm_at(fd, "1", comm), 0);
        assert_string_equal(comm, "etcd");
        assert_int_equal(proc_comm_at(fd, "22", comm), 0);
        assert_string_equal(comm, "a b) (c");
        assert_int_equal(proc_comm_at(fd, "333", comm), 0);
        assert_string_equal(comm, ") (");
        assert_int_equal(proc_comm_at(fd, "4444", comm), 0);
        assert_string_equal(comm, "kworker/u8:1-ev");
        assert_int_equal(proc_comm_at(fd, "55555", comm), 0);
        assert_string_equal(comm, "");
        assert_int_equal(proc_comm_at(fd, "6", comm), 0);
        assert_string_equal(comm, "no-newline");
        /* A process gone (no directory) is -ESRCH, as for the path-based reads. */
        assert_int_equal(proc_comm_at(fd, "7", comm), -ESRCH);
        assert_int_equal(proc_comm_at(fd, "12345678901234567890123456789", comm), -ESRCH);
}

static void test_comm_at_real_proc(void **state _unused_) {
        _cleanup_close_ int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *pid = xasprintf("%d", (int) getpid());
        char comm[16], old[16] = "";

        assert_true(fd >= 0);
        assert_int_equal(prctl(PR_GET_NAME, old), 0);
        assert_int_equal(prctl(PR_SET_NAME, "x (y) z"), 0);
        assert_int_equal(proc_comm_at(fd, pid, comm), 0);
        assert_string_equal(comm, "x (y) z");
        assert_int_equal(prctl(PR_SET_NAME, "a-name-of-16-by"), 0);
        assert_int_equal(proc_comm_at(fd, pid, comm), 0);
        assert_string_equal(comm, "a-name-of-16-by");
        assert_int_equal(prctl(PR_SET_NAME, old), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_comm_at, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_comm_at_real_proc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
