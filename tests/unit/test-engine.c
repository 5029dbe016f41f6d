/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine (plan, apply, undo, recovery) driven by a kind of this test's own, "fake": its
 * objects are files in a temp dir holding a number, so a child process can be killed part
 * way through an apply and the parent can look at what is left — no kernel needed.
 *
 * A fake object holds its value, or "PARTIAL" (what the fake's apply leaves when it is
 * stopped inside an object: the kind recognises it as its own change part way). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <ftw.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../agent/engine.h"
#include "../../agent/journal.h"
#include "../../agent/policy.h"

#define PARTIAL -1

static char *objdir;       /* where the fake objects live */
static char *statedir;
static char *auditpath;

/* Behaviour of the fake's apply, per test. */
static int fail_at;        /* the Nth apply call fails (leaving PARTIAL when partial_fail) */
static bool partial_fail;
static bool restore_fails; /* every restore fails */
static int restore_fail_at; /* the Nth restore call fails */
static int restore_calls;
static int die_at;         /* the Nth apply call leaves PARTIAL and _exit()s */
static int sigterm_at;     /* the Nth apply call raises SIGTERM after its write */
static int fsize_at;       /* the Nth apply call caps the file size (journal/audit writes fail) */
static int apply_calls;
static bool check_write_ahead;
static unsigned write_ahead_seen;

/* One fake object; the policy's state is a chain of them (a kind's parsed state is its
 * own type, naming several objects). */
struct fake {
        char *name;
        int value;
        struct fake *next;
};

static void fake_free(void *p) {
        struct fake *f = p;
        while (f) {
                struct fake *next = f->next;
                free(f->name);
                free(f);
                f = next;
        }
}

static struct fake *fake_new(const char *name, int value) {
        struct fake *f = xcalloc(1, sizeof(*f));
        f->name = xstrdup(name);
        f->value = value;
        return f;
}

static int obj_get(const char *name, int *ret) {
        char *path = xasprintf("%s/%s", objdir, name), *s = NULL;
        int r = read_line_file(path, &s);
        free(path);
        if (r < 0)
                return r;
        *ret = streq(s, "PARTIAL") ? PARTIAL : atoi(s);
        free(s);
        return 0;
}

static void obj_put(const char *name, int value) {
        char *path = xasprintf("%s/%s", objdir, name);
        char *s = value == PARTIAL ? xstrdup("PARTIAL\n") : xasprintf("%d\n", value);
        assert_int_equal(write_file_atomic(path, s, strlen(s), 0644), 0);
        free(path);
        free(s);
}

static int obj(const char *name) {
        int v = 0;
        assert_int_equal(obj_get(name, &v), 0);
        return v;
}

static int fake_plan(struct ctx *ctx _unused_, const void *state, struct plan_list *out) {
        for (const struct fake *f = state; f; f = f->next)
                plan_list_add(out, xstrdup(f->name), fake_new(f->name, f->value), NULL);
        return 0;
}

static int fake_read(struct ctx *ctx _unused_, const void *state, void **ret) {
        const struct fake *f = state;
        int v, r = obj_get(f->name, &v);
        if (r < 0)
                return r;
        *ret = fake_new(f->name, v);
        return 0;
}

static bool fake_same(const void *a, const void *b) {
        const struct fake *x = a, *y = b;
        return streq(x->name, y->name) && x->value == y->value;
}

static void check_journal_written_ahead(void) {
        unsigned *ids = NULL;
        size_t n = 0;
        struct change_set *cs = NULL;
        char *why = NULL;

        assert_int_equal(journal_list(statedir, &ids, &n), 0);
        assert_true(n > 0);
        assert_int_equal(journal_load(statedir, ids[n - 1], &cs, &why), 0);
        assert_int_equal(cs->state, SET_APPLYING);
        for (size_t k = 0; k < cs->n_items; k++)
                assert_non_null(cs->items[k].before);
        write_ahead_seen = (unsigned) cs->n_items;
        change_set_free(cs);
        free(ids);
}

