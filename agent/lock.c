/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "lock.h"
#include "util.h"

static pid_t read_holder(int fd) {
        char buf[32] = "";
        unsigned long long pid;
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

        if (n <= 0)
                return 0;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return parse_uint(buf, INT_MAX, &pid) < 0 ? 0 : (pid_t) pid;
}

/* The whole file, for fcntl(2). */
static struct flock whole_file(short type) {
        return (struct flock) { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
}

int lock_take(const char *state_dir, long wait_ms, int *ret_fd, pid_t *ret_holder) {
        _cleanup_free_ char *path = xasprintf("%s/lock", state_dir);
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        uint64_t deadline = now_monotonic_ns() + (uint64_t) (wait_ms > 0 ? wait_ms : 0) * 1000000ULL;
        char buf[32];

        if (fd < 0)
                return -errno;
        for (;;) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (now_monotonic_ns() >= deadline) {
                        if (ret_holder)
                                *ret_holder = read_holder(fd);
                        return -EWOULDBLOCK;
                }
                /* flock has no timed wait; 20 ms steps keep the wait cheap and responsive. */
                nanosleep(&(struct timespec) { .tv_nsec = 20 * 1000 * 1000 }, NULL);
        }
        /* The flock is the lock. The OFD write lock on top only lets lock_probe() see that
         * it is held: fcntl(F_OFD_GETLK) asks without taking, which flock(2) cannot. Both
         * belong to this open file description, so closing the last fd to it (or the
         * confirm watcher's copy being closed) behaves the same for both. */
        struct flock fl = whole_file(F_WRLCK);
        if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
                return -errno;
        snprintf(buf, sizeof buf, "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

void lock_release(int *fd) {
        if (*fd < 0)
                return;
        if (ftruncate(*fd, 0) < 0) {
                /* the stale pid only makes a later message less precise */
        }
        close(*fd);
        *fd = -1;
}

int lock_probe(const char *state_dir, pid_t *ret_holder) {
        _cleanup_free_ char *path = xasprintf("%s/lock", state_dir);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        struct flock fl = whole_file(F_WRLCK);

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
                return -errno;
        if (fl.l_type == F_UNLCK)
                return 0;
        if (ret_holder)
                *ret_holder = read_holder(fd);
        return 1;
}
