/* SPDX-License-Identifier: GPL-2.0-or-later */
/* actions/mount_options.c through its ops table: the policy (every error with its exact
 * FILE:LINE:COLUMN), claims, the journal's JSON, the pure comparison, and plan/read/notes
 * against this machine's own mount table, read-only (the path that does not exist is a
 * finding). Nothing here changes a mount. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <ftw.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>

#include "../../actions/action.h"
#include "../../agent/policy.h"
#include "../../agent/ynode.h"

static const struct action_ops *ops = &mount_options_ops;

static char *write_policy(const char *dir, const char *name, const char *text) {
        char *p = xasprintf("%s/%s", dir, name);
        assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
        return p;
}

/* ---- the policy ---- */

#define ACT "medic: 1\nactions:\n  - name: a\n"

struct bad {
        const char *text;
        const char *errs[3]; /* "LINE:COL: message" after the file name */
};

static const struct bad bad[] = {
        { ACT "    mount-options: /var/lib/etcd\n", { "4:20: mount-options: expected a mapping, got a scalar" } },
        { ACT "    mount-options: {set: [noatime]}\n",
          { "4:20: mount-options: missing 'path' (the directory whose mount to change, like /var/lib/etcd)" } },
        { ACT "    mount-options: {path: /x}\n",
          { "4:20: mount-options: missing 'set' (a list of atime options: noatime, relatime, strictatime, nodiratime, diratime)" } },
        { ACT "    mount-options: {path: var/lib/etcd, set: [noatime]}\n",
          { "4:27: mount-options.path: 'var/lib/etcd' must be an absolute path" } },
        { ACT "    mount-options: {path: /var/lib/../etcd, set: [noatime]}\n",
          { "4:27: mount-options.path: '/var/lib/../etcd' has a '.' or '..' component; write the path itself" } },
        { ACT "    mount-options: {path: [/x], set: [noatime]}\n", { "4:27: mount-options.path: expected a scalar, got a list" } },
        { ACT "    mount-options: {path: /x, set: []}\n",
          { "4:36: mount-options.set: needs at least one atime option (noatime, relatime, strictatime, nodiratime, diratime)" } },
        { ACT "    mount-options: {path: /x, set: noatime}\n", { "4:36: mount-options.set: expected a list, got a scalar" } },
        { ACT "    mount-options:\n      path: /x\n      set: [noatime, nosuid]\n",
          { "6:22: mount-options.set: 'nosuid' is not an atime option (noatime, relatime, strictatime, nodiratime, diratime); medic never changes other mount flags" } },
        { ACT "    mount-options:\n      path: /x\n      set: [norelatime]\n",
          { "6:13: mount-options.set: 'norelatime' is not an atime option (noatime, relatime, strictatime, nodiratime, diratime); medic never changes other mount flags" } },
        { ACT "    mount-options:\n      path: /x\n      set: [noatime, relatime]\n",
          { "6:22: mount-options.set: 'noatime' and 'relatime' are both atime modes; a mount has one" } },
        { ACT "    mount-options:\n      path: /x\n      set: [strictatime, nodiratime, noatime]\n",
          { "6:38: mount-options.set: 'strictatime' and 'noatime' are both atime modes; a mount has one" } },
        { ACT "    mount-options:\n      path: /x\n      set: [nodiratime, diratime]\n",
          { "6:25: mount-options.set: 'diratime' contradicts 'nodiratime'" } },
        { ACT "    mount-options:\n      path: /x\n      set: [noatime, noatime]\n",
          { "6:22: mount-options.set: 'noatime' is listed twice" } },
        { ACT "    mount-options:\n      path: /x\n      set: [[noatime]]\n",
          { "6:13: mount-options.set[]: expected a scalar, got a list" } },
        { ACT "    mount-options: {path: /x, set: [noatime], recursive: true}\n",
          { "4:47: mount-options: unknown key 'recursive' (expected path, set)" } },
        /* Two actions, one path (also written differently), two values. */
        { ACT "    mount-options: {path: /var/lib/etcd, set: [noatime]}\n  - name: b\n"
              "    mount-options: {path: /var/lib/etcd/, set: [relatime]}\n",
          { "6:20: mount-options /var/lib/etcd: set to relatime here, but to noatime by action 'a' at {F}:4:20" } },
        { ACT "    mount-options: {path: /d, set: [noatime]}\n  - name: b\n"
              "    mount-options: {path: //d, set: [noatime, diratime]}\n",
          { "6:20: mount-options /d: set to noatime,diratime here, but to noatime by action 'a' at {F}:4:20" } },
};