static int fake_apply(struct ctx *ctx, const void *want, const void *have _unused_) {
        const struct fake *w = want;

        apply_calls++;
        if (check_write_ahead && apply_calls == 1)
                check_journal_written_ahead();
        if (apply_calls == die_at) {
                obj_put(w->name, PARTIAL);
                _exit(9);
        }
        if (apply_calls == fail_at) {
                if (partial_fail)
                        obj_put(w->name, PARTIAL);
                ctx_fail(ctx, "%s: the fake refuses", w->name);
                return -EIO;
        }
        obj_put(w->name, w->value);
        if (apply_calls == sigterm_at)
                raise(SIGTERM);
        if (apply_calls == fsize_at) {
                /* The objects (a few bytes) can still be written; the journal and the
                 * audit log, already longer, cannot grow. */
                struct rlimit rl = { 100, 100 };
                signal(SIGXFSZ, SIG_IGN);
                assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
        }
        return 0;
}

static int fake_restore(struct ctx *ctx, const void *before, const void *have _unused_) {
        const struct fake *b = before;
        if (restore_fails || ++restore_calls == restore_fail_at) {
                ctx_fail(ctx, "%s: the fake cannot restore", b->name);
                return -EIO;
        }
        obj_put(b->name, b->value);
        return 0;
}

static bool fake_in_between(const void *before, const void *after, const void *have) {
        const struct fake *b = before, *a = after, *h = have;
        return streq(b->name, h->name) && streq(a->name, h->name) && h->value == PARTIAL;
}

static char *fake_describe(const void *state) {
        const struct fake *f = state;
        return f->value == PARTIAL ? xstrdup("partial") : xasprintf("%d", f->value);
}

static int fake_to_json(const void *state, struct json_object **ret) {
        const struct fake *f = state;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "name", json_object_new_string(f->name));
        json_object_object_add(j, "value", json_object_new_int(f->value));
        *ret = j;
        return 0;
}

static int fake_from_json(struct json_object *j, void **ret) {
        const char *name = json_get_str(j, "name");
        int64_t v;
        if (!name || !json_get_int(j, "value", &v))
                return -EINVAL;
        *ret = fake_new(name, (int) v);
        return 0;
}

static const struct action_ops fake_ops = {
        .kind = "fake",
        .plan = fake_plan,
        .read = fake_read,
        .same = fake_same,
        .apply = fake_apply,
        .restore = fake_restore,
        .in_between = fake_in_between,
        .describe = fake_describe,
        .to_json = fake_to_json,
        .from_json = fake_from_json,
        .free = fake_free,
};

/* ---- runs ---- */

static struct policy *policy_of(const char *const *objects) {
        struct policy *p = xcalloc(1, sizeof(*p));
        struct fake *want = NULL, **tail = &want;

        /* objects: "name=value" */
        for (const char *const *o = objects; *o; o++) {
                const char *eq = strchr(*o, '=');
                char *name = xstrndup(*o, (size_t) (eq - *o));
                *tail = fake_new(name, atoi(eq + 1));
                tail = &(*tail)->next;
                free(name);
        }
        p->name = xstrdup("fake");
        p->path = xstrdup("fake.yaml");
        snprintf(p->sha256, sizeof p->sha256, "%064d", 0);
        p->actions = xcalloc(1, sizeof(*p->actions));
        p->actions[0] = (struct action) { .name = xstrdup("fake things"), .ops = &fake_ops, .want = want };
        p->n_actions = 1;
        return p;
}

struct result {
        int code;
        char **errors;
};

/* One `medic apply` (recover, then apply) or `medic rollback`, in this process. */
static int run_cmd(const char *command, const char *const *objects, struct result *res) {
        struct options opt = { .state_dir = statedir, .audit_log = auditpath, .policy_path = "fake.yaml" };
        struct run run;
        int code;

        run_init(&run, &opt, command);
        if (objects)
                run.policy = policy_of(objects);
        assert_int_equal(run_lock(&run), 0);
        assert_int_equal(run_open_audit_log(&run), 0);
        if (engine_recover(&run) < 0)
                code = EXIT_CANNOT;
        else if (streq(command, "apply"))
                code = engine_apply(&run);
        else
                code = engine_rollback(&run, 0);
        if (res) {
                res->code = code;
                res->errors = NULL;
                for (size_t i = 0; run.rep.errors && run.rep.errors[i]; i++)
                        strv_push(&res->errors, xstrdup(run.rep.errors[i]));
        }
        run_done(&run);
        return code;
}

