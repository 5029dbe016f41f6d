/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Undoing change sets: `medic rollback`, the confirm deadline, and recovery of a set that a
 * medic left open (killed, or stopped by a failure it could not record).
 *
 * Each object goes back to the set's "before" only where it still holds what the set left
 * there — or, for an interrupted set, a state the kind recognises as its own change
 * stopped part way (in_between). Anything else was changed by someone since: a conflict,
 * left alone unless --force. */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "engine_int.h"
#include "lock.h"

enum rb_reason {
        RB_MANUAL,
        RB_EXPIRED,
        RB_INTERRUPTED,
        _RB_REASON_MAX,
};

struct todo {
        const struct action_ops *ops;
        void *before, *after, *have;
        size_t oi;   /* the item in the set being undone */
        size_t row;
        bool restore;
        bool done;   /* restored by this run */
        size_t ri;   /* the item in the rollback set */
};

struct undoing {
        struct run *run;
        struct change_set *orig, *rb;
        struct jfile jo, jr; /* the set being undone, the rollback set */
        struct todo *todo;
        size_t n_todo;
        enum rb_reason why;
        char *stop;          /* a record could not be written: the rollback is undone */
        bool incomplete;
        const char *unreadable; /* an object that could not be read: no rollback goes ahead */
};

static void todo_free(struct todo *t) {
        if (!t->ops)
                return;
        t->ops->free(t->before);
        t->ops->free(t->after);
        t->ops->free(t->have);
}

static void note_stop(struct undoing *u, const char *what, int r) {
        if (!u->stop)
                u->stop = xasprintf("cannot write %s: %s", what, strerror(-r));
}

/* A set from an earlier boot: its runtime changes died with the reboot. */
static int earlier_boot(struct undoing *u, bool dry_run) {
        struct run *run = u->run;
        struct change_set *orig = u->orig;
        int r;

        report_message(&run->rep, "change set %u was made in an earlier boot (%s); its runtime changes died with the reboot: nothing to restore",
                       orig->id, orig->boot_id);
        if (dry_run || (u->why != RB_INTERRUPTED && u->why != RB_EXPIRED))
                return 0;
        orig->state = u->why == RB_INTERRUPTED ? SET_FAILED : SET_ROLLED_BACK;
        free(orig->message);
        orig->message = xstrdup(u->why == RB_INTERRUPTED ? "interrupted in an earlier boot; nothing to restore"
                                                         : "not confirmed; its runtime changes died with a reboot");
        r = journal_open(run->opt->state_dir, orig->id, &u->jo);
        if (r >= 0)
                r = journal_put_state(&u->jo, orig);
        if (r < 0) {
                report_error(&run->rep, "cannot write change set %u: %s", orig->id, strerror(-r));
                return r;
        }
        (void) audit_event(run, u->why == RB_INTERRUPTED ? EV_INTERRUPTED : EV_ROLLBACK, orig->id, NULL, NULL, NULL,
                           NULL, NULL, u->why == RB_INTERRUPTED ? "abandoned" : "expired", orig->message);
        return 0;
}

