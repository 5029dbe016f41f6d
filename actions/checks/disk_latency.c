/* SPDX-License-Identifier: GPL-2.0-or-later */
/* disk-latency: the troubleshooting guide's cause 2, a slow disk. etcd waits for an fsync of
 * its WAL before it answers; the guide wants the WAL fsync p99 under 10 ms. The kernel
 * counts flush requests and the time spent on them per disk (/proc/diskstats fields 16 and
 * 17, Linux 5.5+): their ratio over one interval is the disk's flush latency as etcd lives
 * it, read without writing a byte. PSI io says how much the host as a whole waits on I/O. */
#include <json-c/json.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "../../agent/kernel/blockdev.h"
#include "../../agent/kernel/kstats.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define GUIDE "etcd tuning/FAQ: WAL fsync p99 should stay under 10 ms"

struct dl_spec {
        const struct target *target;
        char *data_dir;
        double max_ms;
};

struct dl_disk {
        char *name;
        struct diskstat a;
        int err;
};

struct dl_sample {
        char *shown;      /* the data dir as said */
        char *why;        /* no disk to sample: why */
        char *where;      /* the data dir does not exist: the parent whose disk is measured */
        bool in_memory;   /* tmpfs / ramfs */
        struct dl_disk *disks;
        size_t n;
        uint64_t t0;
};

static void dl_spec_free(void *p) {
        struct dl_spec *s = p;
        free(s->data_dir);
        free(s);
}

static void dl_sample_free(void *p) {
        struct dl_sample *s = p;
        for (size_t i = 0; i < s->n; i++)
                free(s->disks[i].name);
        free(s->disks);
        free(s->shown);
        free(s->why);
        free(s->where);
        free(s);
}

/* The data-dir key the disk checks share; absolute paths only. */
int check_parse_data_dir(const struct ynode *node, const char *kind, char **ret, struct perr *err) {
        const struct ynode *x = ynode_get(node, "data-dir");
        const char *str;
        if (!x)
                return 0;
        _cleanup_free_ char *what = xasprintf("%s.data-dir", kind);
        if (ynode_string(x, what, &str, err) < 0)
                return -EINVAL;
        if (str[0] != '/') {
                perr_add(err, x, "%s: '%s' must be an absolute path", what, str);
                return -EINVAL;
        }
        *ret = xstrdup(str);
        return 0;
}

