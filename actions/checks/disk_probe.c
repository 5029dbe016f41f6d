/* SPDX-License-Identifier: GPL-2.0-or-later */
/* disk-probe (opt-in: medic diagnose --probe disk): the etcd community's fio recipe for
 * "is this disk fast enough for etcd" done in-process: 2,300-byte writes (etcd's typical WAL
 * entry), each followed by fdatasync, 22 MiB in all, into a file beside the data dir (same
 * filesystem) that has no name (O_TMPFILE) and vanishes when medic closes it. The p99 of
 * the fdatasync latencies is etcd's WAL fsync p99 on this disk. It writes, so it never runs
 * unless asked for. */
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>

#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define RECORD 2300

struct dp_spec {
        const struct target *target;
        char *data_dir;
        uint64_t size;
        double max_ms;
        unsigned max_seconds;
};

static void dp_free(void *p) {
        struct dp_spec *s = p;
        free(s->data_dir);
        free(s);
}

static int dp_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "data-dir", "size", "max-p99", "max-seconds", NULL };
        struct dp_spec *s;
        const struct ynode *x;
        unsigned long long v;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "disk-probe", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        *s = (struct dp_spec) { .size = 22ULL << 20, .max_ms = 10, .max_seconds = 60 };
        if (ynode_check_keys(node, "disk-probe", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "disk-probe", pol, false, &s->target, err) < 0)
                r = -EINVAL;
        if (check_parse_data_dir(node, "disk-probe", &s->data_dir, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "size")) && check_parse_size(x, "disk-probe.size", 100 * RECORD, 1ULL << 30, &s->size, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-p99")) && check_parse_ms(x, "disk-probe.max-p99", 0.01, 10000, &s->max_ms, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-seconds"))) {
                if (ynode_uint(x, "disk-probe.max-seconds", 1, 600, &v, err) < 0)
                        r = -EINVAL;
                else
                        s->max_seconds = (unsigned) v;
        }
        *ret_spec = s;
        return r;
}

static int dp_to_json(const void *spec, struct json_object **ret) {
        const struct dp_spec *s = spec;
        struct json_object *j = json_object_new_object();
        if (s->target)
                json_object_object_add(j, "target", json_object_new_string(s->target->name));
        if (s->data_dir)
                json_object_object_add(j, "data-dir", json_object_new_string(s->data_dir));
        json_object_object_add(j, "size", json_object_new_int64((int64_t) s->size));
        json_object_object_add(j, "max-p99", json_object_new_double(s->max_ms));
        json_object_object_add(j, "max-seconds", json_object_new_int64(s->max_seconds));
        *ret = j;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* An unnamed file in dir; a named one removed at once where the filesystem has no O_TMPFILE. */
static int probe_file(const char *dir) {
        int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
                return fd >= 0 ? fd : -errno;
        _cleanup_free_ char *path = xasprintf("%s/.medic-probe-XXXXXX", dir);
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        unlink(path);
        return fd;
}

static int dp_judge(struct check_run *cr, const void *spec, void *sample _unused_, struct check_results *out) {
        const struct dp_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        _cleanup_free_ char *dir = NULL, *shown = NULL, *parent = NULL;
        _cleanup_free_ uint64_t *lat = NULL;
        _cleanup_close_ int fd = -1;
        struct check_result *res;
        char buf[RECORD];
        size_t n = 0, want = (size_t) (s->size / RECORD);
        struct stat st;

        check_data_dir(v, s->data_dir, &dir, &shown);
        res = check_results_add(out, xasprintf("%s: fdatasync p99", shown), CHECK_OK);
        res->threshold = xasprintf("≤ %g ms", s->max_ms);
        res->source = xstrdup("etcd FAQ/tuning: WAL fsync p99 under 10 ms (the fio recipe: 2300-byte writes, fdatasync each, 22 MiB)");
        if (!cr->probe_disk) {
                res->status = CHECK_UNKNOWN;
                res->why = xstrdup("opt-in: it writes; run medic diagnose --probe disk");
                return 0;
        }
        /* Beside the data dir: the same filesystem, never inside etcd's own files. */
        parent = xstrdup(dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent)
                *slash = 0;
        if (stat(dir, &st) < 0 && stat(parent, &st) < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("%s: %s", shown, strerror(errno));
                return 0;
        }
        fd = probe_file(parent);
        if (fd < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("cannot create a probe file in %s: %s", parent, strerror(-fd));
                return 0;
        }
        memset(buf, 'm', sizeof(buf));
        lat = xcalloc(want, sizeof(*lat));
        uint64_t start = now_monotonic_ns(), limit = (uint64_t) s->max_seconds * 1000000000ULL;
        for (; n < want && now_monotonic_ns() - start < limit; n++) {
                uint64_t t = now_monotonic_ns();
                if (write(fd, buf, sizeof(buf)) != (ssize_t) sizeof(buf) || fdatasync(fd) < 0) {
                        res->status = CHECK_UNKNOWN;
                        res->why = xasprintf("probe write in %s: %s", parent, strerror(errno ? errno : EIO));
                        return 0;
                }
                lat[n] = now_monotonic_ns() - t;
        }
        if (n == 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xstrdup("the probe was stopped before its first write");
                return 0;
        }
        qsort(lat, n, sizeof(*lat), cmp_u64);
        double p99 = (double) lat[(n * 99 + 99) / 100 - 1] / 1e6, p50 = (double) lat[n / 2] / 1e6;
        res->measured = xasprintf("%.2f ms (p50 %.2f ms, %zu writes of %d bytes in %.1f s)", p99, p50, n, RECORD,
                                  (double) (now_monotonic_ns() - start) / 1e9);
        res->value = json_object_new_double(p99);
        if (n < want)
                strv_push(&res->notes, xasprintf("stopped after %u s (max-seconds) with %zu of %zu writes", s->max_seconds, n, want));
        if (p99 > s->max_ms) {
                res->status = CHECK_FINDING;
                res->advice = xstrdup("medic cannot fix this: put etcd's WAL (--wal-dir) on a disk with a faster fdatasync "
                                      "(SSD/NVMe with power-loss protection), not shared with bulk I/O");
        }
        return 0;
}

const struct check_ops disk_probe_check_ops = {
        .kind = "disk-probe",
        .parse = dp_parse,
        .spec_to_json = dp_to_json,
        .spec_free = dp_free,
        .judge = dp_judge,
};