/* Reads every object the set changed (newest first) and decides what to do with it. */
static void classify(struct undoing *u, bool force, bool dry_run, uint64_t *needed, size_t *n_restore) {
        struct run *run = u->run;
        struct change_set *orig = u->orig;

        for (size_t k = orig->n_items; k-- > 0;) {
                struct set_item *oi = &orig->items[k];
                const struct action_ops *ops;
                struct todo t = { .oi = k };
                struct row *row;
                int r;

                /* An open set's pending items may have been changed part way before medic
                 * stopped: they are looked at too. */
                if (!(oi->state == ITEM_CHANGED || (u->why == RB_INTERRUPTED && oi->state == ITEM_PENDING)))
                        continue;
                row = report_add_row(&run->rep);
                row->action = xstrdup(oi->action);
                row->kind = xstrdup(oi->kind);
                row->object = xstrdup(oi->object);
                t.row = run->rep.n_rows - 1;
                ops = action_ops_find(oi->kind);
                if (!ops || ops->from_json(oi->before, &t.before) < 0 || ops->from_json(oi->after, &t.after) < 0) {
                        row->status = ROW_FAILED;
                        row->reason = xasprintf("change set %u: cannot read this item's before/after (%s)", orig->id,
                                                ops ? "damaged item" : "unknown kind");
                        if (ops && t.before)
                                ops->free(t.before);
                        u->incomplete = true;
                        continue;
                }
                t.ops = ops;
                ctx_clear(&run->ctx);
                r = ops->read(&run->ctx, t.before, &t.have);
                row->wanted = ops->describe(t.before);
                /* Only --json prints it (the records name the journal's own before). */
                if (run->opt->json)
                        row->wanted_json = state_json(ops, t.before);
                if (r == -ESRCH) {
                        /* The object is gone for good (a restarted process): nothing of
                         * this change is left to undo. */
                        row->status = ROW_SKIPPED;
                        row->reason = xstrdup(ctx_reason(run, r));
                        if (!dry_run)
                                oi->state = ITEM_SKIPPED;
                        todo_free(&t);
                        continue;
                }
                if (r < 0) {
                        row->status = ROW_FAILED;
                        row->reason = xstrdup(ctx_reason(run, r));
                        todo_free(&t);
                        u->incomplete = true;
                        u->unreadable = row->object;
                        continue;
                }
                row->current = ops->describe(t.have);
                row->current_json = state_json(ops, t.have);
                bool partial = u->why == RB_INTERRUPTED && ops->in_between && ops->in_between(t.before, t.after, t.have);
                if (ops->same(t.before, t.have)) {
                        row->status = ROW_OK;
                        row->reason = xstrdup("already as before");
                        if (!dry_run)
                                oi->state = oi->state == ITEM_CHANGED ? ITEM_RESTORED : ITEM_FAILED;
                } else if (force || partial || ops->same(t.after, t.have)) {
                        row->status = ROW_DRIFT;
                        if (partial && !ops->same(t.after, t.have))
                                row->reason = xstrdup("medic's own change, stopped part way");
                        *needed |= ops->caps ? ops->caps(t.before) : 0;
                        t.restore = true;
                        (*n_restore)++;
                } else {
                        _cleanup_free_ char *a = ops->describe(t.after);
                        row->status = ROW_CONFLICT;
                        row->reason = xasprintf("changed since change set %u set %s: left alone (--force restores it anyway)",
                                                orig->id, a);
                        if (!dry_run)
                                (void) audit_event(run, EV_CONFLICT, orig->id, oi->action, oi->kind, oi->object,
                                                   row->current_json, oi->before, "conflict", row->reason);
                        u->incomplete = true;
                }
                u->todo = xrealloc(u->todo, (u->n_todo + 1) * sizeof(*u->todo));
                u->todo[u->n_todo++] = t;
        }
}

/* The rollback set itself, written ahead of its first change. */
static int begin_rollback_set(struct undoing *u) {
        struct run *run = u->run;
        struct change_set *orig = u->orig;
        struct change_set *rb;
        int r;

        rb = u->rb = change_set_new(SET_KIND_ROLLBACK);
        set_header(run, rb);
        rb->rollback_of = orig->id;
        if (!rb->policy_name && orig->policy_name) {
                rb->policy_name = xstrdup(orig->policy_name);
                rb->policy_sha256 = orig->policy_sha256 ? xstrdup(orig->policy_sha256) : NULL;
        }
        if (u->why == RB_EXPIRED)
                rb->message = xasprintf("confirm deadline of change set %u passed", orig->id);
        r = journal_next_id(run->opt->state_dir, &rb->id);
        if (r < 0)
                return r;
        for (size_t k = 0; k < u->n_todo; k++) {
                struct todo *t = &u->todo[k];
                if (!t->restore)
                        continue;
                struct set_item *x = change_set_add_item(rb, orig->items[t->oi].action, orig->items[t->oi].kind,
                                                         orig->items[t->oi].object);
                /* What the row already holds: the same state, turned into JSON once. */
                x->before = run->rep.rows[t->row].current_json ? json_object_get(run->rep.rows[t->row].current_json)
                                                               : state_json(t->ops, t->have);
                x->after = json_object_get(orig->items[t->oi].before);
                t->ri = rb->n_items - 1;
        }
        r = journal_create(run->opt->state_dir, rb, &u->jr);
        if (r < 0)
                return r;
        run->rep.change = rb->id;
        return 0;
}

