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
#include <unistd.h>

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

static void put_file(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *f = xasprintf("%s/%s", dir, rel);
        FILE *fp = fopen(f, "w");

        assert_non_null(fp);
        fputs(content, fp);
        fclose(fp);
}

static void mkdirs(const char *dir, const char *rel) {
        _cleanup_free_ char *d = xasprintf("%s/%s", dir, rel);
        assert_int_equal(mkdir_p(d, 0755), 0);
}

/* kthreadd's flags say whether pid 2 is the kernel's: its children are then skipped. */
static void test_kernel_threads(void **state) {
        const char *dir = *state;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 99;

        mkdirs(dir, "2/task/2");
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        /* flags 0x208040 (PF_KTHREAD | PF_NOFREEZE | PF_FORKNOEXEC), as the kernel shows it. */
        put_file(dir, "2/stat", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 18446744073709551615\n");
        put_file(dir, "2/task/2/children", "30 4 1000 17 ");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), 0);
        assert_int_equal(n, 5);
        assert_int_equal(pids[0], 2);
        assert_int_equal(pids[1], 4);
        assert_int_equal(pids[2], 17);
        assert_int_equal(pids[3], 30);
        assert_int_equal(pids[4], 1000);
        free(pids), pids = NULL;

        /* Nothing but kthreadd. */
        put_file(dir, "2/task/2/children", "");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], 2);
        free(pids), pids = NULL;

        /* In a pid namespace pid 2 is a process (flags without PF_KTHREAD): none skipped, even
         * with children, and a name with ") " in it does not move the fields. */
        put_file(dir, "2/stat", "2 (a) S 1 2) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0 0\n");
        put_file(dir, "2/task/2/children", "3 4");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), 0);
        assert_int_equal(n, 0);
        assert_null(pids);

        /* What cannot be read or parsed skips nothing. */
        put_file(dir, "2/stat", "2 (kthreadd) S 0 0 0 0 -1 2129984\n");
        put_file(dir, "2/task/2/children", "3 x4");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), -EBADMSG);
        assert_null(pids);
        assert_int_equal(n, 0);
        put_file(dir, "2/stat", "2 (kthreadd S 0 0 0 0 -1 2129984\n");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), -EBADMSG);
        put_file(dir, "2/stat", "2 (kthreadd) S 0 0\n");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), -EBADMSG);
        _cleanup_free_ char *children = xasprintf("%s/2/task/2/children", dir);
        assert_int_equal(unlink(children), 0);
        put_file(dir, "2/stat", "2 (kthreadd) S 0 0 0 0 -1 2129984 0\n");
        assert_int_equal(proc_kernel_threads(fd, &pids, &n), -ENOENT);
        assert_null(pids);
}

/* On this host: every pid named is a kernel thread by its own flags (or gone since), and
 * this process is not named. */
static void test_kernel_threads_real_proc(void **state _unused_) {
        _cleanup_close_ int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, checked = 0;
        int r;

        assert_true(fd >= 0);
        r = proc_kernel_threads(fd, &pids, &n);
        if (r < 0 || n == 0) {
                print_message("  skipped: no kernel threads seen here (%s)\n", r < 0 ? strerror(-r) : "a pid namespace");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int) pids[i]), *text = NULL;
                unsigned long long flags;
                const char *p;

                assert_true(pids[i] != getpid());
                if (i > 0)
                        assert_true(pids[i - 1] < pids[i]);
                if (read_file(path, &text, NULL) < 0)
                        continue; /* gone */
                p = strrchr(text, ')');
                assert_non_null(p);
                assert_int_equal(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags), 1);
                /* kthreadd's children also include what the kernel runs as a user process
                 * (modprobe): for a moment only, and never while this test runs alone. */
                if (!(flags & 0x00200000u))
                        print_message("  note: pid %d is kthreadd's but not a kernel thread\n", (int) pids[i]);
                else
                        checked++;
        }
        assert_true(checked > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_comm_at, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_comm_at_real_proc),
                cmocka_unit_test_setup_teardown(test_kernel_threads, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_kernel_threads_real_proc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
