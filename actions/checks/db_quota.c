/* SPDX-License-Identifier: GPL-2.0-or-later */
/* db-quota: the next error the troubleshooting guide warns of. When the backend database
 * (DATA_DIR/member/snap/db) reaches --quota-backend-bytes (2 GiB by default), etcd raises
 * a NOSPACE alarm and refuses writes: "mvcc: database space exceeded". */
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>

#include "../../agent/kernel/etcd_conf.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define DEFAULT_QUOTA (2ULL << 30)
#define SOURCE "etcd maintenance guide: space quota (NOSPACE alarm at 100 %); medic warns at 80 %"

struct dq_spec {
        const struct target *target;
        char *data_dir;
        uint64_t quota; /* when no etcd tells its own */
        double max_pct;
};

static void dq_free(void *p) {
        struct dq_spec *s = p;
        free(s->data_dir);
        free(s);
}

static int dq_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "data-dir", "quota", "max-percent", NULL };
        struct dq_spec *s;
        const struct ynode *x;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "db-quota", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->quota = DEFAULT_QUOTA;
        s->max_pct = 80;
        if (ynode_check_keys(node, "db-quota", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "db-quota", pol, false, &s->target, err) < 0)
                r = -EINVAL;
        if (check_parse_data_dir(node, "db-quota", &s->data_dir, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "quota")) && check_parse_size(x, "db-quota.quota", 1 << 20, 1ULL << 40, &s->quota, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-percent")) && check_parse_percent(x, "db-quota.max-percent", &s->max_pct, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int dq_to_json(const void *spec, struct json_object **ret) {
        const struct dq_spec *s = spec;
        struct json_object *j = json_object_new_object();
        if (s->target)
                json_object_object_add(j, "target", json_object_new_string(s->target->name));
        if (s->data_dir)
                json_object_object_add(j, "data-dir", json_object_new_string(s->data_dir));
        json_object_object_add(j, "quota", json_object_new_int64((int64_t) s->quota));
        json_object_object_add(j, "max-percent", json_object_new_double(s->max_pct));
        *ret = j;
        return 0;
}

static int dq_judge(struct check_run *cr, const void *spec, void *sample _unused_, struct check_results *out) {
        const struct dq_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        _cleanup_free_ char *dir = NULL, *shown = NULL, *db = NULL, *quota_from = NULL;
        uint64_t quota = s->quota;
        struct check_result *res;
        long long q;
        struct stat st;

        check_data_dir(v, s->data_dir, &dir, &shown);
        db = xasprintf("%s/member/snap/db", dir);
        if (v && v->conf && etcd_conf_ll(v->conf, ETCD_QUOTA_BACKEND_BYTES, &q) && q > 0) {
                quota = (uint64_t) q;
                quota_from = etcd_value_origin(v->conf, ETCD_QUOTA_BACKEND_BYTES);
        } else if (v && v->conf)
                quota_from = xstrdup("etcd's default (--quota-backend-bytes 0 = 2 GiB)");
        else
                quota_from = xstrdup(s->quota == DEFAULT_QUOTA ? "etcd's default" : "the policy's quota:");

        res = check_results_add(out, xasprintf("%s/member/snap/db: size", shown), CHECK_OK);
        if (stat(db, &st) < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("%s: %s%s", db, strerror(errno), v && v->pid <= 0 ? " (etcd not running here)" : "");
                return 0;
        }
        /* etcd's db size is the file's size (bbolt's mmap), not the blocks it holds. */
        double pct = 100.0 * (double) st.st_size / (double) quota;
        _cleanup_free_ char *sz = format_bytes((uint64_t) st.st_size), *qs = format_bytes(quota);
        res->measured = xasprintf("%s = %.1f %% of %s", sz, pct, qs);
        res->threshold = xasprintf("≤ %g %% of the quota (%s, %s)", s->max_pct, qs, quota_from);
        res->source = xstrdup(SOURCE);
        res->value = json_object_new_double(pct);
        if (pct > s->max_pct) {
                res->status = CHECK_FINDING;
                res->advice = xstrdup("medic cannot fix this: compact the keyspace and defragment (etcdctl compact, "
                                      "etcdctl defrag), or raise --quota-backend-bytes (etcd suggests at most 8 GiB)");
        }
        return 0;
}

const struct check_ops db_quota_check_ops = {
        .kind = "db-quota",
        .parse = dq_parse,
        .spec_to_json = dq_to_json,
        .spec_free = dq_free,
        .judge = dq_judge,
};
