/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cgroups etcd runs in, watched through cgroup.events: the agent's way to see etcd
 * (re)start where the proc connector does not serve it (see cgroup_watch.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup_watch.h"
#include "../util.h"

struct entry {
        char *dir;
        int wd;  /* DIR/cgroup.events (IN_MODIFY); -1 while it cannot be had */
        int pwd; /* DIR's parent (IN_CREATE): the cgroup made again; -1 likewise */
};

struct cgroup_watch {
        int fd;
        struct entry *e;
        size_t n;
};

const char *cgroup2_root(void) {
        struct statfs fs;

        if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return "/sys/fs/cgroup";
        if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return "/sys/fs/cgroup/unified";
        return NULL;
}

char *cgroup_of_pid(const char *root, pid_t pid) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int) pid), *s = NULL;

        if (read_file(path, &s, NULL) < 0)
                return NULL;
        for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
                if (startswith(l, "0::/") && l[4])
                        return xasprintf("%s%s", root, l + 3);
        return NULL;
}

int cgroup_watch_new(struct cgroup_watch **ret) {
        int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

        if (fd < 0)
                return -errno;
        *ret = xcalloc(1, sizeof(**ret));
        (*ret)->fd = fd;
        return 0;
}

static bool wd_used(const struct cgroup_watch *w, int wd, size_t but) {
        for (size_t i = 0; i < w->n; i++)
                if (i != but && (w->e[i].wd == wd || w->e[i].pwd == wd))
                        return true;
        return false;
}

static void entry_drop(struct cgroup_watch *w, size_t i) {
        struct entry *x = &w->e[i];

        if (x->wd >= 0 && !wd_used(w, x->wd, i))
                (void) inotify_rm_watch(w->fd, x->wd);
        if (x->pwd >= 0 && !wd_used(w, x->pwd, i))
                (void) inotify_rm_watch(w->fd, x->pwd);
        free(x->dir);
        w->e[i] = w->e[--w->n];
}

void cgroup_watch_free(struct cgroup_watch *w) {
        if (!w)
                return;
        while (w->n > 0)
                entry_drop(w, w->n - 1);
        free(w->e);
        closep(&w->fd);
        free(w);
}

int cgroup_watch_fd(const struct cgroup_watch *w) {
        return w->fd;
}

static void entry_arm(struct cgroup_watch *w, struct entry *x) {
        if (x->pwd < 0) {
                _cleanup_free_ char *parent = xstrdup(x->dir);
                char *slash = strrchr(parent, '/');
                if (slash && slash != parent) {
                        *slash = 0;
                        x->pwd = inotify_add_watch(w->fd, parent, IN_CREATE | IN_ONLYDIR);
                }
        }
        if (x->wd < 0) {
                _cleanup_free_ char *ev = xasprintf("%s/cgroup.events", x->dir);
                x->wd = inotify_add_watch(w->fd, ev, IN_MODIFY);
        }
}

size_t cgroup_watch_set(struct cgroup_watch *w, char *const *dirs) {
        size_t n = 0;

        for (size_t i = w->n; i-- > 0;)
                if (!strv_contains(dirs, w->e[i].dir))
                        entry_drop(w, i);
        for (size_t k = 0; dirs && dirs[k]; k++) {
                struct entry *x = NULL;
                for (size_t i = 0; i < w->n && !x; i++)
                        if (streq(w->e[i].dir, dirs[k]))
                                x = &w->e[i];
                if (!x) {
                        w->e = xrealloc(w->e, (w->n + 1) * sizeof(*w->e));
                        x = &w->e[w->n++];
                        *x = (struct entry) { .dir = xstrdup(dirs[k]), .wd = -1, .pwd = -1 };
                }
                entry_arm(w, x);
                n += x->wd >= 0 || x->pwd >= 0;
        }
        return n;
}

char *cgroup_watch_describe(const struct cgroup_watch *w) {
        char *s = xstrdup("");

        for (size_t i = 0; i < w->n; i++) {
                const struct entry *x = &w->e[i];
                char *t = xasprintf("%s%s%s%s", s, *s ? ", " : "", x->dir,
                                    x->wd >= 0 ? "" : x->pwd >= 0 ? " (waited for)" : " (cannot be watched)");
                free(s);
                s = t;
        }
        return s;
}

static int populated(const char *dir) {
        _cleanup_free_ char *path = xasprintf("%s/cgroup.events", dir), *s = NULL;
        const char *p;

        if (read_file(path, &s, NULL) < 0 || !(p = strstr(s, "populated ")))
                return -1;
        return p[10] == '1';
}

int cgroup_watch_read(struct cgroup_watch *w, char **ret_cause, bool *ret_filled) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        _cleanup_free_ char *cause = NULL;
        bool filled = false;
        ssize_t n;

        while ((n = read(w->fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;
                        p += sizeof(*ev) + ev->len;
                        if (ev->mask & IN_Q_OVERFLOW) {
                                filled = true;
                                if (!cause)
                                        cause = xstrdup("cgroup events lost (inotify queue overflow): looking again");
                                continue;
                        }
                        for (size_t i = 0; i < w->n; i++) {
                                struct entry *x = &w->e[i];
                                const char *base = strrchr(x->dir, '/') + 1;
                                if (ev->wd == x->wd && (ev->mask & IN_IGNORED))
                                        x->wd = -1; /* the cgroup was removed: its parent says when it is back */
                                else if (ev->wd == x->wd && (ev->mask & IN_MODIFY)) {
                                        int pop = populated(x->dir);
                                        filled = filled || pop == 1;
                                        if (!cause)
                                                cause = xasprintf("%s: populated %d", x->dir, pop);
                                } else if (ev->wd == x->pwd && (ev->mask & IN_IGNORED))
                                        x->pwd = -1;
                                else if (ev->wd == x->pwd && (ev->mask & IN_CREATE) && ev->len && streq(ev->name, base)) {
                                        /* The removed cgroup's watch may not have said
                                         * IN_IGNORED yet: the kernel drops it when that
                                         * cgroup's inode goes, which can be after the new
                                         * one is made (seen on 6.1). Watch the new one's
                                         * cgroup.events now, whatever x->wd still names. */
                                        if (x->wd >= 0 && !wd_used(w, x->wd, i))
                                                (void) inotify_rm_watch(w->fd, x->wd);
                                        x->wd = -1;
                                        entry_arm(w, x);
                                        /* A process may have entered before the watch was there. */
                                        filled = filled || populated(x->dir) == 1;
                                        if (!cause)
                                                cause = xasprintf("%s created", x->dir);
                                }
                        }
                }
        if (!cause)
                return 0;
        *ret_cause = TAKE_PTR(cause);
        *ret_filled = filled;
        return 1;
}
