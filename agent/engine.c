/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: plan → journal → apply → read back → (undo) → audit log, and rollback. */
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "engine.h"
#include "lock.h"
#include "netif.h"

void run_init(struct run *run, const struct options *opt, const char *command) {
        *run = (struct run) { .opt = opt, .lock_fd = -1, .log = { .fd = -1 } };
        run->rep.command = command;
        run->rep.dry_run = opt->dry_run;
        run->ctx.root = getenv("MEDIC_CONF_ROOT"); /* test hook: where /etc/sysctl.d etc. live */
        if (boot_id(run->boot_id) < 0)
                run->boot_id[0] = 0;
}

void run_done(struct run *run) {
        for (size_t i = 0; i < run->n_sets; i++)
                change_set_free(run->sets[i]);
        free(run->sets);
        free(run->journal_error);
        lock_release(&run->lock_fd);
        if (run->log_open)
                auditlog_close(&run->log);
        ctx_clear(&run->ctx);
        netrun_free(run->ctx.net);
        run->ctx.net = NULL;
        strv_free(run->ctx.notes);
        run->ctx.notes = NULL;
        report_free(&run->rep);
        policy_free(run->policy);
        run->policy = NULL;
}

int run_load_policy(struct run *run, bool changing) {
        const char *path = run->opt->policy_path;
        _cleanup_free_ char *why = NULL;
        struct perr err = { 0 };
        int r;

        if (geteuid() == 0 && policy_check_perms(path, &why) == -EPERM) {
                if (changing) {
                        report_error(&run->rep, "refusing policy: %s; a policy is root for whoever can write it (chown root, chmod go-w)", why);
                        return -EPERM;
                }
                fprintf(stderr, "medic: warning: %s; apply would refuse this policy\n", why);
        }
        r = policy_load(path, &run->policy, &err);
        for (size_t i = 0; i < err.n; i++)
                report_error(&run->rep, "%s", err.msgs[i]);
        perr_done(&err);
        if (r < 0) {
                report_error(&run->rep, "policy is invalid: nothing was changed");
                return r;
        }
        run->rep.policy_name = run->policy->name;
        run->rep.policy_sha256 = run->policy->sha256;
        run->rep.policy_path = run->policy->path;
        return 0;
}

int run_lock(struct run *run) {
        pid_t holder = 0;
        int r;

        r = mkdir_p(run->opt->state_dir, 0700);
        if (r >= 0)
                r = journal_init(run->opt->state_dir, true);
        if (r < 0) {
                report_error(&run->rep, "cannot create state directory %s: %s", run->opt->state_dir, strerror(-r));
                return r;
        }
        r = lock_take(run->opt->state_dir, run->opt->wait_ms, &run->lock_fd, &holder);
        if (r == -EWOULDBLOCK) {
                if (holder > 0)
                        report_error(&run->rep, "another medic (pid %d) holds %s/lock; try again or pass --wait SECONDS",
                                     (int) holder, run->opt->state_dir);
                else
                        report_error(&run->rep, "another medic holds %s/lock; try again or pass --wait SECONDS",
                                     run->opt->state_dir);
                return r;
        }
        if (r < 0)
                report_error(&run->rep, "cannot lock %s/lock: %s", run->opt->state_dir, strerror(-r));
        return r;
}

int run_open_audit_log(struct run *run) {
        int r = auditlog_open(&run->log, run->opt->audit_log, true);
        if (r < 0) {
                report_error(&run->rep, "cannot write the audit log %s: %s; nothing was changed",
                             run->opt->audit_log, strerror(-r));
                return r;
        }
        run->log_open = true;
        if (run->policy)
                auditlog_set_policy(&run->log, run->policy->name, run->policy->sha256);
        return 0;
}

static const char *ctx_reason(struct run *run, int r) {
        return run->ctx.errmsg ? run->ctx.errmsg : strerror(-r);
}

/* ---- plan ---- */

struct item {
        const struct action_ops *ops;
        const char *action;
        enum action_mode mode;
        char *object;
        void *want;
        void *have;
        size_t row;
};

struct plan {
        struct item *items;
        size_t n;
};

