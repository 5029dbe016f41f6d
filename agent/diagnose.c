/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy's checks (DESIGN §12), run by audit after its plan and by `medic diagnose`
 * alone: every check takes its first sample, medic waits one interval for all of them, then
 * each judges. A result becomes one row of the report: the measurement as current, the
 * threshold as wanted, a finding as drift with what to do. */
#include <json-c/json.h>
#include <string.h>
#include <time.h>

#include "../actions/checks/check.h"
#include "engine_int.h"

static bool check_selected(const struct run *run, const struct check *c) {
        return !run->opt->only || strv_contains(run->opt->only, c->name);
}

static void add_row(struct run *run, const struct check *c, struct check_result *res) {
        struct row *row = report_add_row(&run->rep);
        struct json_object *want = json_object_new_object();

        row->action = xstrdup(c->name);
        row->kind = xstrdup(c->ops->kind);
        row->object = TAKE_PTR(res->object);
        row->audit_only = c->mode == MODE_AUDIT;
        row->current = TAKE_PTR(res->measured);
        row->wanted = TAKE_PTR(res->threshold);
        row->current_json = TAKE_PTR(res->value);
        json_object_object_add(want, "threshold", row->wanted ? json_object_new_string(row->wanted) : NULL);
        json_object_object_add(want, "source", res->source ? json_object_new_string(res->source) : NULL);
        row->wanted_json = want;
        switch (res->status) {
        case CHECK_OK:
                row->status = ROW_OK;
                break;
        case CHECK_FINDING:
                row->status = ROW_DRIFT;
                row->reason = TAKE_PTR(res->advice);
                break;
        case CHECK_UNKNOWN:
                row->status = ROW_SKIPPED;
                row->reason = TAKE_PTR(res->why);
                break;
        case _CHECK_STATUS_MAX:
                break;
        }
        if (res->source)
                strv_push(&row->notes, xasprintf("threshold: %s", res->source));
        for (size_t k = 0; res->notes && res->notes[k]; k++)
                strv_push(&row->notes, TAKE_PTR(res->notes[k]));
}

static void sleep_s(double s) {
        struct timespec ts = { .tv_sec = (time_t) s, .tv_nsec = (long) ((s - (double) (time_t) s) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                if (stop_signal())
                        break;
}

/* A check that samples, left out by --interval 0: one row that says so. */
static void add_not_sampled_row(struct run *run, const struct check *c) {
        struct row *row = report_add_row(&run->rep);

        row->action = xstrdup(c->name);
        row->kind = xstrdup(c->ops->kind);
        row->object = xstrdup("-");
        row->audit_only = c->mode == MODE_AUDIT;
        row->status = ROW_SKIPPED;
        row->reason = xstrdup("not sampled: --interval 0 leaves out the checks that measure over an interval");
}

int engine_run_checks(struct run *run) {
        const struct policy *p = run->policy;
        struct check_run cr = {
                .ctx = &run->ctx,
                /* test hook: fixture files for /proc/meminfo, cgroups, diskstats, PSI */
                .root = test_hook("MEDIC_PROC_ROOT"),
                .interval_s = run->opt->interval_s > 0 ? run->opt->interval_s : 1.0,
                .probe_disk = run->opt->probe_disk,
        };
        void **samples = xcalloc(p->n_checks + 1, sizeof(void *));
        int *begun = xcalloc(p->n_checks + 1, sizeof(int));
        bool sampling = false;

        /* One interval for every check that samples, audit's as diagnose's: a policy
         * without them never waits, one with them waits once (1 s by default), and
         * --interval 0 leaves them out for an audit that must not wait at all. */
        for (size_t i = 0; i < p->n_checks; i++) {
                const struct check *c = &p->checks[i];
                if (!check_selected(run, c) || !c->ops->begin)
                        continue;
                if (run->opt->no_sampling) {
                        begun[i] = 1; /* not run */
                        continue;
                }
                ctx_clear(&run->ctx);
                begun[i] = c->ops->begin(&cr, c->spec, &samples[i]);
                sampling = sampling || samples[i];
        }
        if (sampling)
                sleep_s(cr.interval_s);
        for (size_t i = 0; i < p->n_checks; i++) {
                const struct check *c = &p->checks[i];
                struct check_results res = { 0 };
                int r;

                if (!check_selected(run, c))
                        continue;
                if (begun[i] == 1) {
                        add_not_sampled_row(run, c);
                        continue;
                }
                ctx_clear(&run->ctx);
                r = begun[i] < 0 ? begun[i] : c->ops->judge(&cr, c->spec, samples[i], &res);
                if (samples[i])
                        c->ops->sample_free(samples[i]);
                if (r < 0) {
                        struct row *row = report_add_row(&run->rep);
                        row->action = xstrdup(c->name);
                        row->kind = xstrdup(c->ops->kind);
                        row->object = xstrdup("-");
                        row->status = ROW_FAILED;
                        row->reason = xstrdup(ctx_reason(run, r));
                }
                for (size_t k = 0; k < res.n; k++)
                        add_row(run, c, &res.v[k]);
                check_results_free(&res);
        }
        free(samples);
        free(begun);
        check_run_done(&cr);
        return 0;
}

int engine_diagnose(struct run *run) {
        bool changes, failures;

        if (engine_check_only(run) < 0)
                return EXIT_CANNOT;
        if (run->policy->n_checks == 0) {
                report_error(&run->rep, "%s has no checks: section; see medic.yaml(5) or the shipped etcd.yaml", run->policy->path);
                return EXIT_CANNOT;
        }
        engine_run_checks(run);
        count_outcome(run, true, false, &changes, &failures);
        return exit_code_for(changes, failures);
}