static void test_bad_policies(void **state) {
        const char *dir = *state;
        unsigned failures = 0;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char name[32];
                snprintf(name, sizeof name, "bad-%zu.yaml", i);
                char *path = write_policy(dir, name, bad[i].text);
                struct perr err = { 0 };
                struct policy *p = NULL;

                assert_int_equal(policy_load(path, &p, &err), -EINVAL);
                assert_null(p);
                for (size_t k = 0; k < 3 && (k < err.n || bad[i].errs[k]); k++) {
                        char *want = NULL;
                        if (bad[i].errs[k]) {
                                const char *f = strstr(bad[i].errs[k], "{F}");
                                want = f ? xasprintf("%s:%.*s%s%s", path, (int) (f - bad[i].errs[k]), bad[i].errs[k], path, f + 3)
                                         : xasprintf("%s:%s", path, bad[i].errs[k]);
                        }
                        const char *got = k < err.n ? err.msgs[k] : NULL;
                        if (!streq_ptr(want, got)) {
                                print_error("case %zu error %zu\n  got:      %s\n  expected: %s\n", i, k, got ? got : "(none)",
                                            want ? want : "(none)");
                                failures++;
                        }
                        free(want);
                }
                perr_done(&err);
                free(path);
        }
        assert_int_equal(failures, 0);
}

static void test_good_policy(void **state) {
        const char *dir = *state;
        char *path = write_policy(dir, "good.yaml",
                                  ACT "    mount-options: {path: /var//lib/etcd/, set: [nodiratime, noatime]}\n"
                                      "  - name: b\n    mount-options: {path: /var/lib/etcd, set: [noatime, nodiratime]}\n");
        struct perr err = { 0 };
        struct policy *p = NULL;
        struct json_object *j = NULL;

        assert_int_equal(policy_load(path, &p, &err), 0);
        assert_int_equal(err.n, 0);
        assert_int_equal(p->n_actions, 2);
        /* Normalised path, options in a fixed order: validate prints this back. */
        assert_int_equal(ops->to_json(p->actions[0].want, &j), 0);
        assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            "{\"path\":\"/var/lib/etcd\",\"set\":[\"noatime\",\"nodiratime\"]}");
        json_object_put(j);
        policy_free(p);
        free(path);
        perr_done(&err);
}

/* ---- states ---- */

#define ID "\"path\":\"/var/lib/etcd\",\"mount_id\":30,\"mount_point\":\"/var/lib/etcd\",\"source\":\"/dev/vdb\"," \
           "\"fstype\":\"ext4\",\"root\":\"/\",\"dev\":\"254:16\""

static void test_states(void **st _unused_) {
        void *want = state_from_json(ops, "{" ID ",\"atime\":\"noatime\"}");
        void *rel = state_from_json(ops, "{" ID ",\"atime\":\"relatime\",\"nodiratime\":false,\"kept\":\"rw,nodev\"}");
        void *noa = state_from_json(ops, "{" ID ",\"atime\":\"noatime\",\"nodiratime\":true}");
        void *other = state_from_json(ops, "{" ID ",\"mount_id\":31,\"atime\":\"noatime\",\"nodiratime\":false}");
        void *dir = state_from_json(ops, "{" ID ",\"nodiratime\":true}");
        struct json_object *j;
        char *s;

        assert_false(ops->same(want, rel));
        assert_true(ops->same(want, noa));
        /* Another mount (another id) never satisfies: the object is the mount. */
        assert_false(ops->same(want, other));
        assert_true(ops->same(dir, noa));
        assert_false(ops->same(dir, rel));

        s = ops->describe(rel);
        assert_string_equal(s, "relatime");
        free(s);
        s = ops->describe(noa);
        assert_string_equal(s, "noatime,nodiratime");
        free(s);
        s = ops->describe(dir);
        assert_string_equal(s, "nodiratime");
        free(s);

        /* Round trip: what the journal holds is read back as the same state. */
        assert_int_equal(ops->to_json(rel, &j), 0);
        assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            "{\"path\":\"/var/lib/etcd\",\"set\":[\"relatime\",\"diratime\"],\"observed\":{\"mount_id\":30,"
                            "\"mount_point\":\"/var/lib/etcd\",\"source\":\"/dev/vdb\",\"fstype\":\"ext4\",\"root\":\"/\","
                            "\"dev\":\"254:16\",\"kept\":\"rw,nodev\"}}");
        void *back = NULL;
        assert_int_equal(ops->from_json(j, &back), 0);
        assert_true(ops->same(back, rel) && ops->same(rel, back));
        ops->free(back);
        json_object_put(j);

        static const char *const broken[] = {
                "{}", "{" ID "}", "{" ID ",\"atime\":\"norelatime\"}", "{" ID ",\"atime\":\"fast\"}",
                "{" ID ",\"nodiratime\":\"yes\"}", "{" ID ",\"atime\":\"noatime\",\"mount_id\":0}",
                "{" ID ",\"atime\":\"noatime\",\"dev\":\"254\"}", "{" ID ",\"atime\":\"noatime\",\"path\":\"x\"}",
                "{" ID ",\"atime\":\"noatime\",\"mount_unique_id\":-1}",
                /* The policy's form: a "set" of known words, one mode, one diratime flag. */
                "{\"path\":\"/var/lib/etcd\"}", "{\"path\":\"/var/lib/etcd\",\"set\":[]}",
                "{\"path\":\"/var/lib/etcd\",\"set\":[\"noatime\",\"relatime\"]}",
                "{\"path\":\"/var/lib/etcd\",\"set\":[\"nodiratime\",\"diratime\"]}",
                "{\"path\":\"/var/lib/etcd\",\"set\":[\"norelatime\"]}", "{\"path\":\"x\",\"set\":[\"noatime\"]}",
                "{\"path\":\"/var/lib/etcd\",\"set\":[\"noatime\"],\"observed\":{\"mount_id\":30}}",
                "{\"path\":\"/var/lib/etcd\",\"set\":[\"noatime\"],\"observed\":[]}",
        };
        for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
                struct json_object *b = json_tokener_parse(broken[i]);
                void *x = NULL;
                assert_int_equal(ops->from_json(b, &x), -EBADMSG);
                json_object_put(b);
        }
        ops->free(want);
        ops->free(rel);
        ops->free(noa);
        ops->free(other);
        ops->free(dir);
}