static void restore_one(struct undoing *u, struct todo *t) {
        struct run *run = u->run;
        struct row *row = row_at(run, t->row);
        struct set_item *oi = &u->orig->items[t->oi];
        struct set_item *ri = u->rb ? &u->rb->items[t->ri] : NULL;
        unsigned id = u->rb ? u->rb->id : u->orig->id;
        void *now = NULL;
        int r;

        r = change_object(run, t->ops, t->before, t->have, true, &now);
        if (r < 0) {
                row->status = ROW_FAILED;
                free(row->reason);
                row->reason = xasprintf("restoring: %s", ctx_reason(run, r));
                (void) audit_event(run, EV_FAILURE, id, oi->action, oi->kind, oi->object, row->current_json, oi->before,
                                   "failed", row->reason);
                u->incomplete = true;
                if (u->why == RB_INTERRUPTED)
                        return; /* recovery goes on: every other object back to before */
                /* The kind says before can never be had again, and has left what it
                 * documents instead (a root replaced with replace-foreign: the kernel
                 * default). That is no reason to undo the rest: it stays failed, reported. */
                if (r == -EOPNOTSUPP)
                        return;
                /* A rollback is a change set: all or nothing. This object goes back to what
                 * it held when the rollback began, and undo_rollback() does the others. */
                if (restore_object(run, t->ops, t->have, NULL) < 0) {
                        strv_push(&run->rep.errors, xasprintf("%s (%s) may be left part way restored: %s", oi->object,
                                                              oi->action, ctx_reason(run, -EIO)));
                        t->done = true; /* undo_rollback() tries it once more */
                }
                if (ri) {
                        ri->state = ITEM_FAILED;
                        ri->message = xstrdup(row->reason);
                        (void) journal_put_item(&u->jr, u->rb, t->ri);
                }
                if (!u->stop)
                        u->stop = xasprintf("restoring %s failed", oi->object);
                return;
        }
        t->done = true;
        row->status = ROW_RESTORED;
        free(row->reason);
        if (u->why == RB_EXPIRED)
                row->reason = xasprintf("confirm deadline of change set %u passed", u->orig->id);
        else if (u->why == RB_INTERRUPTED)
                row->reason = xasprintf("change set %u was interrupted", u->orig->id);
        else
                row->reason = NULL;
        oi->state = ITEM_RESTORED;
        /* An interrupted set is restored in place: its record says so at once (recovery goes
         * on whatever the journal says: every object back to before is the one state its
         * next recovery also accepts). A rollback set records the undone set's items only
         * once it is itself closed (finish()): killed before that, its recovery puts the
         * objects back, and the undone set must still call them changed. */
        if (!u->rb)
                (void) journal_put_item(&u->jo, u->orig, t->oi);
        if (ri) {
                ri->state = ITEM_CHANGED;
                json_object_put(ri->after);
                ri->after = state_json(t->ops, now);
                r = journal_put_item(&u->jr, u->rb, t->ri);
                if (r < 0)
                        note_stop(u, "the rollback set", r);
        }
        t->ops->free(now);
        r = audit_event(run, EV_ROLLBACK, id, oi->action, oi->kind, oi->object, row->current_json, oi->before,
                        "restored", row->reason);
        if (r < 0 && u->why != RB_INTERRUPTED)
                note_stop(u, "the audit log", r);
}

/* A rollback set that cannot be recorded is itself undone: the objects it restored get
 * back what they held, so the host is as before the rollback. */
