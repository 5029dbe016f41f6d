/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cpu: the troubleshooting guide's cause 3, CPU starvation: etcd's threads are ready to run
 * but wait for a CPU, so heartbeats go out late. The scheduler counts, per thread, the time
 * spent waiting on a run queue (/proc/PID/task/TID/schedstat, second field); over one
 * interval, its sum against the wall time is how much etcd was held back. PSI cpu says how
 * starved the host as a whole is. */
#include <json-c/json.h>
#include <string.h>

#include "../../agent/kernel/kstats.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define SOURCE "etcd troubleshooting guide, cause 3 (CPU starvation): medic's rule, run delay under 10 % of wall time"

struct cpu_spec {
        const struct target *target;
        double max_delay_pct;
};

struct cpu_sample {
        struct schedstat a;
        int err;
        uint64_t t0;
};

static void cpu_free(void *p) {
        free(p);
}

static int cpu_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "max-run-delay", NULL };
        struct cpu_spec *s;
        const struct ynode *x;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "cpu", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->max_delay_pct = 10;
        if (ynode_check_keys(node, "cpu", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "cpu", pol, true, &s->target, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-run-delay")) && check_parse_percent(x, "cpu.max-run-delay", &s->max_delay_pct, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int cpu_to_json(const void *spec, struct json_object **ret) {
        const struct cpu_spec *s = spec;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "target", json_object_new_string(s->target->name));
        json_object_object_add(j, "max-run-delay", json_object_new_double(s->max_delay_pct));
        *ret = j;
        return 0;
}

static int cpu_begin(struct check_run *cr, const void *spec, void **ret_sample) {
        const struct cpu_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        struct cpu_sample *sm;

        if (!v || v->pid <= 0)
                return 0;
        sm = xcalloc(1, sizeof(*sm));
        sm->err = schedstat_process("", v->pid, &sm->a, NULL);
        sm->t0 = now_monotonic_ns();
        *ret_sample = sm;
        return 0;
}

static int cpu_judge(struct check_run *cr, const void *spec, void *sample, struct check_results *out) {
        const struct cpu_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        struct cpu_sample *sm = sample;
        _cleanup_free_ char *root = check_path(cr, "%s", "");
        struct check_result *res;
        struct schedstat b;
        unsigned threads = 0;
        struct psi cpu;
        bool have_psi = psi_read(root, "cpu", &cpu) >= 0;
        int r;

        if (!sm) {
                res = check_results_add(out, xstrdup("etcd: run-queue delay"), CHECK_UNKNOWN);
                res->why = xasprintf("%s%s", v && v->not_found ? v->not_found : "etcd not running",
                                     have_psi ? "" : "; the kernel has no PSI either");
                if (have_psi)
                        strv_push(&res->notes, xasprintf("host cpu pressure (PSI some avg10): %.2f %%", cpu.some_avg10));
                return 0;
        }
        res = check_results_add(out, xasprintf("etcd pid %d: run-queue delay", (int) v->pid), CHECK_OK);
        res->threshold = xasprintf("≤ %g %% of wall time", s->max_delay_pct);
        res->source = xstrdup(SOURCE);
        r = sm->err < 0 ? sm->err : schedstat_process("", v->pid, &b, &threads);
        if (r < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("cannot read /proc/%d/task/*/schedstat: %s%s", (int) v->pid, strerror(-r),
                                     r == -ENOENT ? " (the kernel has no CONFIG_SCHED_INFO, or etcd ended)" : "");
                return 0;
        }
        double wall = (double) (now_monotonic_ns() - sm->t0);
        double delay = b.wait_ns > sm->a.wait_ns ? (double) (b.wait_ns - sm->a.wait_ns) : 0;
        double run = b.run_ns > sm->a.run_ns ? (double) (b.run_ns - sm->a.run_ns) : 0;
        double pct = wall > 0 ? 100.0 * delay / wall : 0;
        res->measured = xasprintf("%.1f %% (%.1f ms waiting in %.1f s, %u threads)", pct, delay / 1e6, wall / 1e9, threads);
        res->value = json_object_new_double(pct);
        strv_push(&res->notes, xasprintf("etcd used %.1f %% of one CPU", wall > 0 ? 100.0 * run / wall : 0));
        if (have_psi)
                strv_push(&res->notes, xasprintf("host cpu pressure (PSI some avg10): %.2f %%", cpu.some_avg10));
        if (pct > s->max_delay_pct) {
                res->status = CHECK_FINDING;
                res->advice = xstrdup("medic cannot fix this: etcd waits for a CPU; give it more CPUs (cgroup cpu.max, "
                                      "CPUWeight=, fewer co-located processes) or move the busy neighbours off this host");
        }
        return 0;
}

const struct check_ops cpu_check_ops = {
        .kind = "cpu",
        .parse = cpu_parse,
        .spec_to_json = cpu_to_json,
        .spec_free = cpu_free,
        .begin = cpu_begin,
        .judge = cpu_judge,
        .sample_free = cpu_free,
};
