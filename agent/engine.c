/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's core: one run's setup (policy, lock, audit log) and what plan, apply and
 * rollback share: write-read-compare of one object, restoring one object, the audit
 * record, the stop signals. The flows themselves: plan.c (plan, audit), apply.c,
 * rollback.c (rollback, recovery, confirm), views.c (history, show). */
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "caps.h"
#include "engine_int.h"
#include "lock.h"

void run_init(struct run *run, const struct options *opt, const char *command) {
        *run = (struct run) { .opt = opt, .lock_fd = -1, .log = { .fd = -1 } };
        run->rep.command = command;
        run->rep.dry_run = opt->dry_run;
        run->ctx.root = test_hook("MEDIC_CONF_ROOT"); /* test hook: where /etc/sysctl.d etc. live */
        run->boot_id_error = boot_id(run->boot_id);
        if (run->boot_id_error < 0)
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
        ctx_done(&run->ctx);
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

const char *ctx_reason(struct run *run, int r) {
        return run->ctx.errmsg ? run->ctx.errmsg : strerror(-r);
}

struct json_object *state_json(const struct action_ops *ops, const void *state) {
        struct json_object *j = NULL;
        if (state && ops->to_json(state, &j) < 0)
                return NULL;
        return j;
}

int audit_event(struct run *run, enum audit_event ev, unsigned change, const char *action, const char *kind,
                const char *object, struct json_object *before, struct json_object *after, const char *result,
                const char *message) {
        struct audit_record rec = { .event = ev, .change = change, .action = action, .kind = kind,
                                    .object = object, .before = before, .after = after,
                                    .result = result, .message = message };
        if (!run->log_open)
                return 0;
        return auditlog_write(&run->log, &rec);
}

void count_outcome(struct run *run, bool drift_counts, bool audit_drift_counts, bool *changes, bool *failures) {
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

int check_caps(struct run *run, uint64_t needed, const char *what) {
        uint64_t missing = needed & ~caps_effective();
        if (missing) {
                _cleanup_free_ char *names = caps_describe(missing);
                report_error(&run->rep, "%s needs %s, which this process does not have; run medic as root. Nothing was changed",
                             what, names);
                return -EPERM;
        }
        return 0;
}

int require_boot_id(struct run *run) {
        if (run->boot_id_error >= 0 && run->boot_id[0])
                return 0;
        report_error(&run->rep, "cannot read /proc/sys/kernel/random/boot_id (%s): a change recorded without it could not be rolled back; nothing was changed",
                     strerror(run->boot_id_error < 0 ? -run->boot_id_error : EIO));
        return -EIO;
}

void set_header(struct run *run, struct change_set *cs) {
        char host[256] = "";
        rfc3339_now(cs->time);
        str_copy(cs->boot_id, run->boot_id, sizeof cs->boot_id);
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
int change_object(struct run *run, const struct action_ops *ops, const void *want, const void *have,
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

/* The after-state that the newest change set of this boot still in force recorded for the
 * object: newest set first, stopping at the first that names it. A rollback (or a set rolled
 * back) there means medic's change was undone on purpose: nothing is medic's then. */
static const void *recorded_after(struct ctx *ctx) {
        struct recorded *rec = ctx->recorded;
        _cleanup_free_ unsigned *ids = NULL;
        size_t n = 0;

        if (!rec || rec->looked)
                return rec ? rec->after : NULL;
        rec->looked = true;
        if (journal_list(rec->run->opt->state_dir, &ids, &n) < 0)
                return NULL;
        for (size_t i = n; i-- > 0 && !rec->after;) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL;
                if (journal_load(rec->run->opt->state_dir, ids[i], &cs, &why) < 0 ||
                    !streq(cs->boot_id, rec->run->boot_id))
                        continue;
                for (size_t k = 0; k < cs->n_items; k++) {
                        const struct set_item *x = &cs->items[k];
                        if (!streq(x->kind, rec->ops->kind) || !streq(x->object, rec->object))
                                continue;
                        /* A rollback that named it, even one that could not finish, was the
                         * operator's word: not medic's any more. */
                        if (cs->kind == SET_KIND_ROLLBACK || cs->state == SET_ROLLED_BACK)
                                return NULL;
                        if (x->state != ITEM_CHANGED && x->state != ITEM_RESTORED)
                                continue; /* this set did not change it: look further back */
                        if (x->state == ITEM_CHANGED && (cs->state == SET_APPLIED || cs->state == SET_AWAITING_CONFIRM) &&
                            rec->ops->from_json(x->after, &rec->after) < 0)
                                rec->after = NULL;
                        return rec->after;
                }
        }
        return rec->after;
}

void recorded_begin(struct run *run, struct recorded *rec, const struct action_ops *ops, const char *object) {
        *rec = (struct recorded) { .run = run, .ops = ops, .object = object };
        run->ctx.recorded = rec;
        run->ctx.recorded_after = recorded_after;
}

void recorded_end(struct run *run, struct recorded *rec) {
        if (rec->after)
                rec->ops->free(rec->after);
        rec->after = NULL;
        run->ctx.recorded = NULL;
        run->ctx.recorded_after = NULL;
}

int restore_object(struct run *run, const struct action_ops *ops, const void *before, void **ret_now) {
        void *have = NULL, *now = NULL;
        int r;

        ctx_clear(&run->ctx);
        r = ops->read(&run->ctx, before, &have);
        if (r < 0)
                return r;
        if (ops->same(before, have)) {
                if (ret_now)
                        *ret_now = have;
                else
                        ops->free(have);
                return 0;
        }
        r = change_object(run, ops, before, have, true, &now);
        ops->free(have);
        if (r < 0)
                return r;
        if (ret_now)
                *ret_now = now;
        else
                ops->free(now);
        return 1;
}

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig) {
        stop_sig = sig;
}

void stop_signals_catch(void) {
        /* SA_RESTART: a system call in flight completes; the loop looks at the flag between
         * objects. A second signal changes nothing; SIGKILL is left to recovery. */
        struct sigaction sa = { .sa_handler = on_stop, .sa_flags = SA_RESTART };
        stop_sig = 0;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
}

int stop_signal(void) {
        return stop_sig;
}