static void undo_rollback(struct undoing *u) {
        struct run *run = u->run;
        size_t left = 0;

        for (size_t k = u->n_todo; k-- > 0;) {
                struct todo *t = &u->todo[k];
                struct row *row = row_at(run, t->row);
                int r;
                if (!t->done)
                        continue;
                r = restore_object(run, t->ops, t->have, NULL);
                if (r < 0) {
                        left++;
                        strv_push(&run->rep.errors, xasprintf("%s (%s) is left as before change set %u: %s",
                                                              row->object, row->action, u->orig->id, ctx_reason(run, r)));
                        continue;
                }
                if (row->status == ROW_RESTORED) {
                        row->status = ROW_FAILED;
                        free(row->reason);
                        row->reason = xasprintf("put back as it was: %s", u->stop);
                }
                u->orig->items[t->oi].state = ITEM_CHANGED;
        }
        if (left)
                report_error(&run->rep, "rollback set %u: %zu object(s) could not be put back; the set stays open and the next medic run restores it",
                             u->rb->id, left);
        else {
                u->rb->state = SET_FAILED;
                u->rb->message = xstrdup(u->stop);
                (void) journal_put_state(&u->jr, u->rb);
        }
        report_error(&run->rep, "rollback of change set %u did not happen: %s", u->orig->id, u->stop);
}

static int finish(struct undoing *u, bool dry_run) {
        struct run *run = u->run;
        struct change_set *orig = u->orig;
        int r;

        if (dry_run)
                return 0;
        if (u->rb) {
                u->rb->state = SET_APPLIED;
                r = journal_put_state(&u->jr, u->rb);
                if (r < 0) {
                        note_stop(u, "the rollback set", r);
                        undo_rollback(u);
                        return -EIO;
                }
        }
        if (!u->incomplete) {
                orig->state = SET_ROLLED_BACK;
                if (u->rb)
                        orig->rolled_back_by = u->rb->id;
        } else if (u->why == RB_INTERRUPTED)
                orig->state = SET_FAILED;
        if (u->why == RB_INTERRUPTED) {
                free(orig->message);
                orig->message = xstrdup(u->incomplete ? "interrupted; some items could not be restored"
                                                      : "interrupted; restored by the next run");
                (void) audit_event(run, EV_INTERRUPTED, orig->id, NULL, NULL, NULL, NULL, NULL,
                                   u->incomplete ? "incomplete" : "restored", orig->message);
        }
        if (u->jo.fd < 0) {
                r = journal_open(run->opt->state_dir, orig->id, &u->jo);
                if (r < 0) {
                        report_error(&run->rep, "cannot record the outcome in change set %u: %s", orig->id, strerror(-r));
                        return r;
                }
        }
        for (size_t k = 0; u->rb && k < u->n_todo; k++)
                if (u->todo[k].done)
                        (void) journal_put_item(&u->jo, orig, u->todo[k].oi);
        r = journal_put_state(&u->jo, orig);
        if (r < 0) {
                report_error(&run->rep, "cannot record the outcome in change set %u: %s%s", orig->id, strerror(-r),
                             u->why == RB_INTERRUPTED ? "; the next medic run looks at its objects again" : "");
                return r;
        }
        return 0;
}

/* Restores the items of orig (newest first). A manual or expiry rollback is itself a change
 * set; an interrupted set is restored in place. Returns <0 when the run must stop. */
