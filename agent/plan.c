/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The plan: every object the policy names, what it should be and what it is; and audit,
 * which reports that plan and changes nothing. */
#include <fcntl.h>
#include <sys/file.h>
#include <json-c/json.h>
#include <string.h>

#include "../actions/checks/check.h"
#include "engine_int.h"
#include "lock.h"

/* Which objects the plan already holds, by kind and name: `interface: all` makes thousands
 * of items, and each must be checked against the others (two actions on one object). */
struct seen {
        size_t *slot; /* item index + 1; 0 = empty */
        size_t cap;
};

static uint64_t seen_hash(const struct action_ops *ops, const char *object) {
        uint64_t h = 1469598103934665603ULL ^ (uint64_t) (uintptr_t) ops;
        for (const unsigned char *p = (const unsigned char *) object; *p; p++)
                h = (h ^ *p) * 1099511628211ULL;
        return h;
}

static void seen_done(struct seen *s) {
        free(s->slot);
}

static const struct item *seen_find(const struct seen *s, const struct plan *pl, const struct action_ops *ops,
                                    const char *object) {
        if (!s->cap)
                return NULL;
        for (size_t i = seen_hash(ops, object) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
                if (!s->slot[i])
                        return NULL;
                const struct item *it = &pl->items[s->slot[i] - 1];
                if (it->ops == ops && streq(it->object, object))
                        return it;
        }
}

static void seen_put(struct seen *s, const struct plan *pl, size_t idx) {
        const struct item *it = &pl->items[idx];
        size_t i = seen_hash(it->ops, it->object) & (s->cap - 1);
        while (s->slot[i])
                i = (i + 1) & (s->cap - 1);
        s->slot[i] = idx + 1;
}

/* pl->items[0..n) are in the set; add item n - 1, growing to keep the load under half. */
static void seen_add_last(struct seen *s, const struct plan *pl) {
        if (2 * pl->n > s->cap) {
                free(s->slot);
                s->cap = s->cap ? 2 * s->cap : 64;
                while (2 * pl->n > s->cap)
                        s->cap *= 2;
                s->slot = xcalloc(s->cap, sizeof(*s->slot));
                for (size_t k = 0; k < pl->n; k++)
                        seen_put(s, pl, k);
                return;
        }
        seen_put(s, pl, pl->n - 1);
}

void plan_free(struct plan *pl) {
        for (size_t i = 0; i < pl->n; i++) {
                struct item *it = &pl->items[i];
                free(it->object);
                if (it->want)
                        it->ops->free(it->want);
                if (it->have)
                        it->ops->free(it->have);
        }
        free(pl->items);
        *pl = (struct plan) { 0 };
}

int engine_check_only(struct run *run) {
        const struct policy *p = run->policy;

        for (size_t k = 0; run->opt->only && run->opt->only[k]; k++) {
                bool found = false;
                for (size_t i = 0; i < p->n_actions; i++)
                        found = found || streq(p->actions[i].name, run->opt->only[k]);
                for (size_t i = 0; i < p->n_checks; i++)
                        found = found || streq(p->checks[i].name, run->opt->only[k]);
                if (!found) {
                        report_error(&run->rep, "--only: the policy has no action named '%s'%s", run->opt->only[k],
                                     p->n_checks ? " (nor a check)" : "");
                        return -ENOENT;
                }
        }
        return 0;
}

