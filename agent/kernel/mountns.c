/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "mountns.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8 */
#endif

/* Reading mountinfo is the whole cost of an audit on a host with many mounts (about 1 ms
 * per 1,000 mounts, and plan, read and notes each need it). The kernel flags an open
 * mountinfo file with POLLPRI when the namespace's mounts change, so one open file tells
 * for free whether the text read from it is still current. */
static struct {
        pid_t pid;
        int fd;
        char *text;
        bool other_ns;
} cache = { .fd = -1 };

void host_view_invalidate(void) {
        if (cache.fd >= 0)
                close(cache.fd);
        free(cache.text);
        cache.fd = -1;
        cache.text = NULL;
        cache.pid = 0;
}

static int read_all(int fd, char **ret) {
        size_t n = 0, size = 16384;
        char *buf = xmalloc(size);

        if (lseek(fd, 0, SEEK_SET) < 0) {
                free(buf);
                return -errno;
        }
        for (;;) {
                ssize_t k;
                if (n + 1 >= size)
                        buf = xrealloc(buf, size *= 2);
                k = read(fd, buf + n, size - n - 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        free(buf);
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        *ret = buf;
        return 0;
}

static bool cache_current(pid_t pid) {
        struct pollfd p;

        if (cache.fd < 0 || cache.pid != pid)
                return false;
        p = (struct pollfd) { .fd = cache.fd, .events = POLLPRI };
        return poll(&p, 1, 0) >= 0 && !(p.revents & (POLLPRI | POLLERR | POLLNVAL));
}

static int cache_fill(pid_t pid) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/mountinfo", (int) pid);
        struct statx stx = { 0 };
        char *text = NULL;
        int fd, r;

        host_view_invalidate();
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = read_all(fd, &text);
        if (r < 0) {
                close(fd);
                return r;
        }
        /* Mount ids are unique across namespaces: if the mount medic's "/" is on is in the
         * host's table, medic runs in the host's namespace. One statx and no privilege,
         * where comparing /proc/1/ns/mnt needs ptrace access to PID 1. */
        if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID)) {
                close(fd);
                free(text);
                return -EOPNOTSUPP;
        }
        cache = (typeof(cache)) { .pid = pid, .fd = fd, .text = text,
                                  .other_ns = !mountinfo_has_id(text, stx.stx_mnt_id) };
        return 0;
}

void host_view_done(struct host_view *v) {
        free(v->own);
        free(v->problem);
        *v = (struct host_view) { 0 };
}

int host_view_open(struct host_view *v, char **ret_why) {
        /* Test hook (test builds only): the tests stand in a process of a private namespace
         * for PID 1. */
        const char *e = test_hook("MEDIC_HOST_MNTNS_PID");
        unsigned long long pid = 1;
        int r;

        *v = (struct host_view) { .host_pid = 1 };
        if (e && *e && (parse_uint(e, INT32_MAX, &pid) < 0 || pid == 0)) {
                *ret_why = xasprintf("MEDIC_HOST_MNTNS_PID=%s is not a process id", e);
                return -EINVAL;
        }
        v->host_pid = (pid_t) pid;
        r = cache_current(v->host_pid) ? 0 : cache_fill(v->host_pid);
        if (r == -EOPNOTSUPP) {
                *ret_why = xstrdup("this kernel has no statx STATX_MNT_ID (Linux 5.8)");
                return r;
        }
        if (r < 0) {
                /* hidepid= or a pid that is gone: what medic can see is its own view. */
                v->problem = xasprintf("cannot read /proc/%d/mountinfo (%s): showing medic's own mount namespace, which may not be the host's",
                                       (int) v->host_pid, strerror(-r));
                r = read_file("/proc/self/mountinfo", &v->own, NULL);
                if (r < 0) {
                        *ret_why = xasprintf("cannot read /proc/self/mountinfo: %s", strerror(-r));
                        host_view_done(v);
                        return r;
                }
                v->table = v->own;
                return 0;
        }
        v->table = cache.text;
        v->other_ns = cache.other_ns;
        return 0;
}

int host_open(const struct host_view *v, const char *path) {
        _cleanup_free_ char *rp = NULL;
        _cleanup_close_ int root = -1;
        /* RESOLVE_IN_ROOT: an absolute symlink on the way means the host's "/", not ours. */
        struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd;

        if (!v->other_ns) {
                fd = open(path, O_PATH | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        rp = xasprintf("/proc/%d/root", (int) v->host_pid);
        root = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, root, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

int fd_mount_ids(int fd, uint64_t *ret_id, uint64_t *ret_unique) {
        struct statx stx = { 0 };

        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0)
                return -errno;
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        *ret_id = stx.stx_mnt_id;
        *ret_unique = 0;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID_UNIQUE))
                *ret_unique = stx.stx_mnt_id;
        return 0;
}

int host_path_mount(const struct host_view *v, const char *path, struct mount_entry *ret, uint64_t *ret_unique,
                    bool *ret_by_prefix) {
        _cleanup_close_ int fd = -1;
        uint64_t id;
        int r;

        *ret_by_prefix = false;
        *ret_unique = 0;
        fd = host_open(v, path);
        if (v->other_ns && (fd == -EACCES || fd == -EPERM)) {
                *ret_by_prefix = true;
                return mountinfo_find_path(v->table, path, ret);
        }
        if (fd < 0)
                return fd;
        r = fd_mount_ids(fd, &id, ret_unique);
        if (r < 0)
                return r;
        r = mountinfo_find_id(v->table, id, ret);
        return r == -ENOENT ? -ESTALE : r;
}