static int rollback_set(struct run *run, struct change_set *orig, bool force, bool dry_run, enum rb_reason why) {
        struct undoing u = { .run = run, .orig = orig, .why = why, .jo = JFILE_INIT, .jr = JFILE_INIT };
        _cleanup_free_ enum item_state *loaded = NULL;
        uint64_t needed = 0;
        size_t n_restore = 0;
        int r = 0;

        /* rollback and confirm run without a policy: record the set's own. */
        if (!run->policy && run->log_open)
                auditlog_set_policy(&run->log, orig->policy_name, orig->policy_sha256);
        if (!dry_run && require_boot_id(run) < 0)
                return -EIO;
        if (!streq(orig->boot_id, run->boot_id)) {
                r = earlier_boot(&u, dry_run);
                journal_close(&u.jo);
                return r;
        }

        loaded = xcalloc(orig->n_items ? orig->n_items : 1, sizeof(*loaded));
        for (size_t k = 0; k < orig->n_items; k++)
                loaded[k] = orig->items[k].state;
        classify(&u, force, dry_run, &needed, &n_restore);
        if (dry_run)
                goto out;
        /* As apply: an object that cannot even be read stops the rollback before anything
         * changes (recovery goes on: every object it can bring back is one fewer to do). */
        if (u.unreadable && why != RB_INTERRUPTED && n_restore > 0) {
                for (size_t k = 0; k < u.n_todo; k++) {
                        struct row *row = row_at(run, u.todo[k].row);
                        if (!u.todo[k].restore)
                                continue;
                        u.todo[k].restore = false;
                        row->status = ROW_SKIPPED;
                        free(row->reason);
                        row->reason = xasprintf("not restored: %s could not be read (a rollback is all or nothing)",
                                                u.unreadable);
                }
                report_error(&run->rep, "change set %u was not rolled back: %s could not be read; nothing was changed",
                             orig->id, u.unreadable);
                r = -ECANCELED;
                goto out;
        }
        if (n_restore > 0) {
                r = check_caps(run, needed, "rollback");
                if (r < 0)
                        goto out;
        }
        /* Both files open before the first change: a set that cannot be written to is
         * found now, while nothing has changed. */
        r = journal_open(run->opt->state_dir, orig->id, &u.jo);
        if (r < 0) {
                report_error(&run->rep, "cannot write change set %u: %s; nothing was changed", orig->id, strerror(-r));
                goto out;
        }
        /* Items found already as before (or gone) are settled now. */
        for (size_t k = 0; k < orig->n_items; k++)
                if (orig->items[k].state != loaded[k] && journal_put_item(&u.jo, orig, k) < 0 && why != RB_INTERRUPTED) {
                        report_error(&run->rep, "cannot write change set %u: %s; nothing was changed", orig->id, strerror(EIO));
                        r = -EIO;
                        goto out;
                }
        if (n_restore > 0 && why != RB_INTERRUPTED) {
                r = begin_rollback_set(&u);
                if (r < 0) {
                        report_error(&run->rep, "cannot write the rollback set to %s/changes: %s; nothing was changed",
                                     run->opt->state_dir, strerror(-r));
                        goto out;
                }
        }
        /* Signals wait: a rollback runs to its end (it is short, and half a rollback is
         * a state nobody asked for). */
        stop_signals_catch();
        if (n_restore > 0)
                run->log.defer_sync = true;
        for (size_t k = 0; k < u.n_todo && !u.stop; k++)
                if (u.todo[k].restore)
                        restore_one(&u, &u.todo[k]);
        if (!u.stop && n_restore > 0 && run->log_open) {
                r = auditlog_sync(&run->log);
                if (r < 0 && why != RB_INTERRUPTED)
                        note_stop(&u, "the audit log", r);
        }
        run->log.defer_sync = false;
        if (u.stop) {
                undo_rollback(&u);
                r = -ECANCELED;
                goto out;
        }
        r = finish(&u, dry_run);
        if (stop_signal())
                report_message(&run->rep, "%s arrived during the rollback: it was finished first", strsignal(stop_signal()));
out:
        for (size_t k = 0; k < u.n_todo; k++)
                todo_free(&u.todo[k]);
        free(u.todo);
        free(u.stop);
        journal_close(&u.jo);
        journal_close(&u.jr);
        change_set_free(u.rb);
        return r;
}

static int pick_set(struct run *run, unsigned id, bool awaiting_only, struct change_set **ret) {
        _cleanup_free_ unsigned *ids = NULL;
        _cleanup_free_ char *why = NULL;
        size_t n;
        int r;

        if (id) {
                r = journal_load(run->opt->state_dir, id, ret, &why);
                if (r == -ENOENT)
                        report_error(&run->rep, "there is no change set %u (see 'medic history')", id);
                else if (r < 0)
                        report_error(&run->rep, "%s", why);
                return r;
        }
        r = journal_list(run->opt->state_dir, &ids, &n);
        if (r < 0) {
                report_error(&run->rep, "cannot read the journal: %s", strerror(-r));
                return r;
        }
        for (size_t i = n; i-- > 0;) {
                struct change_set *cs = NULL;
                free(why);
                why = NULL;
                r = journal_load(run->opt->state_dir, ids[i], &cs, &why);
                if (r < 0) {
                        report_error(&run->rep, "%s", why);
                        return r;
                }
                /* The default is the newest set still in force: not a rollback set (undoing
                 * an undo is asked for by id), not one from an earlier boot. */
                bool ok = awaiting_only ? cs->state == SET_AWAITING_CONFIRM
                                        : (cs->state == SET_APPLIED || cs->state == SET_AWAITING_CONFIRM) &&
                                                  cs->kind != SET_KIND_ROLLBACK && streq(cs->boot_id, run->boot_id);
                if (ok) {
                        *ret = cs;
                        return 0;
                }
                change_set_free(cs);
        }
        report_error(&run->rep, awaiting_only ? "no change set is awaiting confirmation"
                                              : "no applied change set of this boot to roll back (see 'medic history')");
        return -ENOENT;
}