int plan_build(struct run *run, struct plan *pl, bool notes) {
        const struct policy *p = run->policy;
        /* Each row's current_json and wanted_json only where --json prints them all: audit
         * fills those of the drift rows it logs (row_json_fill), apply those of the objects
         * it changes, so that 1,000 interfaces in order are not turned into JSON for
         * nothing. */
        bool rows_json = run->opt->json;

        _cleanup_(seen_done) struct seen seen = { 0 };

        if (engine_check_only(run) < 0)
                return -ENOENT;

        for (size_t i = 0; i < p->n_actions; i++) {
                const struct action *a = &p->actions[i];
                struct plan_list l = { 0 };
                int r;

                if (run->opt->only && !strv_contains(run->opt->only, a->name))
                        continue;
                if (run->repair_kinds && !strv_contains(run->repair_kinds, a->ops->kind))
                        continue;
                ctx_clear(&run->ctx);
                r = a->ops->plan(&run->ctx, a->want, &l);
                if (r < 0) {
                        struct row *row = report_add_row(&run->rep);
                        row->action = xstrdup(a->name);
                        row->kind = xstrdup(a->ops->kind);
                        row->object = xstrdup("-");
                        row->status = ROW_FAILED;
                        row->reason = xstrdup(ctx_reason(run, r));
                        continue;
                }
                for (size_t j = 0; j < l.n; j++) {
                        struct plan_item *pi = &l.items[j];
                        struct row *row;
                        struct item *it;

                        /* A repair looks only at the objects an event named. */
                        if ((run->repair_objects && !strv_contains(run->repair_objects, pi->object)) ||
                            strv_contains(run->repair_skip, pi->object)) {
                                free(pi->object), free(pi->skip), free(pi->wanted);
                                if (pi->want)
                                        a->ops->free(pi->want);
                                continue;
                        }
                        row = report_add_row(&run->rep);

                        row->action = xstrdup(a->name);
                        row->kind = xstrdup(a->ops->kind);
                        row->object = xstrdup(pi->object);
                        row->audit_only = a->mode == MODE_AUDIT;
                        if (pi->skip) {
                                /* A finding (no etcd found) is off for an audit; apply
                                 * has nothing to act on and skips it. */
                                row->status = pi->finding && streq(run->rep.command, "audit") ? ROW_DRIFT : ROW_SKIPPED;
                                row->reason = pi->skip;
                                row->wanted = pi->wanted;
                                free(pi->object);
                                if (pi->want)
                                        a->ops->free(pi->want);
                                continue;
                        }
                        row->wanted = a->ops->describe(pi->want);
                        if (rows_json)
                                row->wanted_json = state_json(a->ops, pi->want);

                        /* The same value twice is one item, or rollback would undo it twice.
                         * The loader refuses different values for one object where the policy
                         * names it; `interface: all` and `eth0` meet only here, and two
                         * actions that disagree must not be settled by their order. */
                        const struct item *dup = seen_find(&seen, pl, a->ops, pi->object);
                        if (dup) {
                                _cleanup_free_ char *other = a->ops->describe(dup->want);
                                if (a->ops->equal ? a->ops->equal(dup->want, pi->want) : a->ops->same(dup->want, pi->want)) {
                                        row->status = ROW_SKIPPED;
                                        row->reason = xasprintf("also set by action '%s'", dup->action);
                                } else {
                                        row->status = ROW_FAILED;
                                        row->reason = xasprintf("action '%s' wants %s here: two actions disagree, fix the policy",
                                                                dup->action, other);
                                }
                                free(pi->object);
                                a->ops->free(pi->want);
                                continue;
                        }

                        pl->items = xgrow(pl->items, pl->n, sizeof(*pl->items));
                        it = &pl->items[pl->n++];
                        *it = (struct item) { .ops = a->ops, .action = a->name, .mode = a->mode,
                                              .object = pi->object, .want = pi->want,
                                              .row = run->rep.n_rows - 1 };
                        seen_add_last(&seen, pl);
                        ctx_clear(&run->ctx);
                        r = a->ops->read(&run->ctx, it->want, &it->have);
                        row = row_at(run, it->row);
                        if (r < 0) {
                                row->status = ROW_FAILED;
                                row->reason = xstrdup(ctx_reason(run, r));
                                continue;
                        }
                        row->current = a->ops->describe(it->have);
                        if (rows_json)
                                row->current_json = state_json(a->ops, it->have);
                        row->status = a->ops->same(it->want, it->have) ? ROW_OK : ROW_DRIFT;
                        /* A note is printed under a row that is not ok, or under any row
                         * with -v or --json: an ok row's notes are not made for nothing (on
                         * `interface: all` they were a twentieth of an audit). */
                        if (notes && a->ops->notes && (row->status != ROW_OK || run->opt->json || run->opt->verbosity > 0)) {
                                struct recorded rec;
                                recorded_begin(run, &rec, a->ops, it->object);
                                a->ops->notes(&run->ctx, it->want, it->have, &row->notes);
                                recorded_end(run, &rec);
                        }
                }
                free(l.items);
        }
        return 0;
}

static void row_json_fill(struct row *row, const struct item *it) {
        if (!row->wanted_json)
                row->wanted_json = state_json(it->ops, it->want);
        if (!row->current_json)
                row->current_json = state_json(it->ops, it->have);
}

/* ---- read-only views of the journal: interrupted and expired sets ---- */

static bool lock_is_free(const char *state_dir) {
        return lock_probe(state_dir, NULL) <= 0;
}

