/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The diagnosis checks' kernel readers against files captured from real kernels
 * (tests/data/kstats): diskstats with and without the flush fields, PSI, schedstat,
 * meminfo, a cgroup v2 path, and the tightest cpu.max/memory.max up the hierarchy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/kernel/kstats.h"
#include "../../agent/util.h"
#include "helpers.h"

static char *data(const char *name) {
        _cleanup_free_ char *rel = xasprintf("kstats/%s", name), *path = data_path(rel);
        char *text = NULL;
        assert_int_equal(read_file(path, &text, NULL), 0);
        return text;
}

static void test_diskstats_flush_fields(void **state) {
        (void) state;
        _cleanup_free_ char *t = data("diskstats-6.18");
        struct diskstat d;

        assert_int_equal(diskstats_parse(t, "vda", 0, 0, &d), 0);
        assert_int_equal(d.major, 254);
        assert_int_equal(d.writes, 695781);
        assert_int_equal(d.ms_writing, 401658);
        assert_true(d.has_flush);
        assert_int_equal(d.flushes, 185911);
        assert_int_equal(d.ms_flushing, 147367);
        /* by number: the same line */
        assert_int_equal(diskstats_parse(t, NULL, 254, 0, &d), 0);
        assert_string_equal(d.name, "vda");
        assert_int_equal(diskstats_parse(t, "sdz", 0, 0, &d), -ENOENT);
        assert_int_equal(diskstats_parse(t, NULL, 8, 0, &d), -ENOENT);
}

static void test_diskstats_old_kernel(void **state) {
        (void) state;
        _cleanup_free_ char *t = data("diskstats-4.9");
        struct diskstat d;

        /* 11 fields (before 4.18): no discard, no flush. */
        assert_int_equal(diskstats_parse(t, "sda1", 0, 0, &d), 0);
        assert_int_equal(d.writes, 4900);
        assert_false(d.has_flush);
        assert_int_equal(diskstats_parse("   8 0 sda 1 2 3\n", "sda", 0, 0, &d), -EINVAL);
}

static void test_psi(void **state) {
        (void) state;
        _cleanup_free_ char *io = data("pressure-io"), *cpu = data("pressure-cpu-no-full");
        struct psi p;

        assert_int_equal(psi_parse(io, &p), 0);
        assert_true(p.some_avg10 > 4.59 && p.some_avg10 < 4.61);
        assert_true(p.has_full);
        assert_int_equal(p.some_total_us, 173126465);
        assert_int_equal(p.full_total_us, 35581361);
        assert_int_equal(psi_parse(cpu, &p), 0);
        assert_false(p.has_full);
        assert_true(p.some_avg10 > 12.49 && p.some_avg10 < 12.51);
        assert_int_equal(psi_parse("garbage\n", &p), -EINVAL);
}

static void test_schedstat(void **state) {
        (void) state;
        _cleanup_free_ char *t = data("schedstat");
        struct schedstat s;

        assert_int_equal(schedstat_parse(t, &s), 0);
        assert_int_equal(s.run_ns, 123456789);
        assert_int_equal(s.wait_ns, 4567890);
        assert_int_equal(s.slices, 321);
        assert_int_equal(schedstat_parse("1 2\n", &s), -EINVAL);
}

static void test_schedstat_self(void **state) {
        (void) state;
        struct schedstat s;
        unsigned n = 0;

        /* This process on the running kernel: one thread at least, time on the CPU. */
        assert_int_equal(schedstat_process("", getpid(), &s, &n), 0);
        assert_true(n >= 1);
        assert_true(s.run_ns + s.wait_ns + s.slices > 0);
}

static void test_meminfo(void **state) {
        (void) state;
        _cleanup_free_ char *t = data("meminfo");
        uint64_t m;

        assert_int_equal(meminfo_total_parse(t, &m), 0);
        assert_int_equal(m, 24683584ULL * 1024);
        assert_int_equal(meminfo_total_parse("MemFree: 1 kB\n", &m), -EINVAL);
}

static void test_cgroup_path(void **state) {
        (void) state;
        _cleanup_free_ char *v2 = data("cgroup-v2"), *v1 = data("cgroup-v1-only"), *p = NULL;

        assert_int_equal(cgroup_path_parse(v2, &p), 0);
        assert_string_equal(p, "/system.slice/etcd.service");
        assert_int_equal(cgroup_path_parse(v1, &p), -ENOENT);
}

static void test_cpu_memory_max(void **state) {
        (void) state;
        double c;
        uint64_t m;

        assert_int_equal(cpu_max_parse("max 100000\n", &c), 0);
        assert_true(c == 0);
        assert_int_equal(cpu_max_parse("10000 100000\n", &c), 0);
        assert_true(c > 0.099 && c < 0.101);
        assert_int_equal(cpu_max_parse("200000 100000\n", &c), 0);
        assert_true(c > 1.99 && c < 2.01);
        assert_int_equal(cpu_max_parse("x\n", &c), -EINVAL);
        assert_int_equal(memory_max_parse("max\n", &m), 0);
        assert_int_equal(m, 0);
        assert_int_equal(memory_max_parse("4294967296\n", &m), 0);
        assert_int_equal(m, 4294967296ULL);
}

static void test_cgroup_limits_hierarchy(void **state) {
        (void) state;
        _cleanup_free_ char *root = data_path("kstats/root");
        _cleanup_free_ char *cw = NULL, *mw = NULL;
        double cpus;
        uint64_t mem;

        /* The parent slice's 0.5 CPU binds the unit under it (which says max); the unit's own
         * memory.max is the tighter one. */
        assert_int_equal(cgroup_limits(root, "/system.slice/etcd.service", &cpus, &cw, &mem, &mw), 0);
        assert_true(cpus > 0.49 && cpus < 0.51);
        assert_string_equal(cw, "/system.slice");
        assert_int_equal(mem, 1073741824ULL);
        assert_string_equal(mw, "/system.slice/etcd.service");
}

static void test_cgroup_v1_limits(void **state) {
        (void) state;
        _cleanup_free_ char *root = data_path("kstats/root-v1");
        _cleanup_free_ char *text = data("cgroup-v1-hybrid"), *cw = NULL, *mw = NULL;
        double cpus;
        uint64_t mem;

        /* The unit's own cfs quota (the slice says -1); the slice's memory limit (the unit's
         * is v1's "no limit", just under 2^63). */
        assert_int_equal(cgroup_v1_limits(root, text, &cpus, &cw, &mem, &mw), 0);
        assert_true(cpus > 0.49 && cpus < 0.51);
        assert_string_equal(cw, "/system.slice/etcd.service");
        assert_int_equal(mem, 2147483648ULL);
        assert_string_equal(mw, "/system.slice");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diskstats_flush_fields),
                cmocka_unit_test(test_diskstats_old_kernel),
                cmocka_unit_test(test_psi),
                cmocka_unit_test(test_schedstat),
                cmocka_unit_test(test_schedstat_self),
                cmocka_unit_test(test_meminfo),
                cmocka_unit_test(test_cgroup_path),
                cmocka_unit_test(test_cpu_memory_max),
                cmocka_unit_test(test_cgroup_limits_hierarchy),
                cmocka_unit_test(test_cgroup_v1_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
