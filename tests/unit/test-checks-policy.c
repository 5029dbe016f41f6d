/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy's checks: section: every kind parses with its defaults and shows them
 * normalised, and every mistake is reported at its FILE:LINE:COLUMN. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "../../actions/checks/check.h"
#include "../../agent/output.h"
#include "../../agent/policy.h"
#include "helpers.h"

#define HEAD "medic: 1\nname: t\ntargets:\n  etcd:\n    process: {comm: etcd}\n  nic:\n    interface: eth0\n"

/* Loads text as a policy file; returns the joined errors ("" when it loaded). */
static char *load(const char *text, struct policy **ret) {
        char path[] = "/tmp/medic-test-checks.XXXXXX";
        int fd = mkstemp(path);
        struct perr err = { 0 };
        struct policy *p = NULL;
        char *all = xstrdup("");

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        if (policy_load(path, &p, &err) < 0)
                for (size_t i = 0; i < err.n; i++) {
                        /* Drop the temp file's name: "LINE:COL: message" */
                        const char *m = err.msgs[i] + strlen(path) + 1;
                        char *t = xasprintf("%s%s%s", all, *all ? "\n" : "", m);
                        free(all);
                        all = t;
                }
        perr_done(&err);
        unlink(path);
        if (ret)
                *ret = p;
        else
                policy_free(p);
        return all;
}

static void assert_error(const char *text, const char *want) {
        _cleanup_free_ char *got = load(text, NULL);
        if (!strstr(got, want))
                fail_msg("want '%s' in:\n%s", want, got);
}

static void test_every_kind_defaults(void **state) {
        (void) state;
        struct policy *p = NULL;
        _cleanup_free_ char *e = load(HEAD "checks:\n"
                                           "  - name: hw\n    hardware: {target: etcd}\n"
                                           "  - name: cfg\n    etcd-config: {target: etcd}\n"
                                           "  - name: disk\n    disk-latency: {}\n"
                                           "  - name: probe\n    disk-probe: {data-dir: /var/lib/etcd}\n"
                                           "  - name: cpu\n    cpu: {target: etcd, max-run-delay: 5%}\n"
                                           "  - name: nic\n    mode: audit\n    nic: {interface: nic}\n"
                                           "  - name: db\n    db-quota: {quota: 8GiB, max-percent: 70}\n",
                                      &p);
        struct json_object *j = NULL;

        assert_string_equal(e, "");
        assert_int_equal(p->n_checks, 7);
        assert_int_equal(p->n_actions, 0);
        assert_ptr_equal(p->checks[0].ops, &hardware_check_ops);
        assert_int_equal(p->checks[5].mode, MODE_AUDIT);
        assert_int_equal(policy_to_json(p, &j), 0);
        const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
        assert_non_null(strstr(s, "\"hardware\":{\"target\":\"etcd\",\"min-cores\":2,\"min-memory\":4294967296"));
        assert_non_null(strstr(s, "\"max-run-delay\":5"));
        assert_non_null(strstr(s, "\"nic\":{\"interface\":\"eth0\"}"));
        assert_non_null(strstr(s, "\"quota\":8589934592"));
        assert_non_null(strstr(s, "\"size\":23068672"));
        json_object_put(j);
        policy_free(p);
}

static void test_errors_positioned(void **state) {
        (void) state;
        assert_error(HEAD "checks:\n  - name: x\n    smoke-alarm: {}\n",
                     "10:5: check: unknown key 'smoke-alarm' (expected name, mode, or a check kind: hardware, etcd-config");
        assert_error(HEAD "checks:\n  - name: x\n    hardware: {target: nope}\n", "10:24: hardware.target: no target named 'nope'");
        assert_error(HEAD "checks:\n  - name: x\n    hardware: {target: nic}\n", "hardware.target: 'nic' is not a process target");
        assert_error(HEAD "checks:\n  - name: x\n    hardware: {min-memory: 4 gigs}\n",
                     "10:28: hardware.min-memory: '4 gigs' is not a number with one of the units B KiB MiB GiB TiB");
        assert_error(HEAD "checks:\n  - name: x\n    disk-latency: {max-flush-latency: 20 parsecs}\n", "disk-latency.max-flush-latency");
        assert_error(HEAD "checks:\n  - name: x\n    cpu: {max-run-delay: 10%}\n", "10:10: cpu: missing 'target'");
        assert_error(HEAD "checks:\n  - name: x\n    cpu: {target: etcd, max-run-delay: 120%}\n", "is out of range 0..100 %");
        assert_error(HEAD "checks:\n  - name: x\n    etcd-config: {target: etcd, min-election-ratio: 3}\n",
                     "etcd-config.min-election-ratio: 3 is out of range 5..1000");
        assert_error(HEAD "checks:\n  - name: x\n    db-quota: {data-dir: relative}\n", "db-quota.data-dir: 'relative' must be an absolute path");
        assert_error(HEAD "checks:\n  - name: x\n    mode: sometimes\n    cpu: {target: etcd}\n", "10:11: check.mode: 'sometimes'");
        assert_error(HEAD "checks:\n  - name: x\n", "9:5: check 'x': has no check kind");
        assert_error(HEAD "checks:\n  - hardware: {}\n", "9:5: check: missing 'name'");
        assert_error(HEAD "checks:\n  - name: x\n    hardware: {}\n    cpu: {target: etcd}\n", "11:5: check: has two check kinds");
        assert_error(HEAD "checks: {hardware: {}}\n", "8:9: checks: expected a list, got a mapping");
        assert_error(HEAD "actions:\n  - name: same\n    sysctl: {net.ipv4.tcp_keepalive_time: 600}\n"
                          "checks:\n  - name: same\n    hardware: {}\n",
                     "12:11: name: duplicate name 'same' (first at");
        assert_error(HEAD "checks:\n  - name: x\n    hardware: {cores: 2}\n", "hardware: unknown key 'cores'");
}

/* validate's normalised output is itself a policy that reads back the same. */
static void test_normalised_round_trip(void **state) {
        (void) state;
        _cleanup_free_ char *shipped = data_path("../../policies/etcd.yaml");
        char path[] = "/tmp/medic-test-norm.XXXXXX";
        struct perr err = { 0 };
        struct policy *a = NULL, *b = NULL;
        struct json_object *ja = NULL, *jb = NULL;
        int fd = mkstemp(path);
        FILE *f;

        assert_true(fd >= 0);
        assert_int_equal(policy_load(shipped, &a, &err), 0);
        assert_true(a->n_checks >= 9);
        assert_int_equal(policy_to_json(a, &ja), 0);
        f = fdopen(fd, "w");
        json_print_yaml(f, ja, 0);
        fclose(f);
        if (policy_load(path, &b, &err) < 0)
                fail_msg("normalised policy does not load: %s", err.msgs[0]);
        assert_int_equal(policy_to_json(b, &jb), 0);
        assert_string_equal(json_object_to_json_string(ja), json_object_to_json_string(jb));
        unlink(path);
        json_object_put(ja);
        json_object_put(jb);
        policy_free(a);
        policy_free(b);
        perr_done(&err);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_kind_defaults),
                cmocka_unit_test(test_errors_positioned),
                cmocka_unit_test(test_normalised_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
