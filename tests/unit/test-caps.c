/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/caps.c: which read capabilities a policy's reads use. CAP_SYS_PTRACE always (exe:
 * rules, /proc/1/root); CAP_DAC_READ_SEARCH, which reads any file, only for pidfile: rules;
 * never a write capability. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <string.h>

#include "../../agent/caps.h"
#include "../../agent/policy.h"

static uint64_t read_caps_of(const char *dir, const char *targets) {
        _cleanup_free_ char *path = xasprintf("%s/p.yaml", dir);
        _cleanup_free_ char *text = xasprintf("medic: 1\n"
                                              "targets:\n"
                                              "  etcd:\n"
                                              "    process: {%s}\n"
                                              "actions:\n"
                                              "  - name: io\n"
                                              "    io-priority: {target: etcd, class: idle}\n",
                                              targets);
        struct perr err = { 0 };
        struct policy *p = NULL;
        uint64_t caps;

        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
        assert_int_equal(policy_load(path, &p, &err), 0);
        perr_done(&err);
        caps = caps_for_reading(p);
        policy_free(p);
        return caps;
}

/* A nic check reads the kernel log: CAP_SYSLOG, and only then. */
static void test_read_caps_nic_check(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/p.yaml", (char *) *state);
        const char *text = "medic: 1\nchecks:\n  - name: nic\n    nic: {interface: eth0}\n  - name: hw\n    hardware: {}\n";
        struct perr err = { 0 };
        struct policy *p = NULL;

        assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
        assert_int_equal(policy_load(path, &p, &err), 0);
        perr_done(&err);
        assert_int_equal(caps_for_reading(p), CAP_TO_MASK(CAP_SYS_PTRACE) | (1ULL << CAP_SYSLOG));
        policy_free(p);
}

static void test_read_caps(void **state) {
        const uint64_t ptrace = CAP_TO_MASK(CAP_SYS_PTRACE), dac = CAP_TO_MASK(CAP_DAC_READ_SEARCH);

        assert_int_equal(caps_for_reading(NULL), ptrace);
        assert_int_equal(read_caps_of(*state, "exe: /usr/bin/etcd"), ptrace);
        assert_int_equal(read_caps_of(*state, "unit: etcd.service, comm: etcd"), ptrace);
        assert_int_equal(read_caps_of(*state, "unit: etcd.service, pidfile: /run/etcd/etcd.pid"), ptrace | dac);
        /* Reading only: nothing here may change the host. */
        assert_int_equal(CAPS_READ_ALL, ptrace | dac | (1ULL << CAP_SYSLOG));
        assert_int_equal(CAPS_READ_ALL & (CAP_TO_MASK(CAP_DAC_OVERRIDE) | CAP_TO_MASK(CAP_SYS_ADMIN) |
                                          CAP_TO_MASK(CAP_NET_ADMIN) | CAP_TO_MASK(CAP_SYS_NICE)), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_read_caps, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_caps_nic_check, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
