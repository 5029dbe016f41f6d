/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/lock.c: lock_probe() tells a held lock from a free one without taking it, and a
 * probe never stands in the way of lock_take(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "../../agent/lock.h"
#include "../../agent/util.h"

static void test_probe_no_lock_file(void **state) {
        pid_t holder = -1;
        assert_int_equal(lock_probe(*state, &holder), 0);
        assert_int_equal(holder, -1); /* written only when held */
}

static void test_probe_held_and_released(void **state) {
        pid_t holder = 0;
        int fd = -1;

        assert_int_equal(lock_take(*state, 0, &fd, NULL), 0);
        /* OFD locks of two open files conflict even within one process. */
        assert_int_equal(lock_probe(*state, &holder), 1);
        assert_int_equal(holder, getpid());
        lock_release(&fd);
        assert_int_equal(fd, -1);
        holder = -1;
        assert_int_equal(lock_probe(*state, &holder), 0);
        assert_int_equal(holder, -1);
}

/* A child holds the lock; the parent's probe names it and takes nothing: once the child
 * lets go, the parent takes the lock at once. */
static void test_probe_takes_nothing(void **state) {
        int go[2], done[2];
        pid_t child, holder = 0;
        char c;
        int fd = -1;

        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(done), 0);
        fflush(NULL);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                /* exit(), not _exit(): libraries' destructors run, so valgrind sees no
                 * "possibly lost" blocks in the child. */
                int cfd = -1;
                if (lock_take(*state, 0, &cfd, NULL) < 0)
                        exit(1);
                if (write(done[1], "t", 1) != 1 || read(go[0], &c, 1) != 1)
                        exit(2);
                lock_release(&cfd);
                exit(0);
        }
        assert_int_equal(read(done[0], &c, 1), 1);
        for (int i = 0; i < 100; i++)
                assert_int_equal(lock_probe(*state, &holder), 1);
        assert_int_equal(holder, child);
        /* Held by the child: a take fails, naming it. */
        holder = 0;
        assert_int_equal(lock_take(*state, 0, &fd, &holder), -EWOULDBLOCK);
        assert_int_equal(holder, child);
        assert_int_equal(write(go[1], "g", 1), 1);
        int st;
        assert_int_equal(waitpid(child, &st, 0), child);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(lock_probe(*state, NULL), 0);
        assert_int_equal(lock_take(*state, 0, &fd, NULL), 0);
        lock_release(&fd);
        close(go[0]);
        close(go[1]);
        close(done[0]);
        close(done[1]);
}

/* An operator's flock(1) on the file still keeps medic out (the flock is the lock). */
static void test_foreign_flock_keeps_medic_out(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/lock", (char *) *state);
        int ext = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), fd = -1;

        assert_true(ext >= 0);
        assert_int_equal(flock(ext, LOCK_EX | LOCK_NB), 0);
        assert_int_equal(lock_take(*state, 0, &fd, NULL), -EWOULDBLOCK);
        assert_int_equal(fd, -1);
        close(ext);
        assert_int_equal(lock_take(*state, 0, &fd, NULL), 0);
        lock_release(&fd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_probe_no_lock_file, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_probe_held_and_released, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_probe_takes_nothing, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_foreign_flock_keeps_medic_out, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