static void plan_free(struct plan *pl) {
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

static struct row *row_of(struct run *run, const struct item *it) {
        return &run->rep.rows[it->row];
}

static struct json_object *state_json(const struct action_ops *ops, const void *state) {
        struct json_object *j = NULL;
        if (state && ops->to_json(state, &j) < 0)
                return NULL;
        return j;
}

int engine_check_only(struct run *run) {
        const struct policy *p = run->policy;

        for (size_t k = 0; run->opt->only && run->opt->only[k]; k++) {
                bool found = false;
                for (size_t i = 0; i < p->n_actions; i++)
                        found = found || streq(p->actions[i].name, run->opt->only[k]);
                if (!found) {
                        report_error(&run->rep, "--only: the policy has no action named '%s'", run->opt->only[k]);
                        return -ENOENT;
                }
        }
        return 0;
}

static int plan_build(struct run *run, struct plan *pl, bool notes) {
        const struct policy *p = run->policy;

        if (engine_check_only(run) < 0)
                return -ENOENT;

        for (size_t i = 0; i < p->n_actions; i++) {
                const struct action *a = &p->actions[i];
                struct plan_list l = { 0 };
                int r;

                if (run->opt->only && !strv_contains(run->opt->only, a->name))
                        continue;
                ctx_clear(&run->ctx);
                r = a->ops->plan(&run->ctx, a->spec, &l);
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
                        struct row *row = report_add_row(&run->rep);
                        struct item *it;

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
                        row->wanted_json = state_json(a->ops, pi->want);

                        /* The same value twice is one item, or rollback would undo it twice.
                         * The loader refuses different values for one object where the policy
                         * names it; `interface: all` and `eth0` meet only here, and two
                         * actions that disagree must not be settled by their order. */
                        const struct item *dup = NULL;
                        for (size_t m = 0; m < pl->n; m++)
                                if (pl->items[m].ops == a->ops && streq(pl->items[m].object, pi->object))
                                        dup = &pl->items[m];
                        if (dup) {
                                _cleanup_free_ char *other = a->ops->describe(dup->want);
                                if (streq(other, row->wanted)) {
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

                        pl->items = xrealloc(pl->items, (pl->n + 1) * sizeof(*pl->items));
                        it = &pl->items[pl->n++];
                        *it = (struct item) { .ops = a->ops, .action = a->name, .mode = a->mode,
                                              .object = pi->object, .want = pi->want,
                                              .row = run->rep.n_rows - 1 };
                        ctx_clear(&run->ctx);
                        r = a->ops->read(&run->ctx, it->want, &it->have);
                        row = row_of(run, it);
                        if (r < 0) {
                                row->status = ROW_FAILED;
                                row->reason = xstrdup(ctx_reason(run, r));
                                continue;
                        }
                        row->current = a->ops->describe(it->have);
                        row->current_json = state_json(a->ops, it->have);
                        row->status = a->ops->same(it->want, it->have) ? ROW_OK : ROW_DRIFT;
                        if (notes && a->ops->notes)
                                a->ops->notes(&run->ctx, it->want, it->have, &row->notes);
                }
                free(l.items);
        }
        return 0;
}

static void count_outcome(struct run *run, bool drift_counts, bool audit_drift_counts, bool *changes, bool *failures) {
        *changes = *failures = false;
        for (size_t i = 0; i < run->rep.n_rows; i++) {
                const struct row *r = &run->rep.rows[i];
                switch (r->status) {
                case ROW_DRIFT:
                        if (drift_counts && (audit_drift_counts || !r->audit_only))
                                *changes = true;
                        break;
                case ROW_CHANGED:
                case ROW_RESTORED:
                        *changes = true;
                        break;
                case ROW_FAILED:
                case ROW_CONFLICT:
                        *failures = true;
                        break;
                case ROW_OK:
                case ROW_SKIPPED:
                case _ROW_STATUS_MAX:
                        break;
                }
        }
}

static void audit_event(struct run *run, enum audit_event ev, unsigned change, const char *action,
                        const char *kind, const char *object, struct json_object *before,
                        struct json_object *after, const char *result, const char *message) {
        struct audit_record rec = { .event = ev, .change = change, .action = action, .kind = kind,
                                    .object = object, .before = before, .after = after,
                                    .result = result, .message = message };
        if (run->log_open)
                (void) auditlog_write(&run->log, &rec);
}

/* ---- read-only views of the journal: interrupted and expired sets ---- */

static bool lock_is_free(const char *state_dir) {
        return lock_probe(state_dir, NULL) <= 0;
}

static int journal_report(struct run *run) {
        _cleanup_free_ unsigned *ids = NULL;
        bool free_lock = lock_is_free(run->opt->state_dir);
        size_t n;
        int r;

        r = journal_list(run->opt->state_dir, &ids, &n);
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
        journal_report(run);

        /* A read-only audit records itself where the audit log already exists and is
         * writable; it never creates directories. */
        if (!run->opt->dry_run && auditlog_open(&run->log, run->opt->audit_log, false) >= 0) {
                run->log_open = true;
                auditlog_set_policy(&run->log, run->policy->name, run->policy->sha256);
                for (size_t i = 0; i < pl.n; i++) {
                        const struct row *row = row_of(run, &pl.items[i]);
                        if (row->status == ROW_DRIFT)
                                audit_event(run, EV_DRIFT, 0, row->action, row->kind, row->object,
                                            row->current_json, row->wanted_json, "drift", NULL);
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

/* ---- changing the host ---- */

static int check_caps(struct run *run, uint64_t needed, const char *what) {
        uint64_t missing = needed & ~caps_effective();
        if (missing) {
                _cleanup_free_ char *names = caps_describe(missing);
                report_error(&run->rep, "%s needs %s, which this process does not have; run medic as root. Nothing was changed",
                             what, names);
                return -EPERM;
        }
        return 0;
}

static void set_header(struct run *run, struct change_set *cs) {
        char host[256] = "";
        rfc3339_now(cs->time);
        snprintf(cs->boot_id, sizeof cs->boot_id, "%s", run->boot_id);
        cs->uid = getuid();
        if (getenv("SUDO_USER"))
                cs->sudo_user = xstrdup(getenv("SUDO_USER"));
        cs->command = xstrdup(run->opt->command_line ? run->opt->command_line : "medic");
        gethostname(host, sizeof host - 1);
        cs->hostname = xstrdup(host);
        if (run->policy) {
                cs->policy_name = xstrdup(run->policy->name);
                cs->policy_sha256 = xstrdup(run->policy->sha256);
        }
}

/* Write the object, read it back, compare. The kernel may refuse or normalise a value
 * silently: only the read-back counts. On success *ret_now holds the read-back state. */
static int change_object(struct run *run, const struct action_ops *ops, const void *want, const void *have,
                         bool restoring, void **ret_now) {
        void *now = NULL;
        int r, q;

        ctx_clear(&run->ctx);
        if (restoring && ops->restore)
                r = ops->restore(&run->ctx, want, have);
        else
                r = ops->apply(&run->ctx, want, have);
        _cleanup_free_ char *apply_err = run->ctx.errmsg ? xstrdup(run->ctx.errmsg) : NULL;
        ctx_clear(&run->ctx);
        q = ops->read(&run->ctx, want, &now);
        if (r < 0) {
                if (now)
                        ops->free(now);
                ctx_fail(&run->ctx, "%s", apply_err ? apply_err : strerror(-r));
                return r;
        }
        if (q < 0) {
                ctx_fail(&run->ctx, "reading back: %s", ctx_reason(run, q));
                return q;
        }
        if (!ops->same(want, now)) {
                _cleanup_free_ char *w = ops->describe(want), *h = ops->describe(now);
                ctx_fail(&run->ctx, "the kernel holds %s after medic wrote %s", h, w);
                ops->free(now);
                return -EIO;
        }
        *ret_now = now;
        return 0;
}

static int save_set(struct run *run, const struct change_set *cs) {
        int r = journal_save(run->opt->state_dir, cs);
        if (r < 0)
                report_error(&run->rep, "cannot write change set %u to %s/changes: %s", cs->id,
                             run->opt->state_dir, strerror(-r));
        return r;
}

enum rb_reason {
        RB_MANUAL,
        RB_EXPIRED,
        RB_INTERRUPTED,
        RB_ATOMIC,
        _RB_REASON_MAX,
};

/* Restores the items of orig (newest first). Each object must still hold what the set left
 * there (its "after"), else it is a conflict and left alone, unless force. A manual or
 * expiry rollback is itself a change set; an interrupted set is restored in place. */
static int rollback_set(struct run *run, struct change_set *orig, bool force, bool dry_run, enum rb_reason why) {
        _cleanup_(change_set_freep) struct change_set *rb = NULL;
        struct todo {
                const struct action_ops *ops;
                void *before, *after, *have;
                struct set_item *oi;
                size_t row;
                struct set_item *ri;
        } *todo = NULL;
        size_t n_todo = 0, n_restore = 0;
        uint64_t needed = 0;
        bool incomplete = false;
        int r = 0;

        /* rollback and confirm run without a policy: record the set's own. */
        if (!run->policy && run->log_open)
                auditlog_set_policy(&run->log, orig->policy_name, orig->policy_sha256);
        if (!streq(orig->boot_id, run->boot_id)) {
                report_message(&run->rep, "change set %u was made in an earlier boot (%s); its runtime changes died with the reboot: nothing to restore",
                               orig->id, orig->boot_id);
                if (why == RB_INTERRUPTED && !dry_run) {
                        orig->state = SET_FAILED;
                        free(orig->message);
                        orig->message = xstrdup("interrupted in an earlier boot; nothing to restore");
                        audit_event(run, EV_INTERRUPTED, orig->id, NULL, NULL, NULL, NULL, NULL, "abandoned", orig->message);
                        return save_set(run, orig);
                }
                if (why == RB_EXPIRED && !dry_run) {
                        /* Never confirmed, and the reboot already undid it. */
                        orig->state = SET_ROLLED_BACK;
                        free(orig->message);
                        orig->message = xstrdup("not confirmed; its runtime changes died with a reboot");
                        audit_event(run, EV_ROLLBACK, orig->id, NULL, NULL, NULL, NULL, NULL, "expired", orig->message);
                        return save_set(run, orig);
                }
                return 0;
        }

        for (size_t k = orig->n_items; k-- > 0;) {
                struct set_item *oi = &orig->items[k];
                const struct action_ops *ops;
                struct row *row;
                struct todo t = { .oi = oi };

                if (!(oi->state == ITEM_CHANGED || (why == RB_INTERRUPTED && oi->state == ITEM_PENDING)))
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
                        incomplete = true;
                        continue;
                }
                t.ops = ops;
                ctx_clear(&run->ctx);
                r = ops->read(&run->ctx, t.before, &t.have);
                row->wanted = ops->describe(t.before);
                row->wanted_json = state_json(ops, t.before);
                if (r == -ESRCH) {
                        /* The object is gone for good (a restarted process): nothing of
                         * this change is left to undo. */
                        row->status = ROW_SKIPPED;
                        row->reason = xstrdup(ctx_reason(run, r));
                        if (!dry_run)
                                oi->state = ITEM_SKIPPED;
                        ops->free(t.before);
                        ops->free(t.after);
                        continue;
                }
                if (r < 0) {
                        row->status = ROW_FAILED;
                        row->reason = xstrdup(ctx_reason(run, r));
                        ops->free(t.before);
                        ops->free(t.after);
                        incomplete = true;
                        continue;
                }
                row->current = ops->describe(t.have);
                row->current_json = state_json(ops, t.have);
                if (ops->same(t.before, t.have)) {
                        row->status = ROW_OK;
                        row->reason = xstrdup("already as before");
                        if (!dry_run)
                                oi->state = ITEM_RESTORED;
                } else if (!force && !ops->same(t.after, t.have)) {
                        _cleanup_free_ char *a = ops->describe(t.after);
                        row->status = ROW_CONFLICT;
                        row->reason = xasprintf("changed since change set %u set %s: left alone (--force restores it anyway)",
                                                orig->id, a);
                        if (!dry_run)
                                audit_event(run, EV_CONFLICT, orig->id, oi->action, oi->kind, oi->object,
                                            row->current_json, oi->before, "conflict", row->reason);
                        incomplete = true;
                } else {
                        row->status = ROW_DRIFT;
                        needed |= ops->caps ? ops->caps(t.before) : 0;
                        n_restore++;
                }
                todo = xrealloc(todo, (n_todo + 1) * sizeof(*todo));
                todo[n_todo++] = t;
        }

        if (dry_run || n_restore == 0)
                goto finish;
        r = check_caps(run, needed, "rollback");
        if (r < 0)
                goto out;

        if (why == RB_MANUAL || why == RB_EXPIRED) {
                rb = change_set_new(SET_KIND_ROLLBACK);
                set_header(run, rb);
                rb->rollback_of = orig->id;
                if (!rb->policy_name && orig->policy_name) {
                        rb->policy_name = xstrdup(orig->policy_name);
                        rb->policy_sha256 = orig->policy_sha256 ? xstrdup(orig->policy_sha256) : NULL;
                }
                if (why == RB_EXPIRED)
                        rb->message = xasprintf("confirm deadline of change set %u passed", orig->id);
                r = journal_next_id(run->opt->state_dir, &rb->id);
                if (r < 0)
                        goto out;
                for (size_t k = 0; k < n_todo; k++) {
                        struct row *row = &run->rep.rows[todo[k].row];
                        if (row->status != ROW_DRIFT)
                                continue;
                        struct set_item *x = change_set_add_item(rb, todo[k].oi->action, todo[k].oi->kind, todo[k].oi->object);
                        x->before = state_json(todo[k].ops, todo[k].have);
                        x->after = json_object_get(todo[k].oi->before);
                        todo[k].ri = (struct set_item *) (uintptr_t) rb->n_items;
                }
                for (size_t k = 0; k < n_todo; k++)
                        if (todo[k].ri)
                                todo[k].ri = &rb->items[(uintptr_t) todo[k].ri - 1];
                r = save_set(run, rb); /* write-ahead: before the first change */
                if (r < 0)
                        goto out;
                run->rep.change = rb->id;
        }

        for (size_t k = 0; k < n_todo; k++) {
                struct todo *t = &todo[k];
                struct row *row = &run->rep.rows[t->row];
                void *now = NULL;

                if (row->status != ROW_DRIFT)
                        continue;
                r = change_object(run, t->ops, t->before, t->have, true, &now);
                if (r < 0) {
                        row->status = ROW_FAILED;
                        row->reason = xasprintf("restoring: %s", ctx_reason(run, r));
                        if (t->ri)
                                t->ri->state = ITEM_FAILED, t->ri->message = xstrdup(row->reason);
                        audit_event(run, EV_FAILURE, rb ? rb->id : orig->id, t->oi->action, t->oi->kind,
                                    t->oi->object, row->current_json, t->oi->before, "failed", row->reason);
                        incomplete = true;
                        continue;
                }
                row->status = ROW_RESTORED;
                if (why == RB_EXPIRED)
                        row->reason = xasprintf("confirm deadline of change set %u passed", orig->id);
                else if (why == RB_INTERRUPTED)
                        row->reason = xasprintf("change set %u was interrupted", orig->id);
                t->oi->state = ITEM_RESTORED;
                if (t->ri) {
                        t->ri->state = ITEM_CHANGED;
                        json_object_put(t->ri->after);
                        t->ri->after = state_json(t->ops, now);
                        save_set(run, rb);
                }
                audit_event(run, EV_ROLLBACK, rb ? rb->id : orig->id, t->oi->action, t->oi->kind, t->oi->object,
                            row->current_json, t->oi->before, "restored", row->reason);
                t->ops->free(now);
        }
        r = 0;

finish:
        if (!dry_run) {
                if (rb) {
                        rb->state = SET_APPLIED;
                        save_set(run, rb);
                }
                if (!incomplete) {
                        if (why != RB_ATOMIC)
                                orig->state = SET_ROLLED_BACK;
                        if (rb)
                                orig->rolled_back_by = rb->id;
                } else if (why == RB_INTERRUPTED)
                        orig->state = SET_FAILED;
                if (why == RB_INTERRUPTED) {
                        free(orig->message);
                        orig->message = xstrdup(incomplete ? "interrupted; some items could not be restored"
                                                           : "interrupted; restored by the next run");
                        audit_event(run, EV_INTERRUPTED, orig->id, NULL, NULL, NULL, NULL, NULL,
                                    incomplete ? "incomplete" : "restored", orig->message);
                }
                if (why != RB_ATOMIC)
                        save_set(run, orig);
        }
out:
        for (size_t k = 0; k < n_todo; k++) {
                if (!todo[k].ops)
                        continue;
                todo[k].ops->free(todo[k].before);
                todo[k].ops->free(todo[k].after);
                todo[k].ops->free(todo[k].have);
        }
        free(todo);
        return r;
}

/* The open change sets (applying, awaiting-confirm, applied), loaded once: limiting
 * capabilities and recovery both walk the whole journal, and on a long history that read
 * is most of an apply's cost. Every file is still parsed, so damage is always found. */
static int run_journal(struct run *run) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n;
        int r;

        if (run->sets_loaded)
                return run->journal_error ? -EBADMSG : 0;
        run->sets_loaded = true;
        r = journal_list(run->opt->state_dir, &ids, &n);
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
                /* Closed sets need nothing more from this run: keep memory flat as history grows. */
                if (run->sets[run->n_sets]->state == SET_ROLLED_BACK || run->sets[run->n_sets]->state == SET_FAILED) {
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
                keep |= run->policy->actions[i].ops->caps_all;
        /* Sets this run may restore: interrupted, awaiting confirmation, or applied
         * (rollback). A damaged journal is reported by engine_recover(), before any change. */
        (void) run_journal(run);
        for (size_t i = 0; i < run->n_sets; i++) {
                const struct change_set *cs = run->sets[i];
                for (size_t k = 0; k < cs->n_items; k++) {
                        const struct action_ops *ops = action_ops_find(cs->items[k].kind);
                        if (ops)
                                keep |= ops->caps_all;
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
static void spawn_watcher(struct run *run, int64_t deadline) {
        struct options wopt = *run->opt;
        pid_t pid;

        if (getenv("MEDIC_TEST_NO_WATCHER"))
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

int engine_apply(struct run *run) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        struct plan pl = { 0 };
        struct set_item **si = NULL;
        uint64_t needed = 0;
        size_t n_change = 0, done = 0;
        bool failed = false, changes, failures;
        int r, exit_code;

        r = plan_build(run, &pl, run->opt->verbosity > 0);
        if (r < 0) {
                exit_code = EXIT_CANNOT;
                goto out;
        }
        /* Atomic apply: an enforce item that could not even be read fails the set before
         * anything changes, unless --keep-going. */
        const char *broken = NULL;
        for (size_t i = 0; i < run->rep.n_rows; i++)
                if (run->rep.rows[i].status == ROW_FAILED && !run->rep.rows[i].audit_only)
                        broken = run->rep.rows[i].object;
        for (size_t i = 0; i < pl.n; i++) {
                const struct item *it = &pl.items[i];
                struct row *row = row_of(run, it);
                if (it->mode != MODE_ENFORCE || row->status != ROW_DRIFT)
                        continue;
                if (broken && !run->opt->keep_going) {
                        row->status = ROW_SKIPPED;
                        row->reason = xasprintf("not applied: %s failed (apply is all or nothing; --keep-going applies the rest)",
                                                broken);
                        continue;
                }
                n_change++;
                needed |= it->ops->caps ? it->ops->caps(it->want) : 0;
        }
        if (n_change == 0) {
                count_outcome(run, false, false, &changes, &failures);
                exit_code = exit_code_for(changes, failures);
                goto out;
        }
        /* A missing capability is reported now, as what would fail — not halfway through. */
        if (check_caps(run, needed, "apply") < 0) {
                exit_code = EXIT_CANNOT;
                goto out;
        }
        r = caps_limit(needed);
        if (r < 0) {
                report_error(&run->rep, "cannot limit capabilities: %s", strerror(-r));
                exit_code = EXIT_CANNOT;
                goto out;
        }

        cs = change_set_new(SET_KIND_APPLY);
        set_header(run, cs);
        r = journal_next_id(run->opt->state_dir, &cs->id);
        if (r < 0) {
                report_error(&run->rep, "cannot read the journal: %s", strerror(-r));
                exit_code = EXIT_CANNOT;
                goto out;
        }
        si = xcalloc(pl.n, sizeof(*si));
        for (size_t i = 0; i < pl.n; i++) {
                const struct item *it = &pl.items[i];
                if (it->mode != MODE_ENFORCE || row_of(run, it)->status != ROW_DRIFT)
                        continue;
                struct set_item *x = change_set_add_item(cs, it->action, it->ops->kind, it->object);
                x->before = state_json(it->ops, it->have);
                x->after = state_json(it->ops, it->want);
                si[i] = (struct set_item *) (uintptr_t) cs->n_items; /* index + 1 until all are added */
                if (!x->before || !x->after) {
                        report_error(&run->rep, "%s: cannot record the state before the change; nothing was changed", it->object);
                        exit_code = EXIT_CANNOT;
                        goto out;
                }
        }
        /* The items array has stopped growing: now index → pointer. */
        for (size_t i = 0; i < pl.n; i++)
                if (si[i])
                        si[i] = &cs->items[(uintptr_t) si[i] - 1];
        /* Write-ahead: every item's "before" is durable before the first change. */
        if (save_set(run, cs) < 0) {
                report_error(&run->rep, "nothing was changed");
                exit_code = EXIT_CANNOT;
                goto out;
        }
        run->rep.change = cs->id;

        for (size_t i = 0; i < pl.n; i++) {
                struct item *it = &pl.items[i];
                struct row *row = row_of(run, it);
                void *now = NULL;

                if (!si[i])
                        continue;
                strv_free(run->ctx.notes);
                run->ctx.notes = NULL;
                r = change_object(run, it->ops, it->want, it->have, false, &now);
                if (r < 0) {
                        row->status = ROW_FAILED;
                        row->reason = xstrdup(ctx_reason(run, r));
                        si[i]->state = ITEM_FAILED;
                        si[i]->message = xstrdup(row->reason);
                        audit_event(run, EV_FAILURE, cs->id, it->action, it->ops->kind, it->object,
                                    si[i]->before, si[i]->after, "failed", row->reason);
                        /* A failed write must not leave a half-changed object behind. */
                        void *h = NULL, *back = NULL;
                        ctx_clear(&run->ctx);
                        if (it->ops->read(&run->ctx, it->want, &h) >= 0 && !it->ops->same(it->have, h))
                                (void) change_object(run, it->ops, it->have, h, true, &back);
                        if (h)
                                it->ops->free(h);
                        if (back)
                                it->ops->free(back);
                        save_set(run, cs);
                        failed = true;
                        if (!run->opt->keep_going)
                                break;
                        continue;
                }
                for (size_t k = 0; run->ctx.notes && run->ctx.notes[k]; k++)
                        if (!strv_contains(row->notes, run->ctx.notes[k]))
                                strv_push(&row->notes, xstrdup(run->ctx.notes[k]));
                strv_free(run->ctx.notes);
                run->ctx.notes = NULL;
                si[i]->state = ITEM_CHANGED;
                json_object_put(si[i]->after);
                si[i]->after = state_json(it->ops, now);
                row->status = ROW_CHANGED;
                save_set(run, cs);
                /* Nothing changes unrecorded: if the audit record cannot be written, undo. */
                struct audit_record rec = { .event = EV_CHANGE, .change = cs->id, .action = it->action,
                                            .kind = it->ops->kind, .object = it->object, .before = si[i]->before,
                                            .after = si[i]->after, .result = "changed" };
                r = auditlog_write(&run->log, &rec);
                if (r < 0) {
                        void *back = NULL;
                        (void) change_object(run, it->ops, it->have, now, true, &back);
                        if (back)
                                it->ops->free(back);
                        row->status = ROW_FAILED;
                        row->reason = xasprintf("cannot write the audit log (%s): change undone", strerror(-r));
                        si[i]->state = ITEM_RESTORED;
                        save_set(run, cs);
                        it->ops->free(now);
                        failed = true;
                        if (!run->opt->keep_going)
                                break;
                        continue;
                }
                it->ops->free(now);
                test_fault_point((unsigned) ++done);
        }

        if (failed && !run->opt->keep_going) {
                /* Atomic apply: undo what this set changed, newest first. */
                size_t first = run->rep.n_rows;
                rollback_set(run, cs, true, false, RB_ATOMIC);
                /* rollback_set added rows for the restored items; fold them into the
                 * original rows so each object is reported once. */
                for (size_t k = first; k < run->rep.n_rows; k++) {
                        struct row *rr = &run->rep.rows[k];
                        for (size_t m = 0; m < first; m++) {
                                struct row *orow = &run->rep.rows[m];
                                if (orow->status == ROW_CHANGED && streq(orow->object, rr->object) && streq(orow->kind, rr->kind)) {
                                        orow->status = rr->status == ROW_RESTORED ? ROW_RESTORED : ROW_FAILED;
                                        free(orow->reason);
                                        orow->reason = rr->status == ROW_RESTORED
                                                               ? xstrdup("another item of this change set failed")
                                                               : xasprintf("could not be restored: %s", rr->reason ? rr->reason : "?");
                                }
                        }
                }
                for (size_t k = first; k < run->rep.n_rows; k++) {
                        struct row *rr = &run->rep.rows[k];
                        free(rr->action), free(rr->kind), free(rr->object), free(rr->current), free(rr->wanted);
                        free(rr->reason), strv_free(rr->notes);
                        json_object_put(rr->current_json), json_object_put(rr->wanted_json);
                }
                run->rep.n_rows = first;
                cs->state = SET_FAILED;
                save_set(run, cs);
                report_message(&run->rep, "change set %u failed; what it had changed was restored", cs->id);
                /* Restored rows are not changes: the host is as it was. */
                bool any_changed = false;
                for (size_t k = 0; k < run->rep.n_rows; k++)
                        any_changed = any_changed || run->rep.rows[k].status == ROW_CHANGED;
                exit_code = exit_code_for(any_changed, true);
                goto out;
        }

        bool any_changed = false;
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
        save_set(run, cs);
        if (cs->state == SET_AWAITING_CONFIRM) {
                char when[40];
                rfc3339_from(cs->deadline, when);
                report_message(&run->rep, "change set %u applied; run 'medic confirm %u' before %s or it is rolled back",
                               cs->id, cs->id, when);
                spawn_watcher(run, cs->deadline);
        } else if (any_changed)
                report_message(&run->rep, "change set %u applied; 'medic rollback %u' undoes it", cs->id, cs->id);
        count_outcome(run, false, false, &changes, &failures);
        exit_code = exit_code_for(changes, failures);
out:
        free(si);
        plan_free(&pl);
        return exit_code;
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
        if (r < 0 && !run->rep.n_rows)
                return EXIT_CANNOT;
        if (r == -EPERM)
                return EXIT_CANNOT;
        count_outcome(run, run->opt->dry_run, true, &changes, &failures);
        if (!run->opt->dry_run && run->rep.change)
                report_message(&run->rep, "change set %u %srolled back as change set %u", cs->id,
                               failures ? "partly " : "", run->rep.change);
        return exit_code_for(changes, failures);
}

int engine_confirm(struct run *run, unsigned id) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
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
        if (save_set(run, cs) < 0)
                return EXIT_CANNOT;
        if (run->log_open)
                auditlog_set_policy(&run->log, cs->policy_name, cs->policy_sha256);
        audit_event(run, EV_CONFIRM, cs->id, NULL, NULL, NULL, NULL, NULL, "confirmed", NULL);
        report_message(&run->rep, "change set %u confirmed: it stays applied", cs->id);
        return EXIT_NOTHING;
}

int engine_history(struct run *run) {
        _cleanup_free_ unsigned *ids = NULL;
        struct json_object *arr = json_object_new_array();
        bool damaged = false;
        size_t n;
        int r;

        run->rep.extra = json_object_new_object();
        json_object_object_add(run->rep.extra, "changes", arr);
        r = journal_list(run->opt->state_dir, &ids, &n);
        if (r < 0) {
                report_error(&run->rep, "cannot read the journal in %s: %s", run->opt->state_dir, strerror(-r));
                return EXIT_CANNOT;
        }
        if (n == 0)
                report_message(&run->rep, "no change sets in %s", run->opt->state_dir);
        else
                report_text(&run->rep, "  ID  %-24s  %-8s  %-16s  %-8s  %s", "TIME", "KIND", "STATE", "ITEMS", "POLICY");
        for (size_t i = 0; i < n; i++) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL, *extra = NULL;
                struct json_object *o;

                if (journal_load(run->opt->state_dir, ids[i], &cs, &why) < 0) {
                        report_error(&run->rep, "%s", why);
                        damaged = true;
                        continue;
                }
                o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_int64(cs->id));
                json_object_object_add(o, "time", json_object_new_string(cs->time));
                json_object_object_add(o, "kind", json_object_new_string(set_kind_name(cs->kind)));
                json_object_object_add(o, "state", json_object_new_string(set_state_name(cs->state)));
                json_object_object_add(o, "items", json_object_new_int64((int64_t) cs->n_items));
                json_object_object_add(o, "policy", cs->policy_name ? json_object_new_string(cs->policy_name) : NULL);
                json_object_object_add(o, "uid", json_object_new_int64(cs->uid));
                json_object_object_add(o, "this_boot", json_object_new_boolean(streq(cs->boot_id, run->boot_id)));
                json_object_array_add(arr, o);
                extra = cs->rollback_of ? xasprintf(" (undoes %u)", cs->rollback_of)
                        : cs->rolled_back_by ? xasprintf(" (undone by %u)", cs->rolled_back_by)
                                             : xstrdup("");
                report_text(&run->rep, "%4u  %-24s  %-8s  %-16s  %2zu items  %s%s%s", cs->id, cs->time,
                            set_kind_name(cs->kind), set_state_name(cs->state), cs->n_items,
                            cs->policy_name ? cs->policy_name : "-", extra,
                            streq(cs->boot_id, run->boot_id) ? "" : "  [earlier boot]");
        }
        return damaged ? EXIT_CANNOT : EXIT_NOTHING;
}

int engine_show(struct run *run, unsigned id) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        _cleanup_free_ char *why = NULL;
        struct json_object *j = NULL;
        int r;

        r = journal_load(run->opt->state_dir, id, &cs, &why);
        if (r < 0) {
                if (r == -ENOENT)
                        report_error(&run->rep, "there is no change set %u (see 'medic history')", id);
                else
                        report_error(&run->rep, "%s", why);
                return EXIT_CANNOT;
        }
        change_set_to_json(cs, &j);
        run->rep.extra = json_object_new_object();
        json_object_object_add(run->rep.extra, "change_set", j);
        run->rep.change = cs->id;

        report_text(&run->rep, "change set %u: %s, %s", cs->id, set_kind_name(cs->kind), set_state_name(cs->state));
        report_text(&run->rep, "  time     %s", cs->time);
        report_text(&run->rep, "  by       uid %u%s%s, on %s", (unsigned) cs->uid, cs->sudo_user ? " via sudo from " : "",
                       cs->sudo_user ? cs->sudo_user : "", cs->hostname ? cs->hostname : "?");
        report_text(&run->rep, "  command  %s", cs->command ? cs->command : "?");
        report_text(&run->rep, "  policy   %s (sha256 %s)", cs->policy_name ? cs->policy_name : "-",
                       cs->policy_sha256 ? cs->policy_sha256 : "-");
        report_text(&run->rep, "  boot     %s%s", cs->boot_id, streq(cs->boot_id, run->boot_id) ? " (this boot)" : " (an earlier boot)");
        if (cs->rollback_of)
                report_text(&run->rep, "  undoes   change set %u", cs->rollback_of);
        if (cs->rolled_back_by)
                report_text(&run->rep, "  undone   by change set %u", cs->rolled_back_by);
        if (cs->deadline) {
                char when[40];
                rfc3339_from(cs->deadline, when);
                report_text(&run->rep, "  confirm  before %s", when);
        }
        if (cs->message)
                report_text(&run->rep, "  note     %s", cs->message);
        for (size_t k = 0; k < cs->n_items; k++) {
                const struct set_item *it = &cs->items[k];
                const struct action_ops *ops = action_ops_find(it->kind);
                _cleanup_free_ char *b = NULL, *a = NULL;
                void *sb = NULL, *sa = NULL;

                if (ops && ops->from_json(it->before, &sb) >= 0 && ops->from_json(it->after, &sa) >= 0) {
                        b = ops->describe(sb);
                        a = ops->describe(sa);
                } else {
                        b = xstrdup(it->before ? json_object_to_json_string(it->before) : "-");
                        a = xstrdup(it->after ? json_object_to_json_string(it->after) : "-");
                }
                if (ops && sb)
                        ops->free(sb);
                if (ops && sa)
                        ops->free(sa);
                report_text(&run->rep, "  %-24s  %-36s  %s → %s  %s%s%s", it->action, it->object, b, a,
                               item_state_name(it->state), it->message ? ": " : "", it->message ? it->message : "");
        }
        return EXIT_NOTHING;
}
