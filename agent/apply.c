/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apply: plan → write-ahead journal → per object: write, read back, record, audit → the set's
 * state made durable. All or nothing: whatever stops the set part way (an object that
 * fails, a journal or audit record that cannot be written, SIGINT/SIGTERM/SIGHUP) brings
 * back every object it changed, newest first, through one undo path. */
#include <json-c/json.h>
#include <signal.h>
#include <string.h>

#include "caps.h"
#include "engine_int.h"

struct applying {
        struct run *run;
        struct plan *pl;
        struct change_set *cs;
        struct jfile jf;
        size_t *order; /* plan indexes of the items being changed, in policy order */
        size_t n_order;
        size_t n_done; /* how many of order[] were attempted */
        char *stop;    /* why the whole set is being undone, or NULL */
};

static struct set_item *rec_of(struct applying *ap, const struct item *it) {
        return &ap->cs->items[it->rec];
}

/* A journal record that cannot be written stops the set: without it the next run would
 * misread what happened. The first such error is the one reported. */
static void put_item(struct applying *ap, const struct item *it) {
        /* Tried even after a failure: a full disk may have room again for the record that
         * closes the set (each record that fails is cut back off the file). */
        int r = journal_put_item(&ap->jf, ap->cs, it->rec);
        if (r < 0) {
                if (!ap->stop)
                        ap->stop = xasprintf("cannot write change set %u to %s/changes: %s", ap->cs->id,
                                             ap->run->opt->state_dir, strerror(-r));
        }
}

/* One object: write, read back; on failure bring it back from wherever it stopped. */
static void change_one(struct applying *ap, struct item *it) {
        struct run *run = ap->run;
        struct row *row = row_at(run, it->row);
        struct set_item *x = rec_of(ap, it);
        void *now = NULL;
        int r;

        strv_free(run->ctx.notes);
        run->ctx.notes = NULL;
        struct recorded rec;
        recorded_begin(run, &rec, it->ops, it->object);
        r = change_object(run, it->ops, it->want, it->have, false, &now);
        recorded_end(run, &rec);
        if (r < 0) {
                _cleanup_free_ char *why = xstrdup(ctx_reason(run, r));
                row->status = ROW_FAILED;
                row->reason = xstrdup(why);
                /* A failed write must not leave a half-changed object behind. */
                r = restore_object(run, it->ops, it->have, NULL);
                if (r < 0) {
                        free(row->reason);
                        row->reason = xasprintf("%s; and it could not be put back: %s", why, ctx_reason(run, r));
                        x->message = xstrdup(row->reason);
                        /* Still pending: recovery finds it part way and brings it back. */
                        strv_push(&run->rep.errors, xasprintf("%s (%s) may be left part way changed", it->object, it->action));
                } else {
                        x->state = ITEM_FAILED;
                        x->message = xstrdup(why);
                }
                put_item(ap, it);
                if (audit_event(run, EV_FAILURE, ap->cs->id, it->action, it->ops->kind, it->object, x->before,
                                x->after, "failed", row->reason) < 0 && !ap->stop)
                        ap->stop = xstrdup("cannot write the audit log");
                if (!run->opt->keep_going && !ap->stop)
                        ap->stop = xasprintf("%s failed", it->object);
                return;
        }
        for (size_t k = 0; run->ctx.notes && run->ctx.notes[k]; k++)
                if (!strv_contains(row->notes, run->ctx.notes[k]))
                        strv_push(&row->notes, xstrdup(run->ctx.notes[k]));
        strv_free(run->ctx.notes);
        run->ctx.notes = NULL;
        x->state = ITEM_CHANGED;
        json_object_put(x->after);
        x->after = state_json(it->ops, now);
        it->ops->free(now);
        row->status = ROW_CHANGED;
        put_item(ap, it);
        /* Nothing changes unrecorded: no audit record, no change. */
        r = audit_event(run, ap->cs->kind == SET_KIND_REPAIR ? EV_REPAIR : EV_CHANGE, ap->cs->id, it->action, it->ops->kind, it->object, x->before, x->after,
                        "changed", NULL);
        if (r < 0 && !ap->stop)
                ap->stop = xasprintf("cannot write the audit log %s: %s", run->opt->audit_log, strerror(-r));
}

/* The one undo path: every object of this set that is not as before, newest first.
 * Returns how many could not be brought back (each named in the report). */
