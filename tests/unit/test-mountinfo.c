/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/kernel/mountinfo.c and agent/kernel/fstab.c: mountinfo lines (octal escapes,
 * optional fields, bind roots), the atime model and its mapping to MS_* and MOUNT_ATTR_*
 * bits, fstab lines and how one is matched to a mount, and systemd's unit names. No root,
 * no mounts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <ftw.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "../../agent/kernel/fstab.h"
#include "../../agent/kernel/mountinfo.h"

static const char table[] =
        "22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
        "27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
        "30 27 254:1 /srv/etcd /var/lib/etcd rw,noatime shared:1 master:7 - ext4 /dev/vda1 rw\n"
        "31 27 0:40 / /mnt/with\\040space\\011tab ro,nosuid,nodev,noexec - tmpfs my\\040tmpfs ro,size=4k\n"
        "32 27 0:41 / /var rw,nodiratime,relatime - tmpfs tmpfs rw\n"
        "33 32 0:42 / /var/lib rw,relatime - tmpfs tmpfs rw\n"
        "34 32 0:43 / /var/lib rw,noatime - tmpfs over rw\n";

static void test_parse_line(void **st _unused_) {
        struct mount_entry e;

        assert_int_equal(mountinfo_parse_line("30 27 254:1 /srv/etcd /var/lib/etcd rw,noatime shared:1 master:7 - ext4 /dev/vda1 rw,data=ordered", &e), 0);
        assert_int_equal(e.id, 30);
        assert_int_equal(e.parent, 27);
        assert_int_equal(e.major, 254);
        assert_int_equal(e.minor, 1);
        assert_string_equal(e.root, "/srv/etcd");
        assert_string_equal(e.mount_point, "/var/lib/etcd");
        assert_string_equal(e.options, "rw,noatime");
        assert_string_equal(e.fstype, "ext4");
        assert_string_equal(e.source, "/dev/vda1");
        assert_string_equal(e.super_options, "rw,data=ordered");
        mount_entry_done(&e);

        /* Blanks, tabs and backslashes in names are \ooo. */
        assert_int_equal(mountinfo_parse_line("31 27 0:40 / /mnt/with\\040space\\011tab\\134x ro - tmpfs my\\040tmpfs ro", &e), 0);
        assert_string_equal(e.mount_point, "/mnt/with space\ttab\\x");
        assert_string_equal(e.source, "my tmpfs");
        mount_entry_done(&e);

        /* No optional fields at all. */
        assert_int_equal(mountinfo_parse_line("5 1 0:5 / /dev rw - devtmpfs udev rw\n", &e), 0);
        assert_string_equal(e.fstype, "devtmpfs");
        mount_entry_done(&e);

        static const char *const bad[] = {
                "", "30 27 254:1 / /x rw", "30 27 254:1 / /x rw shared:1", "x 27 254:1 / /x rw - ext4 /dev/a rw",
                "30 27 2541 / /x rw - ext4 /dev/a rw", "30 27 254:1 / /x rw -", "30 27 254:1 / /x rw - ext4",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(mountinfo_parse_line(bad[i], &e), -EBADMSG);
}

static void test_unescape(void **st _unused_) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "plain", "plain" },    { "a\\040b", "a b" },    { "\\134", "\\" },
                { "end\\04", "end\\04" }, { "\\999", "\\999" },    { "\\000x", "\\000x" },
                { "\\012", "\n" },       { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *s = mount_unescape(cases[i].in, strlen(cases[i].in));
                assert_string_equal(s, cases[i].out);
                free(s);
        }
        char *e = mount_escape("a b\t\\c");
        assert_string_equal(e, "a\\040b\\011\\134c");
        char *back = mount_unescape(e, strlen(e));
        assert_string_equal(back, "a b\t\\c");
        free(e);
        free(back);
}

static void test_find(void **st _unused_) {
        struct mount_entry e;

        assert_int_equal(mountinfo_find_id(table, 31, &e), 0);
        assert_string_equal(e.mount_point, "/mnt/with space\ttab");
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find_id(table, 3, &e), -ENOENT); /* not a prefix of 30 */
        assert_int_equal(mountinfo_find_id(table, 300, &e), -ENOENT);

        /* Longest prefix, whole components, and the later of two mounts on one point. */
        assert_int_equal(mountinfo_find_path(table, "/var/lib/etcd/member", &e), 0);
        assert_int_equal(e.id, 30);
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find_path(table, "/var/lib/other", &e), 0);
        assert_int_equal(e.id, 34);
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find_path(table, "/variable", &e), 0);
        assert_int_equal(e.id, 27);
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find_path(table, "/var", &e), 0);
        assert_int_equal(e.id, 32);
        mount_entry_done(&e);
        assert_int_equal(mountinfo_find_path("22 27 0:21 / /proc rw - proc proc rw\n", "/etc", &e), -ENOENT);
}

