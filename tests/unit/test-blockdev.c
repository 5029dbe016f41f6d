/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The data dir's disk and scheduler walk, against the fake sysfs in tests/data/sysfs:
 * a partition leads to its disk, dm and md devices to their members. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "../../agent/kernel/blockdev.h"
#include "../../agent/util.h"
#include "helpers.h"

static char *sysfs(void) {
        return data_path("sysfs");
}

/* "disk=sched,disk=sched" for the device, or "error N". */
static char *walk(unsigned maj, unsigned min) {
        _cleanup_free_ char *root = sysfs();
        struct disk_sched *ds = NULL;
        size_t n = 0;
        char *s;
        int r = block_schedulers(root, makedev(maj, min), &ds, &n);

        if (r < 0)
                return xasprintf("error %d", -r);
        s = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%s%s=%s", s, i ? "," : "", ds[i].disk, ds[i].sched);
                free(s);
                s = t;
        }
        disk_sched_free(ds, n);
        return s;
}

static void assert_walk(unsigned maj, unsigned min, const char *want) {
        _cleanup_free_ char *got = walk(maj, min);
        assert_string_equal(got, want);
}

static void test_partition_to_disk(void **state) {
        (void) state;
        assert_walk(254, 1, "vda=mq-deadline");
        assert_walk(254, 0, "vda=mq-deadline");
}

static void test_whole_disk(void **state) {
        (void) state;
        assert_walk(259, 0, "nvme0n1=none");
}

static void test_dm_to_member_partition_disk(void **state) {
        (void) state;
        /* dm-0's own "none" is not what orders I/O: its member's disk is. */
        assert_walk(253, 0, "vdb=kyber");
}

static void test_md_members(void **state) {
        _cleanup_free_ char *got = walk(9, 0);
        (void) state;
        /* readdir order is not sorted: accept either order. */
        assert_true(streq(got, "sda=bfq,sdb=none") || streq(got, "sdb=none,sda=bfq"));
}

static void test_no_block_device(void **state) {
        (void) state;
        assert_walk(0, 42, "error 19"); /* ENODEV: tmpfs and friends */
        assert_walk(8, 99, "error 2");  /* ENOENT: no such device in sysfs */
}

static void test_ignores_ioprio(void **state) {
        (void) state;
        assert_true(sched_ignores_ioprio("none"));
        assert_true(sched_ignores_ioprio("kyber"));
        assert_false(sched_ignores_ioprio("bfq"));
        assert_false(sched_ignores_ioprio("mq-deadline"));
}

static void test_ioprio_honours(void **state) {
        (void) state;
        assert_string_equal(sched_ioprio_honours("bfq"), "class and level");
        assert_string_equal(sched_ioprio_honours("mq-deadline"), "the class only");
        assert_string_equal(sched_ioprio_honours("none"), "nothing");
        assert_string_equal(sched_ioprio_honours("kyber"), "nothing");
        assert_null(sched_ioprio_honours("cfq"));
}

static void test_dev_name(void **state) {
        _cleanup_free_ char *root = sysfs();
        char *name = NULL;
        (void) state;
        /* The partition itself, not its disk: jbd2 is named after the device it journals. */
        assert_int_equal(block_dev_name(root, makedev(254, 1), &name), 0);
        assert_string_equal(name, "vda1");
        free(name);
        assert_int_equal(block_dev_name(root, makedev(253, 0), &name), 0);
        assert_string_equal(name, "dm-0");
        free(name);
        assert_int_equal(block_dev_name(root, makedev(0, 42), &name), -ENODEV);
        assert_int_equal(block_dev_name(root, makedev(8, 99), &name), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_partition_to_disk),
                cmocka_unit_test(test_whole_disk),
                cmocka_unit_test(test_dm_to_member_partition_disk),
                cmocka_unit_test(test_md_members),
                cmocka_unit_test(test_no_block_device),
                cmocka_unit_test(test_ignores_ioprio),
                cmocka_unit_test(test_ioprio_honours),
                cmocka_unit_test(test_dev_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