/* ---- plan, read and notes against this process's own mounts (read-only) ---- */

static void *load_spec(const char *dir, const char *path, const char *set, struct policy **ret) {
        char *text = xasprintf(ACT "    mount-options: {path: \"%s\", set: [%s]}\n", path, set);
        char *file = write_policy(dir, "p.yaml", text);
        struct perr err = { 0 };

        assert_int_equal(policy_load(file, ret, &err), 0);
        perr_done(&err);
        free(text);
        free(file);
        return (*ret)->actions[0].want;
}

static void test_plan_missing_path(void **state) {
        const char *dir = *state;
        char *missing = xasprintf("%s/no/such/dir", dir);
        struct policy *p = NULL;
        void *spec = load_spec(dir, missing, "noatime", &p);
        struct plan_list l = { 0 };
        struct ctx ctx = { 0 };

        assert_int_equal(ops->plan(&ctx, spec, &l), 0);
        assert_int_equal(l.n, 1);
        assert_null(l.items[0].want);
        assert_true(l.items[0].finding);
        assert_string_equal(l.items[0].object, missing);
        assert_string_equal(l.items[0].wanted, "noatime");
        /* It says what is missing and where the path would be: the nearest parent's mount. */
        char *start = xasprintf("%s does not exist on this host; %s is on ", missing, dir);
        assert_true(startswith(l.items[0].skip, start));
        free(start);
        free(l.items[0].object);
        free(l.items[0].skip);
        free(l.items[0].wanted);
        free(l.items);
        free(missing);
        policy_free(p);
}

static void test_plan_read_notes(void **state) {
        const char *dir = *state;
        struct policy *p = NULL;
        void *spec = load_spec(dir, dir, "noatime", &p), *have = NULL;
        struct plan_list l = { 0 };
        struct ctx ctx = { 0 };
        char **notes = NULL;
        char *fstab, *prefix;

        assert_int_equal(ops->plan(&ctx, spec, &l), 0);
        assert_int_equal(l.n, 1);
        assert_non_null(l.items[0].want);
        prefix = xasprintf("%s on /", dir);
        assert_true(startswith(l.items[0].object, prefix));
        free(prefix);
        assert_int_equal(ops->read(&ctx, l.items[0].want, &have), 0);
        assert_true(ops->caps(l.items[0].want) == CAP_TO_MASK(CAP_SYS_ADMIN));

        /* The notes read ctx.root's fstab: one that mounts this very mount point. */
        struct json_object *j = NULL;
        assert_int_equal(ops->to_json(have, &j), 0);
        struct json_object *o = json_object_object_get(j, "observed");
        const char *mp = json_object_get_string(json_object_object_get(o, "mount_point"));
        const char *type = json_object_get_string(json_object_object_get(o, "fstype"));
        fstab = xasprintf("%s/etc/fstab", dir);
        char *etc = xasprintf("%s/etc", dir);
        assert_int_equal(mkdir_p(etc, 0755), 0);
        free(etc);
        char *text = xasprintf("# x\nsomething %s %s defaults 0 0\n", mp, type);
        assert_int_equal(write_file_atomic(fstab, text, strlen(text), 0644), 0);
        ctx.root = dir;
        ops->notes(&ctx, l.items[0].want, have, &notes);
        bool found = false;
        for (size_t i = 0; notes && notes[i]; i++)
                found = found || startswith(notes[i], "runtime only: /etc/fstab line 2 has defaults; the line that keeps it after a reboot: something ");
        if (!found)
                for (size_t i = 0; notes && notes[i]; i++)
                        print_error("note: %s\n", notes[i]);
        assert_true(found || ops->same(l.items[0].want, have));
        strv_free(notes);
        json_object_put(j);
        free(text);
        free(fstab);
        ops->free(have);
        ops->free(l.items[0].want);
        free(l.items[0].object);
        free(l.items);
        policy_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bad_policies, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_good_policy, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_states),
                cmocka_unit_test_setup_teardown(test_plan_missing_path, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_plan_read_notes, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
