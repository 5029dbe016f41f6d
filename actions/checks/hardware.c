/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hardware: the troubleshooting guide's cause 5, "the machine is too small". What counts is
 * what etcd may use, not what the host has: the CPUs its affinity allows and its cgroup's
 * cpu.max grants, and the smaller of MemTotal and its cgroup's memory.max. etcd's hardware
 * guide: 2-4 cores and 8 GiB for a small cluster, and a 2-core, 4 GiB host as the least. */
#include <json-c/json.h>
#include <sched.h>
#include <string.h>

#include "../../agent/kernel/kstats.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define GUIDE "etcd hardware recommendations (etcd.io/docs: op-guide/hardware)"

struct hw_spec {
        const struct target *target;
        double min_cores;
        uint64_t min_memory, typical_memory;
};

static void hw_spec_free(void *p) {
        free(p);
}

static int hw_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "min-cores", "min-memory", "typical-memory", NULL };
        struct hw_spec *s = xcalloc(1, sizeof(*s));
        unsigned long long v;
        const struct ynode *x;
        int r = 0;

        *s = (struct hw_spec) { .min_cores = 2, .min_memory = 4ULL << 30, .typical_memory = 8ULL << 30 };
        if (ynode_expect(node, YNODE_MAP, "hardware", err) < 0) {
                free(s);
                return -EINVAL;
        }
        if (ynode_check_keys(node, "hardware", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "hardware", pol, false, &s->target, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "min-cores"))) {
                if (ynode_uint(x, "hardware.min-cores", 1, 4096, &v, err) < 0)
                        r = -EINVAL;
                else
                        s->min_cores = (double) v;
        }
        if ((x = ynode_get(node, "min-memory")) && check_parse_size(x, "hardware.min-memory", 1 << 20, 1ULL << 50, &s->min_memory, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "typical-memory")) &&
            check_parse_size(x, "hardware.typical-memory", 1 << 20, 1ULL << 50, &s->typical_memory, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int hw_to_json(const void *spec, struct json_object **ret) {
        const struct hw_spec *s = spec;
        struct json_object *j = json_object_new_object();
        if (s->target)
                json_object_object_add(j, "target", json_object_new_string(s->target->name));
        json_object_object_add(j, "min-cores", json_object_new_int64((int64_t) s->min_cores));
        json_object_object_add(j, "min-memory", json_object_new_int64((int64_t) s->min_memory));
        json_object_object_add(j, "typical-memory", json_object_new_int64((int64_t) s->typical_memory));
        *ret = j;
        return 0;
}

/* "0-3,8" → 5 */
static int count_cpu_list(const char *s) {
        int n = 0;
        while (*s && *s != '\n') {
                char *end;
                long a = strtol(s, &end, 10), b = a;
                if (end == s)
                        return -EINVAL;
                if (*end == '-')
                        b = strtol(end + 1, &end, 10);
                n += (int) (b - a + 1);
                s = *end == ',' ? end + 1 : end;
        }
        return n;
}

static int hw_judge(struct check_run *cr, const void *spec, void *sample _unused_, struct check_results *out) {
        const struct hw_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        _cleanup_free_ char *who = NULL, *cg = NULL, *cpu_where = NULL, *mem_where = NULL, *cpu_how = NULL;
        const char *root = cr->root ? cr->root : "";
        double cores = 0, quota = 0;
        uint64_t mem = 0, memmax = 0;
        struct check_result *res;
        int r;

        if (v && v->pid > 0) {
                cpu_set_t set;
                who = xasprintf("etcd pid %d", (int) v->pid);
                if (sched_getaffinity(v->pid, sizeof(set), &set) == 0) {
                        cores = CPU_COUNT(&set);
                        cpu_how = xasprintf("%g allowed by its affinity", cores);
                }
                if (cgroup_path(root, v->pid, &cg) >= 0)
                        cgroup_limits(root, cg, &quota, &cpu_where, &memmax, &mem_where);
                if (quota == 0 && memmax == 0) {
                        /* A cgroup v1 host: the cpu and memory controllers' own hierarchies. */
                        _cleanup_free_ char *path = check_path(cr, "/proc/%d/cgroup", (int) v->pid), *text = NULL;
                        free(cpu_where);
                        free(mem_where);
                        cpu_where = mem_where = NULL;
                        if (read_file(path, &text, NULL) >= 0)
                                cgroup_v1_limits(root, text, &quota, &cpu_where, &memmax, &mem_where);
                }
        } else {
                _cleanup_free_ char *path = check_path(cr, "/sys/devices/system/cpu/online"), *text = NULL;
                who = xstrdup(v ? "host (etcd not running)" : "host");
                if (read_file(path, &text, NULL) >= 0 && (r = count_cpu_list(text)) > 0) {
                        cores = r;
                        cpu_how = xasprintf("%d online", r);
                }
        }
        res = check_results_add(out, xasprintf("%s: CPUs", who), CHECK_OK);
        if (cores <= 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xstrdup("cannot read the CPUs allowed (sched_getaffinity, /sys/devices/system/cpu/online)");
        } else {
                double eff = quota > 0 && quota < cores ? quota : cores;
                res->measured = quota > 0 ? xasprintf("%.2g (%s; cpu.max of %s grants %.2g)", eff, cpu_how, cpu_where, quota)
                                          : xasprintf("%g (%s)", eff, cpu_how);
                res->threshold = xasprintf("≥ %g", s->min_cores);
                res->source = xstrdup(GUIDE ": 2-4 cores for a small cluster, 8-16 for heavy load");
                res->value = json_object_new_double(eff);
                if (eff < s->min_cores) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("medic cannot fix this: give etcd at least %g CPUs%s", s->min_cores,
                                                quota > 0 && quota < cores ? " (raise its cgroup's cpu.max)" : " (a larger host, or a wider CPU affinity)");
                }
        }

        r = meminfo_total(root, &mem);
        res = check_results_add(out, xasprintf("%s: memory", who), CHECK_OK);
        if (r < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("cannot read /proc/meminfo: %s", strerror(-r));
                return 0;
        }
        _cleanup_free_ char *mt = format_bytes(mem), *mm = memmax ? format_bytes(memmax) : NULL;
        _cleanup_free_ char *want = format_bytes(s->min_memory), *typical = format_bytes(s->typical_memory);
        uint64_t eff = memmax && memmax < mem ? memmax : mem;
        res->measured = memmax && memmax < mem ? xasprintf("%s (memory.max of %s; host %s)", mm, mem_where, mt)
                                               : xasprintf("%s (MemTotal)", mt);
        res->threshold = xasprintf("≥ %s", want);
        res->source = xasprintf(GUIDE ": 8 GiB typical, %s the least", want);
        res->value = json_object_new_int64((int64_t) eff);
        if (eff < s->min_memory) {
                res->status = CHECK_FINDING;
                res->advice = xasprintf("medic cannot fix this: give etcd at least %s of memory%s", want,
                                        memmax && memmax < mem ? " (raise its cgroup's memory.max)" : "");
        } else if (eff < s->typical_memory)
                strv_push(&res->notes, xasprintf("%s is under the guide's typical %s: lower --snapshot-count if memory runs short",
                                                 memmax && memmax < mem ? mm : mt, typical));
        return 0;
}

const struct check_ops hardware_check_ops = {
        .kind = "hardware",
        .parse = hw_parse,
        .spec_to_json = hw_to_json,
        .spec_free = hw_spec_free,
        .judge = hw_judge,
};