/* Whether a medic agent keeps this host, and what it last did (STATE/agent). */
static void agent_report(struct run *run) {
        _cleanup_free_ char *path = xasprintf("%s/agent", run->opt->state_dir), *text = NULL, *comm = NULL, *cpath = NULL;
        char *line, *save = NULL;
        int pid = 0;
        const char *last = "-", *alone = "-";

        if (read_file(path, &text, NULL) < 0)
                return;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (startswith(line, "pid "))
                        pid = atoi(line + 4);
                else if (startswith(line, "last-repair "))
                        last = line + 12;
                else if (startswith(line, "left-alone "))
                        alone = line + 11;
        }
        cpath = xasprintf("/proc/%d/comm", pid);
        if (pid <= 0 || read_line_file(cpath, &comm) < 0 || !streq(comm, "medic")) {
                report_message(&run->rep, "no medic agent runs (the last one, pid %d, is gone)", pid);
                return;
        }
        report_message(&run->rep, "medic agent pid %d keeps this host; last repair: %s%s%s", pid, last,
                       streq(alone, "-") ? "" : "; left alone after someone kept changing them back: ", streq(alone, "-") ? "" : alone);
}

static int journal_report(struct run *run) {
        _cleanup_free_ unsigned *ids = NULL;
        bool free_lock = lock_is_free(run->opt->state_dir);
        size_t n;
        int r;

        r = journal_open_ids(run->opt->state_dir, &ids, &n);
        if (r < 0)
                return 0; /* no journal readable: nothing to report */
        for (size_t i = 0; i < n; i++) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL;
                if (journal_load(run->opt->state_dir, ids[i], &cs, &why) < 0) {
                        report_message(&run->rep, "journal: %s", why);
                        continue;
                }
                if (cs->state == SET_APPLYING && free_lock)
                        report_message(&run->rep, "change set %u was interrupted while applying%s; the next 'medic apply' restores it",
                                       cs->id, streq(cs->boot_id, run->boot_id) ? "" : " (in an earlier boot)");
                if (cs->state == SET_AWAITING_CONFIRM)
                        report_message(&run->rep, "change set %u awaits 'medic confirm %u'%s", cs->id, cs->id,
                                       cs->deadline <= now_realtime_ms() / 1000 ? " (deadline passed: the next medic run rolls it back)" : "");
        }
        return 0;
}

int engine_audit(struct run *run) {
        struct plan pl = { 0 };
        bool changes, failures;
        unsigned counts[_ROW_STATUS_MAX];
        int r;

        r = plan_build(run, &pl, true);
        if (r < 0) {
                plan_free(&pl);
                return EXIT_CANNOT;
        }
        /* Diagnosis is audit's, not a dry run's: apply --dry-run previews changes only. */
        if (streq(run->rep.command, "audit"))
                engine_run_checks(run);
        journal_report(run);
        agent_report(run);

        /* A read-only audit records itself where the audit log already exists and is
         * writable; it never creates directories. */
        if (!run->opt->dry_run && auditlog_open(&run->log, run->opt->audit_log, false) >= 0) {
                run->log_open = true;
                auditlog_set_policy(&run->log, run->policy->name, run->policy->sha256);
                for (size_t i = 0; i < pl.n; i++) {
                        struct row *row = row_at(run, pl.items[i].row);
                        if (row->status != ROW_DRIFT)
                                continue;
                        row_json_fill(row, &pl.items[i]);
                        audit_event(run, EV_DRIFT, 0, row->action, row->kind, row->object, row->current_json,
                                    row->wanted_json, "drift", NULL);
                }
                /* The checks' findings: measured value, threshold and what to do. */
                for (size_t i = 0; i < run->rep.n_rows; i++) {
                        const struct row *row = row_at(run, i);
                        if (row->status == ROW_DRIFT && check_ops_find(row->kind))
                                audit_event(run, EV_DRIFT, 0, row->action, row->kind, row->object,
                                            row->current_json, row->wanted_json, "finding", row->reason);
                }
        }
        count_outcome(run, true, !run->opt->dry_run, &changes, &failures);
        report_count(&run->rep, counts);
        _cleanup_free_ char *summary = xasprintf("%u ok, %u drift, %u failed, %u skipped", counts[ROW_OK],
                                                 counts[ROW_DRIFT], counts[ROW_FAILED], counts[ROW_SKIPPED]);
        audit_event(run, EV_AUDIT, 0, NULL, NULL, NULL, NULL, NULL, changes ? "drift" : "compliant", summary);
        plan_free(&pl);
        return exit_code_for(changes, failures);
}