int engine_rollback(struct run *run, unsigned id) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        bool changes, failures;
        int r;

        r = pick_set(run, id, false, &cs);
        if (r < 0)
                return EXIT_CANNOT;
        if (cs->state == SET_ROLLED_BACK) {
                report_message(&run->rep, "change set %u was already rolled back", cs->id);
                return EXIT_NOTHING;
        }
        if (cs->state == SET_APPLYING) {
                report_error(&run->rep, "change set %u is still being applied", cs->id);
                return EXIT_CANNOT;
        }
        r = rollback_set(run, cs, run->opt->force, run->opt->dry_run, RB_MANUAL);
        count_outcome(run, run->opt->dry_run, true, &changes, &failures);
        if (r == -ECANCELED)
                return EXIT_FAILURES; /* undone: the host is as before the rollback */
        if (r < 0 && !changes)
                return EXIT_CANNOT;
        if (r < 0)
                failures = true;
        if (!run->opt->dry_run && run->rep.change && r >= 0)
                report_message(&run->rep, "change set %u %srolled back as change set %u", cs->id,
                               failures ? "partly " : "", run->rep.change);
        return exit_code_for(changes, failures);
}

int engine_confirm(struct run *run, unsigned id) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        struct jfile jf = JFILE_INIT;
        int r;

        r = pick_set(run, id, id == 0, &cs);
        if (r < 0)
                return EXIT_CANNOT;
        if (cs->state != SET_AWAITING_CONFIRM) {
                if (cs->state == SET_ROLLED_BACK && cs->deadline)
                        report_error(&run->rep, "change set %u missed its confirm deadline and was rolled back", cs->id);
                else
                        report_error(&run->rep, "change set %u is %s, not awaiting confirmation", cs->id, set_state_name(cs->state));
                return EXIT_CANNOT;
        }
        cs->state = SET_APPLIED;
        r = journal_open(run->opt->state_dir, cs->id, &jf);
        if (r >= 0)
                r = journal_put_state(&jf, cs);
        journal_close(&jf);
        if (r < 0) {
                report_error(&run->rep, "cannot write change set %u to %s/changes: %s", cs->id, run->opt->state_dir,
                             strerror(-r));
                return EXIT_CANNOT;
        }
        if (run->log_open)
                auditlog_set_policy(&run->log, cs->policy_name, cs->policy_sha256);
        (void) audit_event(run, EV_CONFIRM, cs->id, NULL, NULL, NULL, NULL, NULL, "confirmed", NULL);
        report_message(&run->rep, "change set %u confirmed: it stays applied", cs->id);
        return EXIT_NOTHING;
}

/* The sets a run may have to act on (applying, awaiting-confirm, or unknown to the index),
 * loaded once. Closed sets cost nothing: the index names them. */
static int run_journal(struct run *run) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n;
        int r;

        if (run->sets_loaded)
                return run->journal_error ? -EBADMSG : 0;
        run->sets_loaded = true;
        r = journal_open_ids(run->opt->state_dir, &ids, &n);
        if (r < 0) {
                run->journal_error = xasprintf("cannot read the journal in %s/changes: %s", run->opt->state_dir, strerror(-r));
                return -EBADMSG;
        }
        run->sets = xcalloc(n, sizeof(*run->sets));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *why = NULL;
                if (journal_load(run->opt->state_dir, ids[i], &run->sets[run->n_sets], &why) < 0) {
                        run->journal_error = xasprintf("%s; move it aside to go on (nothing was changed)", why);
                        return -EBADMSG;
                }
                if (set_state_closed(run->sets[run->n_sets]->state)) {
                        /* A set of an older medic, or one whose index line was lost: the
                         * index learns it, so the next run skips it. */
                        if (run->lock_fd >= 0)
                                (void) journal_index_note(run->opt->state_dir, run->sets[run->n_sets]);
                        change_set_free(TAKE_PTR(run->sets[run->n_sets]));
                        continue;
                }
                run->n_sets++;
        }
        return 0;
}