/* The same in a child, which the fake may kill part way. Returns its wait status. */
static int run_child(const char *command, const char *const *objects) {
        pid_t pid = fork();
        int status;
        assert_true(pid >= 0);
        if (pid == 0) {
                int code = run_cmd(command, objects, NULL);
                _exit(code);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static struct change_set *set_of(unsigned id) {
        struct change_set *cs = NULL;
        char *why = NULL;
        assert_int_equal(journal_load(statedir, id, &cs, &why), 0);
        return cs;
}

static bool errors_mention(char **errors, const char *what) {
        for (size_t i = 0; errors && errors[i]; i++)
                if (strstr(errors[i], what))
                        return true;
        return false;
}

static int count_lines(const char *path, const char *needle) {
        char *text = NULL;
        int n = 0;
        if (read_file(path, &text, NULL) < 0)
                return 0;
        for (char *p = text; (p = strstr(p, needle)); p++)
                n++;
        free(text);
        return n;
}

static const char *const ABC[] = { "a=1", "b=2", "c=3", NULL };

static char *topdir;

static int setup(void **state _unused_) {
        topdir = tmpdir_new();
        assert_non_null(topdir);
        objdir = xasprintf("%s/objects", topdir);
        statedir = xasprintf("%s/state", topdir);
        auditpath = xasprintf("%s/audit.jsonl", topdir);
        assert_int_equal(mkdir(objdir, 0755), 0);
        obj_put("a", 10);
        obj_put("b", 20);
        obj_put("c", 30);
        action_unit_test_kind = &fake_ops;
        fail_at = die_at = sigterm_at = fsize_at = 0;
        partial_fail = restore_fails = check_write_ahead = false;
        restore_fail_at = restore_calls = 0;
        apply_calls = 0;
        write_ahead_seen = 0;
        return 0;
}

static int teardown(void **state _unused_) {
        rm_rf(topdir);
        free(topdir);
        free(objdir);
        free(statedir);
        free(auditpath);
        return 0;
}

static void assert_before(void) {
        assert_int_equal(obj("a"), 10);
        assert_int_equal(obj("b"), 20);
        assert_int_equal(obj("c"), 30);
}

static void assert_after(void) {
        assert_int_equal(obj("a"), 1);
        assert_int_equal(obj("b"), 2);
        assert_int_equal(obj("c"), 3);
}

/* ---- tests ---- */

static void test_journal_before_first_change(void **state _unused_) {
        check_write_ahead = true;
        assert_int_equal(run_cmd("apply", ABC, NULL), EXIT_CHANGES);
        assert_int_equal(write_ahead_seen, 3);
        assert_after();
        struct change_set *cs = set_of(1);
        assert_int_equal(cs->state, SET_APPLIED);
        for (size_t k = 0; k < 3; k++)
                assert_int_equal(cs->items[k].state, ITEM_CHANGED);
        change_set_free(cs);
        assert_int_equal(count_lines(auditpath, "\"event\":\"change\""), 3);
        /* and back */
        assert_int_equal(run_cmd("rollback", NULL, NULL), EXIT_CHANGES);
        assert_before();
}

static void test_failed_item_undoes_the_set(void **state _unused_) {
        struct result res;
        fail_at = 2;
        partial_fail = true; /* the failing object is left part way: it is put back too */
        assert_int_equal(run_cmd("apply", ABC, &res), EXIT_FAILURES);
        strv_free(res.errors);
        assert_before();
        struct change_set *cs = set_of(1);
        assert_int_equal(cs->state, SET_FAILED);
        assert_int_equal(cs->items[0].state, ITEM_RESTORED);
        assert_int_equal(cs->items[1].state, ITEM_FAILED);
        assert_int_equal(cs->items[2].state, ITEM_PENDING);
        change_set_free(cs);
        assert_int_equal(count_lines(auditpath, "\"event\":\"failure\""), 1);
        assert_int_equal(count_lines(auditpath, "\"event\":\"rollback\""), 1);
}

static void test_double_fault_names_what_is_left(void **state _unused_) {
        struct result res;
        fail_at = 2;
        partial_fail = true;
        restore_fails = true;
        assert_int_equal(run_cmd("apply", ABC, &res), EXIT_FAILURES);
        /* Neither a was put back nor b: both named; the set stays open. */
        assert_true(errors_mention(res.errors, "a (fake things)"));
        assert_true(errors_mention(res.errors, "b (fake things)"));
        strv_free(res.errors);
        assert_int_equal(obj("a"), 1);
        assert_int_equal(obj("b"), PARTIAL);
        struct change_set *cs = set_of(1);
        assert_int_equal(cs->state, SET_APPLYING);
        change_set_free(cs);
        /* The next run restores them (recovery), then applies again. */
        restore_fails = false;
        fail_at = 0;
        apply_calls = 0;
        assert_int_equal(run_cmd("apply", ABC, NULL), EXIT_CHANGES);
        cs = set_of(1);
        assert_int_equal(cs->state, SET_ROLLED_BACK);
        assert_string_equal(cs->message, "interrupted; restored by the next run");
        change_set_free(cs);
        assert_after();
        assert_int_equal(run_cmd("rollback", NULL, NULL), EXIT_CHANGES);
        assert_before();
}

/* A kill inside each object in turn: recovery brings the host back to before. */
static void test_killed_inside_each_object(void **state _unused_) {
        for (int k = 1; k <= 3; k++) {
                teardown(NULL);
                setup(NULL);
                die_at = k;
                int status = run_child("apply", ABC);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
                assert_int_equal(obj(k == 1 ? "a" : k == 2 ? "b" : "c"), PARTIAL);
                die_at = 0;
                /* audit-free recovery: an apply of nothing (no policy items) */
                static const char *const none[] = { NULL };
                assert_int_equal(run_cmd("apply", none, NULL), EXIT_CHANGES); /* restored */
                assert_before();
                struct change_set *cs = set_of(1);
                assert_int_equal(cs->state, SET_ROLLED_BACK);
                assert_string_equal(cs->message, "interrupted; restored by the next run");
                change_set_free(cs);
        }
}

/* Someone else's value is not medic's partial state: a conflict, left alone. */
static void test_foreign_change_stays_a_conflict(void **state _unused_) {
        static const char *const none[] = { NULL };
        struct result res;
        die_at = 2;
        run_child("apply", ABC);
        obj_put("b", 42);
        die_at = 0;
        assert_int_equal(run_cmd("apply", none, &res), EXIT_BOTH); /* a restored, b a conflict */
        strv_free(res.errors);
        assert_int_equal(obj("a"), 10);
        assert_int_equal(obj("b"), 42);
        assert_int_equal(obj("c"), 30);
        assert_int_equal(count_lines(auditpath, "\"event\":\"conflict\""), 1);
}

static void test_sigterm_between_objects(void **state _unused_) {
        struct result res;
        sigterm_at = 1;
        assert_int_equal(run_cmd("apply", ABC, &res), EXIT_FAILURES);
        strv_free(res.errors);
        signal(SIGTERM, SIG_DFL);
        assert_before();
        assert_int_equal(apply_calls, 1); /* b and c were never touched */
        struct change_set *cs = set_of(1);
        assert_int_equal(cs->state, SET_FAILED);
        assert_non_null(strstr(cs->message, "interrupted by"));
        change_set_free(cs);
}

/* The disk fills after the second object: its audit record cannot be written, so nothing
 * of the set may stand — and exit 4, never 2 with the set still 'applying'. */
static void test_unwritable_record_undoes(void **state _unused_) {
        struct result res;
        fsize_at = 2;
        pid_t pid = fork();
        int status;
        assert_true(pid >= 0);
        if (pid == 0) {
                int code = run_cmd("apply", ABC, &res);
                _exit(code);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), EXIT_FAILURES);
        assert_before();
        struct change_set *cs = set_of(1);
        /* The failure could not be recorded either: the set stays open ... */
        assert_int_equal(cs->state, SET_APPLYING);
        change_set_free(cs);
        /* ... and the next run finds every object as before and closes it. */
        fsize_at = 0;
        static const char *const none[] = { NULL };
        assert_int_equal(run_cmd("apply", none, NULL), EXIT_NOTHING);
        assert_before();
        cs = set_of(1);
        assert_int_equal(cs->state, SET_ROLLED_BACK);
        change_set_free(cs);
}

static void test_index_skips_closed_sets(void **state _unused_) {
        unsigned *ids = NULL;
        size_t n = 0;
        for (int i = 0; i < 5; i++) {
                assert_int_equal(run_cmd("apply", ABC, NULL), EXIT_CHANGES);
                assert_int_equal(run_cmd("rollback", NULL, NULL), EXIT_CHANGES);
        }
        assert_int_equal(journal_open_ids(statedir, &ids, &n), 0);
        assert_int_equal(n, 0);
        free(ids);
        /* Without the index every set is a candidate again (and the next run re-learns it). */
        char *index = xasprintf("%s/changes/index", statedir);
        assert_int_equal(unlink(index), 0);
        assert_int_equal(journal_open_ids(statedir, &ids, &n), 0);
        assert_int_equal(n, 10);
        free(ids);
        static const char *const none[] = { NULL };
        assert_int_equal(run_cmd("apply", none, NULL), EXIT_NOTHING);
        assert_int_equal(journal_open_ids(statedir, &ids, &n), 0);
        assert_int_equal(n, 0);
        free(ids);
        free(index);
}

/* The daemon's entry: only the objects an event named, as a set of kind repair. */
static void test_repair_only_named_objects(void **state _unused_) {
        struct options opt = { .state_dir = statedir, .audit_log = auditpath, .policy_path = "fake.yaml" };
        char *objects[] = { (char *) "b", NULL };
        struct run run;

        run_init(&run, &opt, "agent");
        run.policy = policy_of(ABC);
        assert_int_equal(run_lock(&run), 0);
        assert_int_equal(run_open_audit_log(&run), 0);
        assert_int_equal(engine_repair(&run, NULL, objects, "b was changed"), EXIT_CHANGES);
        assert_int_equal(run.rep.n_rows, 1);
        assert_string_equal(run.rep.rows[0].object, "b");
        run_done(&run);
        assert_int_equal(obj("a"), 10);
        assert_int_equal(obj("b"), 2);
        assert_int_equal(obj("c"), 30);
        struct change_set *cs = set_of(1);
        assert_int_equal(cs->kind, SET_KIND_REPAIR);
        assert_int_equal(cs->n_items, 1);
        assert_string_equal(cs->message, "repair: b was changed");
        change_set_free(cs);
        assert_int_equal(count_lines(auditpath, "\"event\":\"repair\""), 1);
}

/* A rollback is a change set too: an object that cannot be restored puts back the ones
 * already restored, so the host is exactly as before the rollback (exit 4). */
static void test_rollback_all_or_nothing(void **state _unused_) {
        struct result res;
        assert_int_equal(run_cmd("apply", ABC, NULL), EXIT_CHANGES);
        restore_fail_at = 2; /* c is restored first, then b fails */
        assert_int_equal(run_cmd("rollback", NULL, &res), EXIT_FAILURES);
        assert_true(errors_mention(res.errors, "rollback of change set 1 did not happen: restoring b failed"));
        strv_free(res.errors);
        assert_after();
        struct change_set *cs = set_of(1);
        assert_int_equal(cs->state, SET_APPLIED);
        for (size_t k = 0; k < 3; k++)
                assert_int_equal(cs->items[k].state, ITEM_CHANGED);
        change_set_free(cs);
        cs = set_of(2);
        assert_int_equal(cs->kind, SET_KIND_ROLLBACK);
        assert_int_equal(cs->state, SET_FAILED);
        change_set_free(cs);
        /* and a rollback that can, does */
        assert_int_equal(run_cmd("rollback", NULL, NULL), EXIT_CHANGES);
        assert_before();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_journal_before_first_change, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_item_undoes_the_set, setup, teardown),
                cmocka_unit_test_setup_teardown(test_double_fault_names_what_is_left, setup, teardown),
                cmocka_unit_test_setup_teardown(test_killed_inside_each_object, setup, teardown),
                cmocka_unit_test_setup_teardown(test_foreign_change_stays_a_conflict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sigterm_between_objects, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unwritable_record_undoes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_index_skips_closed_sets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_repair_only_named_objects, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_all_or_nothing, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