static size_t undo_all(struct applying *ap) {
        struct run *run = ap->run;
        size_t left = 0;

        for (size_t k = ap->n_done; k-- > 0;) {
                struct item *it = &ap->pl->items[ap->order[k]];
                struct set_item *x = rec_of(ap, it);
                struct row *row = row_at(run, it->row);
                int r;

                if (x->state != ITEM_CHANGED && x->state != ITEM_PENDING)
                        continue;
                r = restore_object(run, it->ops, it->have, NULL);
                if (r < 0) {
                        left++;
                        free(row->reason);
                        row->status = ROW_FAILED;
                        row->reason = xasprintf("could not be restored: %s", ctx_reason(run, r));
                        strv_push(&run->rep.errors, xasprintf("%s (%s) is left changed: %s", it->object, it->action,
                                                              ctx_reason(run, r)));
                        continue;
                }
                if (x->state == ITEM_CHANGED) {
                        row->status = ROW_RESTORED;
                        free(row->reason);
                        row->reason = xasprintf("undone: %s", ap->stop);
                        (void) audit_event(run, EV_ROLLBACK, ap->cs->id, it->action, it->ops->kind, it->object,
                                           x->after, x->before, "restored", row->reason);
                }
                x->state = x->state == ITEM_CHANGED ? ITEM_RESTORED : ITEM_FAILED;
                put_item(ap, it);
        }
        return left;
}

static int finish_undone(struct applying *ap) {
        struct run *run = ap->run;
        size_t left = undo_all(ap);
        int r;

        if (left > 0) {
                /* The set stays "applying": the next medic run finds it interrupted and
                 * brings these objects back (recovery reads each one from the kernel). */
                report_error(&run->rep, "change set %u: %zu object(s) could not be restored; the set stays open and the next 'medic apply' restores them",
                             ap->cs->id, left);
                return EXIT_FAILURES;
        }
        ap->cs->state = SET_FAILED;
        free(ap->cs->message);
        ap->cs->message = xstrdup(ap->stop);
        r = journal_put_state(&ap->jf, ap->cs);
        if (r < 0)
                report_error(&run->rep, "change set %u: could not record that it was undone; the host is as before it, and the next medic run confirms that object by object",
                             ap->cs->id);
        report_message(&run->rep, "change set %u failed; what it had changed was restored (%s)", ap->cs->id, ap->stop);
        return EXIT_FAILURES;
}

/* Picks what to change; reports why nothing will. Returns how many. */
static size_t pick(struct run *run, struct plan *pl, uint64_t *needed) {
        const char *broken = NULL;
        size_t n = 0;

        /* Atomic apply: an enforce item that could not even be read fails the set before
         * anything changes, unless --keep-going. */
        for (size_t i = 0; i < run->rep.n_rows; i++)
                if (run->rep.rows[i].status == ROW_FAILED && !run->rep.rows[i].audit_only)
                        broken = run->rep.rows[i].object;
        for (size_t i = 0; i < pl->n; i++) {
                struct item *it = &pl->items[i];
                struct row *row = row_at(run, it->row);
                if (it->mode != MODE_ENFORCE || row->status != ROW_DRIFT)
                        continue;
                if (broken && !run->opt->keep_going) {
                        row->status = ROW_SKIPPED;
                        row->reason = xasprintf("not applied: %s failed (apply is all or nothing; --keep-going applies the rest)",
                                                broken);
                        continue;
                }
                it->change = true;
                n++;
                *needed |= it->ops->caps ? it->ops->caps(it->want) : 0;
        }
        return n;
}