int engine_limit_caps(struct run *run) {
        uint64_t keep = 0;
        int r;

        for (size_t i = 0; run->policy && i < run->policy->n_actions; i++)
                keep |= action_caps_all(run->policy->actions[i].ops);
        /* rollback may undo a set of any kind; the others restore only open sets. */
        if (streq(run->rep.command, "rollback"))
                for (size_t i = 0; action_registry[i]; i++)
                        keep |= action_caps_all(action_registry[i]);
        /* A damaged journal is reported by engine_recover(), before any change. */
        (void) run_journal(run);
        for (size_t i = 0; i < run->n_sets; i++) {
                const struct change_set *cs = run->sets[i];
                for (size_t k = 0; k < cs->n_items; k++) {
                        const struct action_ops *ops = action_ops_find(cs->items[k].kind);
                        if (ops)
                                keep |= action_caps_all(ops);
                }
        }
        r = caps_limit(keep | caps_for_reading(run->policy));
        if (r < 0)
                report_error(&run->rep, "cannot limit capabilities: %s", strerror(-r));
        return r;
}

int engine_recover(struct run *run) {
        int64_t now = now_realtime_ms() / 1000;
        int r = 0;

        if (run_journal(run) < 0) {
                report_error(&run->rep, "%s", run->journal_error);
                return -EBADMSG;
        }
        for (size_t i = 0; i < run->n_sets; i++) {
                struct change_set *cs = run->sets[i];

                if (cs->state == SET_APPLYING) {
                        /* We hold the lock: whoever was applying this set is gone. */
                        report_message(&run->rep, "change set %u was interrupted while applying: restoring it", cs->id);
                        r = rollback_set(run, cs, false, false, RB_INTERRUPTED);
                } else if (cs->state == SET_AWAITING_CONFIRM && cs->deadline <= now) {
                        report_message(&run->rep, "change set %u was not confirmed by its deadline: rolling it back", cs->id);
                        r = rollback_set(run, cs, false, false, RB_EXPIRED);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The watcher of --confirm-within: a detached child (fork, no exec) that sleeps until the
 * deadline and then rolls back the set unless it was confirmed. Every later medic run checks
 * the deadline too, so a lost watcher only delays the rollback to the next run. */
void engine_spawn_watcher(struct run *run, int64_t deadline) {
        struct options wopt = *run->opt;
        pid_t pid;

        if (test_hook("MEDIC_TEST_NO_WATCHER"))
                return;
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                report_message(&run->rep, "could not start the confirm watcher (%s): the next medic run after the deadline rolls back",
                               strerror(errno));
                return;
        }
        if (pid > 0) {
                waitpid(pid, NULL, 0);
                return;
        }
        setsid();
        if (fork() != 0)
                _exit(0);
        /* Our copy of the lock fd shares the parent's lock: close it, don't unlock it. */
        close(run->lock_fd);
        run->lock_fd = -1;
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
        }
        /* The parent's stop handlers are not the watcher's: a signal just ends it (the
         * next medic run still rolls back an expired set). */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        struct timespec ts = { .tv_sec = (time_t) deadline };
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
        wopt.wait_ms = 10 * 60 * 1000;
        wopt.dry_run = false;
        wopt.command_line = xasprintf("medic (confirm watcher of pid %d)", (int) getppid());
        struct run w;
        run_init(&w, &wopt, "confirm-watcher");
        if (run_lock(&w) >= 0 && run_open_audit_log(&w) >= 0)
                engine_recover(&w);
        run_done(&w);
        _exit(0);
}
