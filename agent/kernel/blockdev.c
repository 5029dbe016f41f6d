/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../util.h"
#include "blockdev.h"

void disk_sched_free(struct disk_sched *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].disk);
                free(d[i].sched);
        }
        free(d);
}

int sched_ignores_ioprio(const char *sched) {
        /* bfq and mq-deadline order requests by priority class; none and kyber do not. */
        return streq(sched, "none") || streq(sched, "kyber");
}

const char *sched_ioprio_honours(const char *sched) {
        /* bfq weighs each class's queues by level; mq-deadline keeps one FIFO per class and
         * never looks at the level (block/mq-deadline.c), so best-effort/0
         * and best-effort/4 are served alike there. */
        if (streq(sched, "bfq"))
                return "class and level";
        if (streq(sched, "mq-deadline"))
                return "the class only";
        if (sched_ignores_ioprio(sched))
                return "nothing";
        return NULL;
}

static int walk(const char *sysfs_root, const char *devdir, unsigned depth, struct disk_sched **ret, size_t *n) {
        _cleanup_free_ char *dir = realpath(devdir, NULL), *part = NULL, *slaves = NULL, *sched = NULL, *qs = NULL;
        struct stat st;
        DIR *d;
        struct dirent *de;
        bool any = false;

        if (!dir)
                return -errno;
        if (depth > 8)
                return -ELOOP;
        /* A partition's disk is its parent directory. */
        part = xasprintf("%s/partition", dir);
        if (stat(part, &st) == 0) {
                char *slash = strrchr(dir, '/');
                if (!slash)
                        return -EINVAL;
                *slash = 0;
        }
        slaves = xasprintf("%s/slaves", dir);
        if ((d = opendir(slaves))) {
                while ((de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *member = xasprintf("%s/class/block/%s", sysfs_root, de->d_name);
                        if (walk(sysfs_root, member, depth + 1, ret, n) >= 0)
                                any = true;
                }
                closedir(d);
                if (any)
                        return 0;
        }
        qs = xasprintf("%s/queue/scheduler", dir);
        int r = read_line_file(qs, &sched);
        if (r < 0)
                return r;
        /* "none [mq-deadline] kyber bfq": the bracketed one is active; a single name without
         * brackets (e.g. "none") is the only one. */
        char *open = strchr(sched, '['), *close = open ? strchr(open, ']') : NULL;
        char *active = open && close ? xstrndup(open + 1, (size_t) (close - open - 1)) : normalize_blanks(sched);
        *ret = xrealloc(*ret, (*n + 1) * sizeof(**ret));
        (*ret)[*n] = (struct disk_sched) { .disk = xstrdup(strrchr(dir, '/') + 1), .sched = active };
        (*n)++;
        return 0;
}

int block_dev_name(const char *sysfs_root, dev_t dev, char **ret) {
        _cleanup_free_ char *link = xasprintf("%s/dev/block/%u:%u", sysfs_root, major(dev), minor(dev));
        _cleanup_free_ char *dir = NULL;

        if (major(dev) == 0)
                return -ENODEV;
        dir = realpath(link, NULL);
        if (!dir)
                return -errno;
        *ret = xstrdup(strrchr(dir, '/') + 1);
        return 0;
}

int block_schedulers(const char *sysfs_root, dev_t dev, struct disk_sched **ret, size_t *ret_n) {
        _cleanup_free_ char *devdir = xasprintf("%s/dev/block/%u:%u", sysfs_root, major(dev), minor(dev));
        struct disk_sched *list = NULL;
        size_t n = 0;
        int r;

        if (major(dev) == 0)
                return -ENODEV; /* tmpfs, overlayfs, btrfs subvolumes...: no single block device */
        r = walk(sysfs_root, devdir, 0, &list, &n);
        if (r < 0) {
                disk_sched_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}