static int apply_set(struct run *run, enum set_kind kind) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        struct plan pl = { 0 };
        struct applying ap = { .run = run, .pl = &pl, .jf = JFILE_INIT };
        uint64_t needed = 0;
        bool changes, failures, any_changed = false;
        int r, exit_code;

        r = plan_build(run, &pl, run->opt->verbosity > 0);
        if (r < 0) {
                exit_code = EXIT_CANNOT;
                goto out;
        }
        if (pick(run, &pl, &needed) == 0) {
                count_outcome(run, false, false, &changes, &failures);
                exit_code = exit_code_for(changes, failures);
                goto out;
        }
        /* A missing capability is reported now, as what would fail — not halfway through. */
        if (check_caps(run, needed, "apply") < 0 || require_boot_id(run) < 0) {
                exit_code = EXIT_CANNOT;
                goto out;
        }
        r = run->keep_caps ? 0 : caps_limit(needed);
        if (r < 0) {
                report_error(&run->rep, "cannot limit capabilities: %s", strerror(-r));
                exit_code = EXIT_CANNOT;
                goto out;
        }

        cs = change_set_new(kind);
        set_header(run, cs);
        if (run->repair_cause)
                cs->message = xasprintf("repair: %s", run->repair_cause);
        r = journal_next_id(run->opt->state_dir, &cs->id);
        if (r < 0) {
                report_error(&run->rep, "cannot read the journal: %s", strerror(-r));
                exit_code = EXIT_CANNOT;
                goto out;
        }
        ap.cs = cs;
        ap.order = xcalloc(pl.n, sizeof(*ap.order));
        for (size_t i = 0; i < pl.n; i++) {
                struct item *it = &pl.items[i];
                if (!it->change)
                        continue;
                struct set_item *x = change_set_add_item(cs, it->action, it->ops->kind, it->object);
                it->rec = cs->n_items - 1;
                ap.order[ap.n_order++] = i;
                x->before = state_json(it->ops, it->have);
                x->after = state_json(it->ops, it->want);
                if (!x->before || !x->after) {
                        report_error(&run->rep, "%s: cannot record the state before the change; nothing was changed", it->object);
                        exit_code = EXIT_CANNOT;
                        goto out;
                }
                /* The same JSON for the row (the daemon records a conflict from it). */
                struct row *row = row_at(run, it->row);
                if (!row->current_json)
                        row->current_json = json_object_get(x->before);
                if (!row->wanted_json)
                        row->wanted_json = json_object_get(x->after);
        }
        /* Write-ahead: every item's "before" is durable before the first change. */
        r = journal_create(run->opt->state_dir, cs, &ap.jf);
        if (r < 0) {
                report_error(&run->rep, "cannot write change set %u to %s/changes: %s; nothing was changed", cs->id,
                             run->opt->state_dir, strerror(-r));
                exit_code = EXIT_CANNOT;
                goto out;
        }
        run->rep.change = cs->id;
        /* Audit records are written as objects change and made durable together before the
         * set is: until then the set is open, and a crash undoes its changes. */
        run->log.defer_sync = true;
        stop_signals_catch();

        for (size_t k = 0; k < ap.n_order && !ap.stop; k++) {
                if (stop_signal()) {
                        ap.stop = xasprintf("interrupted by %s", strsignal(stop_signal()));
                        break;
                }
                ap.n_done = k + 1;
                change_one(&ap, &pl.items[ap.order[k]]);
                test_fault_point((unsigned) ap.n_done);
        }
        if (!ap.stop && run->log_open) {
                r = auditlog_sync(&run->log);
                if (r < 0)
                        ap.stop = xasprintf("cannot write the audit log %s: %s", run->opt->audit_log, strerror(-r));
        }
        if (ap.stop) {
                exit_code = finish_undone(&ap);
                goto out;
        }

        for (size_t k = 0; k < cs->n_items; k++)
                any_changed = any_changed || cs->items[k].state == ITEM_CHANGED;
        if (!any_changed)
                cs->state = SET_FAILED;
        else if (run->opt->confirm_within > 0) {
                cs->state = SET_AWAITING_CONFIRM;
                /* Round up: --confirm-within N gives at least N seconds. */
                cs->deadline = (now_realtime_ms() + 999) / 1000 + run->opt->confirm_within;
        } else
                cs->state = SET_APPLIED;
        r = journal_put_state(&ap.jf, cs);
        if (r < 0) {
                /* Without this record the next run would take the set for interrupted and
                 * undo it then, behind the operator's back: undo it now and say so. */
                ap.stop = xasprintf("cannot write change set %u to %s/changes: %s", cs->id, run->opt->state_dir,
                                    strerror(-r));
                exit_code = finish_undone(&ap);
                goto out;
        }
        if (cs->state == SET_AWAITING_CONFIRM) {
                char when[40];
                rfc3339_from(cs->deadline, when);
                report_message(&run->rep, "change set %u applied; run 'medic confirm %u' before %s or it is rolled back",
                               cs->id, cs->id, when);
                engine_spawn_watcher(run, cs->deadline);
        } else if (any_changed)
                report_message(&run->rep, "change set %u applied; 'medic rollback %u' undoes it", cs->id, cs->id);
        if (stop_signal())
                report_message(&run->rep, "%s arrived after the last object: the set was completed", strsignal(stop_signal()));
        count_outcome(run, false, false, &changes, &failures);
        exit_code = exit_code_for(changes, failures);
out:
        run->log.defer_sync = false;
        journal_close(&ap.jf);
        free(ap.order);
        free(ap.stop);
        plan_free(&pl);
        return exit_code;
}

int engine_apply(struct run *run) {
        return apply_set(run, SET_KIND_APPLY);
}

int engine_repair(struct run *run, char *const *kinds, char *const *objects, const char *cause) {
        int r;

        run->repair_kinds = kinds;
        run->repair_objects = objects;
        run->repair_cause = cause;
        r = apply_set(run, SET_KIND_REPAIR);
        run->repair_kinds = NULL;
        run->repair_objects = NULL;
        run->repair_cause = NULL;
        return r;
}
