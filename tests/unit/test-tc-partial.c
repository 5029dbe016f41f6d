/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's recovery from a partly built root, on a real interface.
 *
 * Without arguments (make unit): checks that malformed partial states are refused.
 * With arguments it is the driver of tests/integration/test-tc-partial.sh, which runs it
 * as root inside a network namespace of its own:
 *
 *   test-tc-partial read IFNAME
 *           prints the interface's state as the journal would record it (JSON)
 *   test-tc-partial recover IFNAME BEFORE AFTER
 *           reads the interface, prints "have: ...", and "in between: yes|no"; when yes,
 *           restores BEFORE the way recovery does (restore, then read back and compare)
 *           and prints "restored" — exit 0; not in between: exit 3, nothing changed;
 *           a failure: exit 1 with the reason. */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../actions/action.h"

static const struct action_ops *ops = &traffic_priority_ops;

static void *state_of(const char *json) {
        struct json_object *j = json_tokener_parse(json);
        void *s = NULL;
        if (!j || ops->from_json(j, &s) < 0)
                s = NULL;
        json_object_put(j);
        return s;
}

static void test_bad_partial_states(void **state _unused_) {
        static const char *const bad[] = {
                /* classes and filters are counts, and a partial root names its bands */
                "{\"interface\":\"vt0\",\"root\":\"medic-partial\",\"kind\":\"htb\",\"handle\":65536,\"backend\":\"htb\","
                "\"bands\":[{\"ports\":[]}],\"rate\":0,\"classes\":-1,\"filters\":0}",
                "{\"interface\":\"vt0\",\"root\":\"medic-partial\",\"kind\":\"htb\",\"handle\":65536,\"backend\":\"htb\","
                "\"bands\":[{\"ports\":[]}],\"rate\":0,\"filters\":0}",
                "{\"interface\":\"vt0\",\"root\":\"medic-partial\",\"kind\":\"htb\",\"handle\":65536,\"backend\":\"htb\","
                "\"bands\":[],\"rate\":0,\"classes\":0,\"filters\":0}",
                /* a finished medic root has ports in every band */
                "{\"interface\":\"vt0\",\"root\":\"medic\",\"kind\":\"htb\",\"handle\":65536,\"backend\":\"htb\","
                "\"bands\":[{\"ports\":[]}],\"rate\":0}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_null(state_of(bad[i]));
        void *ok = state_of("{\"interface\":\"vt0\",\"root\":\"medic-partial\",\"kind\":\"htb\",\"handle\":65536,"
                            "\"backend\":\"htb\",\"bands\":[{\"ports\":[]}],\"rate\":0,\"classes\":0,\"filters\":0}");
        assert_non_null(ok);
        ops->free(ok);
}

static int say_fail(struct ctx *ctx, const char *what, int r) {
        fprintf(stderr, "%s: %s\n", what, ctx->errmsg ? ctx->errmsg : strerror(-r));
        return 1;
}

static int read_cmd(struct ctx *ctx, const char *ifname) {
        _cleanup_free_ char *name = xasprintf("{\"interface\":\"%s\",\"root\":\"default\",\"handle\":0}", ifname);
        void *s = state_of(name), *have = NULL;
        struct json_object *j = NULL;
        int r = ops->read(ctx, s, &have);

        ops->free(s);
        if (r < 0)
                return say_fail(ctx, "reading", r);
        ops->to_json(have, &j);
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        ops->free(have);
        return 0;
}

static int recover_cmd(struct ctx *ctx, const char *before_json, const char *after_json) {
        void *before = state_of(before_json), *after = state_of(after_json), *have = NULL, *now = NULL;
        _cleanup_free_ char *d = NULL, *n = NULL;
        int r, rc = 1;

        if (!before || !after) {
                fprintf(stderr, "BEFORE or AFTER is not a traffic-priority state\n");
                goto out;
        }
        r = ops->read(ctx, before, &have);
        if (r < 0) {
                rc = say_fail(ctx, "reading", r);
                goto out;
        }
        d = ops->describe(have);
        printf("have: %s\n", d);
        if (ops->same(before, have) || ops->same(after, have)) {
                printf("in between: no (it is %s)\n", ops->same(before, have) ? "before" : "after");
                rc = 3;
                goto out;
        }
        if (!ops->in_between(before, after, have)) {
                printf("in between: no\n");
                rc = 3;
                goto out;
        }
        printf("in between: yes\n");
        r = ops->restore(ctx, before, have);
        if (r < 0) {
                rc = say_fail(ctx, "restoring", r);
                goto out;
        }
        ctx_clear(ctx);
        r = ops->read(ctx, before, &now);
        if (r < 0) {
                rc = say_fail(ctx, "reading back", r);
                goto out;
        }
        if (!ops->same(before, now)) {
                n = ops->describe(now);
                fprintf(stderr, "after restore the interface holds %s\n", n);
                goto out;
        }
        printf("restored\n");
        rc = 0;
out:
        if (before)
                ops->free(before);
        if (after)
                ops->free(after);
        if (have)
                ops->free(have);
        if (now)
                ops->free(now);
        return rc;
}

int main(int argc, char **argv) {
        struct ctx ctx = { .root = "" };
        int rc;

        if (argc == 1) {
                const struct CMUnitTest tests[] = {
                        cmocka_unit_test(test_bad_partial_states),
                };
                return cmocka_run_group_tests(tests, NULL, NULL);
        }
        if (argc == 3 && streq(argv[1], "read"))
                rc = read_cmd(&ctx, argv[2]);
        else if (argc == 5 && streq(argv[1], "recover"))
                rc = recover_cmd(&ctx, argv[3], argv[4]);
        else {
                fprintf(stderr, "usage: %s [read IFNAME | recover IFNAME BEFORE AFTER]\n", argv[0]);
                return 64;
        }
        ctx_done(&ctx);
        return rc;
}