static int dl_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "data-dir", "max-flush-latency", NULL };
        struct dl_spec *s;
        const struct ynode *x;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "disk-latency", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->max_ms = 10;
        if (ynode_check_keys(node, "disk-latency", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "disk-latency", pol, false, &s->target, err) < 0)
                r = -EINVAL;
        if (check_parse_data_dir(node, "disk-latency", &s->data_dir, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-flush-latency")) &&
            check_parse_ms(x, "disk-latency.max-flush-latency", 0.01, 10000, &s->max_ms, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int dl_to_json(const void *spec, struct json_object **ret) {
        const struct dl_spec *s = spec;
        struct json_object *j = json_object_new_object();
        if (s->target)
                json_object_object_add(j, "target", json_object_new_string(s->target->name));
        if (s->data_dir)
                json_object_object_add(j, "data-dir", json_object_new_string(s->data_dir));
        json_object_object_add(j, "max-flush-latency", json_object_new_double(s->max_ms));
        *ret = j;
        return 0;
}

static int dl_begin(struct check_run *cr, const void *spec, void **ret_sample) {
        const struct dl_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        struct dl_sample *sm = xcalloc(1, sizeof(*sm));
        _cleanup_free_ char *path = NULL, *sysfs = check_path(cr, "/sys");
        struct disk_sched *ds = NULL;
        struct statfs sf;
        struct stat st;
        size_t n = 0;
        int r;

        check_data_dir(v, s->data_dir, &path, &sm->shown);
        *ret_sample = sm;
        /* A host without the data dir yet (a new host, etcd not installed): the disk it will
         * be on is the disk of its nearest existing parent. */
        while (stat(path, &st) < 0) {
                char *slash = strrchr(path, '/');
                if (errno != ENOENT || !slash || slash == path) {
                        sm->why = xasprintf("data dir %s: %s", sm->shown, strerror(errno));
                        return 0;
                }
                *slash = 0;
                free(sm->where);
                sm->where = xstrdup(path);
        }
        if (statfs(path, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)) {
                sm->in_memory = true;
                return 0;
        }
        r = block_schedulers(sysfs, st.st_dev, &ds, &n);
        if (r < 0 || n == 0) {
                sm->why = xasprintf("data dir %s is on device %u:%u, which has no disk in sysfs (%s)", sm->shown,
                                    major(st.st_dev), minor(st.st_dev), r < 0 ? strerror(-r) : "btrfs, overlay or a network filesystem?");
                return 0;
        }
        _cleanup_free_ char *root = check_path(cr, "%s", "");
        sm->disks = xcalloc(n, sizeof(*sm->disks));
        for (size_t i = 0; i < n; i++) {
                sm->disks[i].name = xstrdup(ds[i].disk);
                sm->disks[i].err = diskstats_read(root, ds[i].disk, 0, 0, &sm->disks[i].a);
        }
        sm->n = n;
        sm->t0 = now_monotonic_ns();
        disk_sched_free(ds, n);
        return 0;
}

static int dl_judge(struct check_run *cr, const void *spec, void *sample, struct check_results *out) {
        const struct dl_spec *s = spec;
        struct dl_sample *sm = sample;
        _cleanup_free_ char *root = check_path(cr, "%s", "");
        struct check_result *res;
        struct psi io;
        bool have_psi = psi_read(root, "io", &io) >= 0;
        double secs = (double) (now_monotonic_ns() - sm->t0) / 1e9;

        if (sm->in_memory || sm->why) {
                res = check_results_add(out, xasprintf("data dir %s: flush latency", sm->shown), sm->in_memory ? CHECK_OK : CHECK_UNKNOWN);
                if (sm->in_memory) {
                        res->measured = xstrdup("in memory (tmpfs)");
                        res->threshold = xasprintf("≤ %g ms", s->max_ms);
                        res->source = xstrdup(GUIDE);
                        strv_push(&res->notes, xstrdup("a data dir in memory is lost at reboot; fine for tests only"));
                } else
                        res->why = xstrdup(sm->why);
                if (have_psi)
                        strv_push(&res->notes, xasprintf("io pressure (PSI some avg10): %.2f %%", io.some_avg10));
                return 0;
        }
        for (size_t i = 0; i < sm->n; i++) {
                struct dl_disk *d = &sm->disks[i];
                struct diskstat b;
                int r = d->err < 0 ? d->err : diskstats_read(root, d->name, 0, 0, &b);

                res = check_results_add(out, xasprintf("%s (data dir %s): flush latency", d->name, sm->shown), CHECK_OK);
                res->threshold = xasprintf("≤ %g ms", s->max_ms);
                res->source = xstrdup(GUIDE);
                if (sm->where)
                        strv_push(&res->notes, xasprintf("%s does not exist: measured the disk of %s, where it would be", sm->shown,
                                                         sm->where));
                if (r < 0) {
                        res->status = CHECK_UNKNOWN;
                        res->why = xasprintf("/proc/diskstats has no line for %s: %s", d->name, strerror(-r));
                        continue;
                }
                if (!b.has_flush) {
                        res->status = CHECK_UNKNOWN;
                        res->why = xstrdup("this kernel's /proc/diskstats has no flush counters (Linux 5.5+); use medic diagnose --probe disk");
                        continue;
                }
                uint64_t df = b.flushes - d->a.flushes, dms = b.ms_flushing - d->a.ms_flushing;
                uint64_t dw = b.writes - d->a.writes, dwms = b.ms_writing - d->a.ms_writing;
                double lat;
                if (df > 0) {
                        lat = (double) dms / (double) df;
                        res->measured = xasprintf("%.2f ms (%llu flushes in %.1f s)", lat, (unsigned long long) df, secs);
                } else if (b.flushes > 0) {
                        lat = (double) b.ms_flushing / (double) b.flushes;
                        res->measured = xasprintf("%.2f ms (average since boot; no flush in %.1f s)", lat, secs);
                } else {
                        res->status = CHECK_UNKNOWN;
                        res->why = xasprintf("%s has had no flush request since boot (a disk without a volatile cache, or etcd has not written); use medic diagnose --probe disk", d->name);
                        continue;
                }
                res->value = json_object_new_double(lat);
                if (dw > 0)
                        strv_push(&res->notes, xasprintf("%s write await: %.2f ms over %llu writes", d->name,
                                                         (double) dwms / (double) dw, (unsigned long long) dw));
                if (have_psi)
                        strv_push(&res->notes, xasprintf("io pressure (PSI some avg10): %.2f %%", io.some_avg10));
                if (lat > s->max_ms) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("medic cannot fix this: put the data dir (at least member/wal, --wal-dir) on a faster disk (SSD/NVMe) or one not shared with other I/O; medic's io-priority item helps only under bfq/mq-deadline");
                }
        }
        return 0;
}

const struct check_ops disk_latency_check_ops = {
        .kind = "disk-latency",
        .parse = dl_parse,
        .spec_to_json = dl_to_json,
        .spec_free = dl_spec_free,
        .begin = dl_begin,
        .judge = dl_judge,
        .sample_free = dl_sample_free,
};