static void test_has_id(void **st _unused_) {
        assert_true(mountinfo_has_id(table, 27));
        assert_true(mountinfo_has_id(table, 34));
        /* Whole numbers only: 3 is not 30's prefix, 2 not 22's. */
        assert_false(mountinfo_has_id(table, 3));
        assert_false(mountinfo_has_id(table, 2));
        /* A copied namespace has new ids for every mount. */
        assert_false(mountinfo_has_id("122 127 0:21 / /proc rw - proc proc rw\n127 1 254:1 / / rw - ext4 /dev/vda1 rw\n", 27));
        assert_false(mountinfo_has_id("", 27));
}

static void test_options(void **st _unused_) {
        static const struct {
                const char *opts;
                enum atime_mode mode;
                enum diratime dir;
                unsigned long ms;
                const char *others;
        } cases[] = {
                { "rw,nosuid,nodev,relatime", ATIME_RELATIME, DIRATIME_ON, MS_NOSUID | MS_NODEV, "rw,nosuid,nodev" },
                { "ro,noexec", ATIME_STRICTATIME, DIRATIME_ON, MS_RDONLY | MS_NOEXEC, "ro,noexec" },
                { "rw,noatime,nodiratime", ATIME_NOATIME, DIRATIME_OFF, 0, "rw" },
                { "rw,nosymfollow,relatime", ATIME_RELATIME, DIRATIME_ON, MS_NOSYMFOLLOW, "rw,nosymfollow" },
                { "ro,nodiratime", ATIME_STRICTATIME, DIRATIME_OFF, MS_RDONLY, "ro" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct atime a;
                unsigned long ms;
                char *o;
                assert_int_equal(mount_options_parse(cases[i].opts, &a, &ms), 0);
                assert_int_equal(a.mode, cases[i].mode);
                assert_int_equal(a.dir, cases[i].dir);
                assert_int_equal(ms, cases[i].ms);
                o = mount_other_options(cases[i].opts);
                assert_string_equal(o, cases[i].others);
                free(o);
        }
        struct atime a;
        unsigned long ms;
        assert_int_equal(mount_options_parse("noatime", &a, &ms), -EBADMSG);
}

static void test_kernel_bits(void **st _unused_) {
        struct atime a = { ATIME_NOATIME, DIRATIME_ON };
        uint64_t set, clr;

        assert_int_equal(atime_ms_flags(&a), MS_NOATIME);
        atime_mount_attr(&a, &set, &clr);
        assert_int_equal(set, MOUNT_ATTR_NOATIME);
        /* Without clearing the whole atime field the kernel says EINVAL. */
        assert_int_equal(clr, MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME);

        a = (struct atime) { ATIME_STRICTATIME, DIRATIME_OFF };
        assert_int_equal(atime_ms_flags(&a), MS_STRICTATIME | MS_NODIRATIME);
        atime_mount_attr(&a, &set, &clr);
        assert_int_equal(set, MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_NODIRATIME);

        a = (struct atime) { ATIME_RELATIME, DIRATIME_ON };
        assert_int_equal(atime_ms_flags(&a), MS_RELATIME);
        atime_mount_attr(&a, &set, &clr);
        assert_int_equal(set, MOUNT_ATTR_RELATIME);
}

static void test_atime_model(void **st _unused_) {
        struct atime want = { ATIME_NOATIME, DIRATIME_UNSET }, have = { ATIME_NOATIME, DIRATIME_OFF }, m;
        char *s;

        assert_true(atime_satisfies(&want, &have));
        have.mode = ATIME_RELATIME;
        assert_false(atime_satisfies(&want, &have));
        want = (struct atime) { ATIME_UNSET, DIRATIME_OFF };
        assert_true(atime_satisfies(&want, &have));
        m = atime_merge(&have, &(struct atime) { ATIME_STRICTATIME, DIRATIME_UNSET });
        assert_int_equal(m.mode, ATIME_STRICTATIME);
        assert_int_equal(m.dir, DIRATIME_OFF);
        s = atime_describe(&m);
        assert_string_equal(s, "strictatime,nodiratime");
        free(s);
        s = atime_describe(&(struct atime) { ATIME_RELATIME, DIRATIME_ON });
        assert_string_equal(s, "relatime");
        free(s);
        s = atime_describe(&(struct atime) { ATIME_UNSET, DIRATIME_ON });
        assert_string_equal(s, "diratime");
        free(s);
}

/* ---- fstab ---- */

static void write_at(const char *root, const char *rel, const char *text) {
        char *p = xasprintf("%s%s", root, rel);
        char *dir = xstrdup(p);
        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
        free(dir);
        free(p);
}

static void link_at(const char *root, const char *rel, const char *target) {
        char *p = xasprintf("%s%s", root, rel), *dir = xstrdup(p);
        *strrchr(dir, '/') = 0;
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(symlink(target, p), 0);
        free(dir);
        free(p);
}

static void test_fstab(void **state) {
        const char *root = *state;
        struct fstab_entry *e = NULL;
        size_t n = 0;
        bool by_dev;
        struct stat st;
        char *path = xasprintf("%s/etc/fstab", root);

        /* /dev/null stands in for a disk: the match compares device numbers. */
        assert_int_equal(stat("/dev/null", &st), 0);
        write_at(root, "/etc/fstab",
                 "# /etc/fstab: static file system information.\n"
                 "\n"
                 "UUID=\"1111-aaaa\" /         ext4 errors=remount-ro 0 1\n"
                 "LABEL=etcd-data  /srv/etcd ext4 defaults,noatime  0 2\n"
                 "# swap\n"
                 "/dev/null        none      swap sw                0 0\n"
                 "tmpfs            /mnt/a\\040b tmpfs nosuid          0 0\n"
                 "PARTUUID=p-1     /data/    xfs  defaults          0 0\n");
        link_at(root, "/dev/disk/by-uuid/1111-aaaa", "/dev/zero");
        link_at(root, "/dev/disk/by-label/etcd-data", "/dev/null");
        link_at(root, "/dev/disk/by-partuuid/p-1", "/dev/full");
        assert_int_equal(fstab_read(path, &e, &n), 0);
        assert_int_equal(n, 5);
        assert_int_equal(e[0].line, 3);
        assert_string_equal(e[0].spec, "UUID=\"1111-aaaa\"");
        assert_int_equal(e[1].line, 4);
        assert_string_equal(e[1].opts, "defaults,noatime");
        assert_int_equal(e[2].line, 6);
        assert_int_equal(e[3].line, 7);
        assert_string_equal(e[3].file, "/mnt/a b");
        assert_int_equal(e[4].line, 8);
        assert_int_equal(e[4].passno, 0);

        /* By mount point (blanks decoded, trailing slash ignored). */
        assert_int_equal(fstab_match(e, n, root, "/mnt/a b", 0, &by_dev), 3);
        assert_false(by_dev);
        assert_int_equal(fstab_match(e, n, root, "/data", 0, &by_dev), 4);
        /* By device: a bind mount of /srv/etcd elsewhere is the LABEL= line's device. The
         * swap line names the same device and is skipped. */
        assert_int_equal(fstab_match(e, n, root, "/var/lib/etcd", st.st_rdev, &by_dev), 1);
        assert_true(by_dev);
        /* The mount point wins over the device. */
        assert_int_equal(fstab_match(e, n, root, "/", st.st_rdev, &by_dev), 0);
        assert_false(by_dev);
        assert_int_equal(fstab_match(e, n, root, "/elsewhere", makedev(7, 99), &by_dev), -ENOENT);

        dev_t d;
        assert_int_equal(fstab_spec_dev(root, "UUID=1111-aaaa", &d), 0);
        assert_int_equal(fstab_spec_dev(root, "PARTUUID=p-1", &d), 0);
        assert_int_equal(fstab_spec_dev(root, "UUID=nope", &d), -ENOENT);
        assert_int_equal(fstab_spec_dev(root, "tmpfs", &d), -EINVAL);
        assert_int_equal(fstab_spec_dev(root, "LABEL=a/b", &d), -EINVAL);
        assert_int_equal(fstab_spec_dev("", "/dev/null", &d), 0);
        assert_int_equal(d, st.st_rdev);
        fstab_free(e, n);

        assert_int_equal(fstab_read("/nonexistent/fstab", &e, &n), -ENOENT);
        free(path);
}

static void test_boot_options(void **st _unused_) {
        static const struct {
                const char *opts;
                enum atime_mode mode;
                enum diratime dir;
        } boot[] = {
                { "defaults", ATIME_RELATIME, DIRATIME_ON },
                { "rw,noatime", ATIME_NOATIME, DIRATIME_ON },
                { "noatime,relatime", ATIME_RELATIME, DIRATIME_ON },
                { "strictatime,nodiratime", ATIME_STRICTATIME, DIRATIME_OFF },
                { "noatime,atime", ATIME_RELATIME, DIRATIME_ON },
                { "", ATIME_RELATIME, DIRATIME_ON },
        };
        for (size_t i = 0; i < ELEMENTSOF(boot); i++) {
                struct atime a = atime_from_options(boot[i].opts);
                assert_int_equal(a.mode, boot[i].mode);
                assert_int_equal(a.dir, boot[i].dir);
        }
        static const struct {
                const char *opts;
                struct atime want;
                const char *out;
        } fix[] = {
                { "defaults", { ATIME_NOATIME, DIRATIME_UNSET }, "defaults,noatime" },
                { "errors=remount-ro", { ATIME_NOATIME, DIRATIME_UNSET }, "errors=remount-ro,noatime" },
                { "rw,relatime,nodiratime", { ATIME_NOATIME, DIRATIME_UNSET }, "rw,nodiratime,noatime" },
                { "rw,strictatime,nodiratime", { ATIME_NOATIME, DIRATIME_ON }, "rw,noatime" },
                { "relatime", { ATIME_NOATIME, DIRATIME_UNSET }, "defaults,noatime" },
                { "rw,diratime", { ATIME_UNSET, DIRATIME_OFF }, "rw,nodiratime" },
        };
        for (size_t i = 0; i < ELEMENTSOF(fix); i++) {
                char *s = options_with_atime(fix[i].opts, &fix[i].want);
                assert_string_equal(s, fix[i].out);
                free(s);
        }
        char *line = fstab_format("LABEL=my disk", "/mnt/a b", "ext4", "defaults,noatime", 0, 2);
        assert_string_equal(line, "LABEL=my\\040disk /mnt/a\\040b ext4 defaults,noatime 0 2");
        free(line);
}

static void test_unit_names(void **state) {
        /* As systemd-escape --path --suffix=mount prints them. */
        static const struct {
                const char *path, *unit;
        } cases[] = {
                { "/", "-.mount" },
                { "/var/lib/etcd", "var-lib-etcd.mount" },
                { "/var//lib/etcd/", "var-lib-etcd.mount" },
                { "/srv/etcd-data", "srv-etcd\\x2ddata.mount" },
                { "/mnt/a b", "mnt-a\\x20b.mount" },
                { "/.hidden/x.y", "\\x2ehidden-x.y.mount" },
                { "/a:b_c", "a:b_c.mount" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *u = mount_unit_name(cases[i].path);
                assert_string_equal(u, cases[i].unit);
                free(u);
        }

        const char *root = *state;
        char *p = xasprintf("%s/etc/systemd/system/var-lib-etcd.mount", root), *opts = NULL;
        write_at(root, "/etc/systemd/system/var-lib-etcd.mount",
                 "[Unit]\nDescription=etcd data\nOptions=not-this-section\n\n[Mount]\nWhat=/dev/vdb\n"
                 "Where=/var/lib/etcd\nOptions=defaults\nOptions = noatime,  nodev\n[Install]\nOptions=no\n");
        assert_int_equal(mount_unit_options(p, &opts), 0);
        assert_string_equal(opts, "noatime, nodev");
        free(opts);
        write_at(root, "/etc/systemd/system/var-lib-etcd.mount", "[Mount]\nWhat=/dev/vdb\n");
        assert_int_equal(mount_unit_options(p, &opts), 0);
        assert_string_equal(opts, "");
        free(opts);
        free(p);
        assert_int_equal(mount_unit_options("/nonexistent.mount", &opts), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_line),
                cmocka_unit_test(test_unescape),
                cmocka_unit_test(test_find),
                cmocka_unit_test(test_has_id),
                cmocka_unit_test(test_options),
                cmocka_unit_test(test_kernel_bits),
                cmocka_unit_test(test_atime_model),
                cmocka_unit_test_setup_teardown(test_fstab, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_boot_options),
                cmocka_unit_test_setup_teardown(test_unit_names, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
