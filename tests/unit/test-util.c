/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/util.c: the SHA-256 that fingerprints policies, blank normalisation that makes kernel
 * values comparable, number parsing, atomic file writes and the small string helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>

#include "../../agent/util.h"

/* Every name in dir except . and .., sorted, joined with spaces. */
static char *list_dir(const char *dir) {
        struct dirent **list;
        char *out = xstrdup("");
        int n = scandir(dir, &list, NULL, alphasort);

        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
                if (strcmp(list[i]->d_name, ".") != 0 && strcmp(list[i]->d_name, "..") != 0) {
                        char *s = xasprintf("%s%s%s", out, *out ? " " : "", list[i]->d_name);
                        free(out);
                        out = s;
                }
                free(list[i]);
        }
        free(list);
        return out;
}

/* ---- SHA-256: the FIPS 180-2 / NIST example vectors, and every padding boundary ---- */

static void check_sha(const void *data, size_t len, const char *want) {
        char got[65];
        memset(got, 'x', sizeof got);
        sha256_hex(data, len, got);
        assert_int_equal(got[64], 0);
        assert_string_equal(got, want);
}

/* The C path gives the same digests as sha256_hex() (the SHA extensions where the CPU has
 * them) for every length across block and padding boundaries, and for random bytes. */
static void test_sha256_both_paths(void **state _unused_) {
        uint8_t buf[300];
        char a[65], b[65];
        uint32_t x = 2463534242u;

        print_message("  sha256_hex() on this CPU: %s\n", sha256_fast() ? "x86 SHA extensions" : "C");
        for (size_t i = 0; i < sizeof(buf); i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                buf[i] = (uint8_t) x;
        }
        for (size_t len = 0; len <= sizeof(buf); len++) {
                sha256_hex(buf, len, a);
                sha256_hex_c(buf, len, b);
                assert_string_equal(a, b);
        }
        check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        sha256_hex_c("abc", 3, b);
        assert_string_equal(b, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_vectors(void **state _unused_) {
        check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        check_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
                  112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_million_a(void **state _unused_) {
        char *a = xmalloc(1000000);
        memset(a, 'a', 1000000);
        check_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(a);
}

static void test_sha256_padding_boundaries(void **state _unused_) {
        /* 55 bytes is the last length whose padding fits one block; 56..63 need a second one. */
        static const struct {
                size_t n;
                const char *hex;
        } v[] = {
                { 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
                { 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
                { 57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6" },
                { 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
                { 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
                { 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
                { 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
                { 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
                { 128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e" },
        };
        char buf[128];
        memset(buf, 'a', sizeof buf);
        for (size_t i = 0; i < ELEMENTSOF(v); i++)
                check_sha(buf, v[i].n, v[i].hex);
}

/* ---- normalize_blanks: the kernel prints ip_local_port_range as "32768\t60999\n" ---- */

static void check_norm(const char *in, const char *want) {
        char *got = normalize_blanks(in);
        assert_string_equal(got, want);
        free(got);
}

static void test_normalize_blanks(void **state _unused_) {
        check_norm("", "");
        check_norm("   ", "");
        check_norm("\t\n", "");
        check_norm("600", "600");
        check_norm("600\n", "600");
        check_norm("32768\t60999\n", "32768 60999");
        check_norm("32768 60999", "32768 60999");
        check_norm("  4096 \t 87380\t\t6291456  \n", "4096 87380 6291456");
        check_norm("a\nb", "a b");
        check_norm("\v\f\ra b\r\n", "a b");
        check_norm("x", "x");
}

/* ---- parse_uint ---- */

static void test_parse_uint_ok(void **state _unused_) {
        unsigned long long v = 42;

        assert_int_equal(parse_uint("0", 0, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_uint("7", 7, &v), 0);
        assert_int_equal(v, 7);
        assert_int_equal(parse_uint("4294967295", UINT32_MAX, &v), 0);
        assert_int_equal(v, UINT32_MAX);
        assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
        assert_true(v == UINT64_MAX);
        /* Leading zeros are decimal, not octal. */
        assert_int_equal(parse_uint("010", 100, &v), 0);
        assert_int_equal(v, 10);
}

static void test_parse_uint_bounds(void **state _unused_) {
        unsigned long long v = 42;

        assert_int_equal(parse_uint("8", 7, &v), -ERANGE);
        assert_int_equal(parse_uint("4294967296", UINT32_MAX, &v), -ERANGE);
        assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -ERANGE);
        assert_int_equal(parse_uint("99999999999999999999999", UINT64_MAX, &v), -ERANGE);
        assert_int_equal(parse_uint("1", 0, &v), -ERANGE);
        /* The output is written only on success. */
        assert_int_equal(v, 42);
}

static void test_parse_uint_invalid(void **state _unused_) {
        static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "1e3",
                                           "abc", "\t1", "1\n" };
        unsigned long long v = 42;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = parse_uint(bad[i], UINT64_MAX, &v);
                if (r != -EINVAL)
                        fail_msg("parse_uint(\"%s\") = %d, expected -EINVAL", bad[i], r);
        }
        assert_int_equal(parse_uint(NULL, UINT64_MAX, &v), -EINVAL);
        assert_int_equal(v, 42);
}

/* ---- files ---- */

static void test_write_file_atomic_round_trip(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/state.json", dir), *text = NULL, *names;
        size_t len = 0;
        struct stat st;
        mode_t old = umask(022);

        assert_int_equal(write_file_atomic(path, "hello\n", 6, 0600), 0);
        assert_int_equal(read_file(path, &text, &len), 0);
        assert_int_equal(len, 6);
        assert_string_equal(text, "hello\n");
        free(text);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* Replacing with shorter content leaves nothing of the old one. */
        assert_int_equal(write_file_atomic(path, "hi", 2, 0600), 0);
        assert_int_equal(read_file(path, &text, &len), 0);
        assert_int_equal(len, 2);
        assert_string_equal(text, "hi");
        free(text);

        /* An empty file reads as an empty, NUL-terminated string. */
        assert_int_equal(write_file_atomic(path, "", 0, 0644), 0);
        assert_int_equal(read_file(path, &text, &len), 0);
        assert_int_equal(len, 0);
        assert_string_equal(text, "");
        free(text);

        /* No temporary file is left next to it. */
        names = list_dir(dir);
        assert_string_equal(names, "state.json");
        free(names);
        umask(old);
        free(path);
}

static void test_read_file_large_and_binary(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/big", dir), *text = NULL;
        size_t n = 3 * 4096 + 17, len = 0;
        char *data = xmalloc(n);

        /* Larger than read_file's first buffer, with NUL bytes inside. */
        for (size_t i = 0; i < n; i++)
                data[i] = (char) (i % 251);
        assert_int_equal(write_file_atomic(path, data, n, 0600), 0);
        assert_int_equal(read_file(path, &text, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(text, data, n);
        assert_int_equal(text[n], 0);
        free(text);

        /* The length is optional. */
        assert_int_equal(read_file(path, &text, NULL), 0);
        free(text);
        free(data);
        free(path);
}

static void test_read_file_errors(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/missing", dir), *text = (char *) "untouched";

        assert_int_equal(read_file(path, &text, NULL), -ENOENT);
        assert_string_equal(text, "untouched");
        assert_int_equal(read_file(dir, &text, NULL), -EISDIR);
        free(path);
}

static void test_write_file_atomic_missing_dir(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/no/such/dir/file", dir), *names;

        assert_int_equal(write_file_atomic(path, "x", 1, 0600), -ENOENT);
        names = list_dir(dir);
        assert_string_equal(names, "");
        free(names);
        free(path);
}

static void test_read_line_file(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/lines", dir), *line = NULL;

        assert_int_equal(write_file_atomic(path, "first line\nsecond\n", 18, 0600), 0);
        assert_int_equal(read_line_file(path, &line), 0);
        assert_string_equal(line, "first line");
        free(line);
        assert_int_equal(write_file_atomic(path, "no newline", 10, 0600), 0);
        assert_int_equal(read_line_file(path, &line), 0);
        assert_string_equal(line, "no newline");
        free(line);
        free(path);
}

static void test_write_string_file(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/proc-like", dir), *text = NULL;

        /* No O_CREAT: /proc and /sys files exist or the key does not. */
        assert_int_equal(write_string_file(path, "1"), -ENOENT);
        assert_int_equal(write_file_atomic(path, "old value", 9, 0600), 0);
        assert_int_equal(write_string_file(path, "600"), 0);
        assert_int_equal(read_file(path, &text, NULL), 0);
        /* One write at offset 0 without O_TRUNC: /proc/sys replaces the value, a plain file
         * keeps the tail. */
        assert_string_equal(text, "600 value");
        free(text);
        free(path);
}

static void test_mkdir_p(void **state) {
        const char *dir = *state;
        char *deep = xasprintf("%s/a/b/c", dir);
        struct stat st;

        assert_int_equal(mkdir_p(deep, 0700), 0);
        assert_int_equal(stat(deep, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        /* Existing directories are fine. */
        assert_int_equal(mkdir_p(deep, 0700), 0);
        free(deep);
}

static void test_fsync_dir_of(void **state) {
        const char *dir = *state;
        char *f = xasprintf("%s/file", dir), *g = xasprintf("%s/none/file", dir);

        assert_int_equal(fsync_dir_of(f), 0);
        assert_int_equal(fsync_dir_of(g), -ENOENT);
        free(f);
        free(g);
}

/* ---- strings ---- */

static void test_startswith(void **state _unused_) {
        assert_true(startswith("net.ipv4.tcp_keepalive_time", "net."));
        assert_true(startswith("abc", "abc"));
        assert_true(startswith("abc", ""));
        assert_false(startswith("ab", "abc"));
        assert_false(startswith("kernel.x", "net."));
        assert_false(startswith(NULL, "a"));
}

static void test_streq(void **state _unused_) {
        assert_true(streq("a", "a"));
        assert_false(streq("a", "b"));
        assert_false(streq(NULL, "a"));
        assert_false(streq(NULL, NULL));
        assert_true(streq_ptr(NULL, NULL));
        assert_false(streq_ptr("a", NULL));
        assert_true(streq_ptr("a", "a"));
}

static void test_strv(void **state _unused_) {
        char **v = NULL;

        assert_int_equal(strv_length(NULL), 0);
        assert_false(strv_contains(NULL, "a"));
        strv_free(NULL);

        assert_int_equal(strv_push(&v, xstrdup("one")), 0);
        assert_int_equal(strv_push(&v, xstrdup("two")), 0);
        assert_int_equal(strv_push(&v, xstrdup("three")), 0);
        assert_int_equal(strv_length(v), 3);
        assert_string_equal(v[0], "one");
        assert_string_equal(v[2], "three");
        assert_null(v[3]);
        assert_true(strv_contains(v, "two"));
        assert_false(strv_contains(v, "four"));
        assert_false(strv_contains(v, "tw"));
        strv_free(v);
}

static void test_strv_cleanup(void **state _unused_) {
        _cleanup_strv_ char **v = NULL;
        _cleanup_free_ char *s = xasprintf("%s-%u", "set", 12u);

        char **taken;

        strv_push(&v, xstrdup("x"));
        assert_string_equal(s, "set-12");
        taken = TAKE_PTR(v);
        assert_null(v);
        assert_string_equal(taken[0], "x");
        strv_free(taken);
}

static void test_xstrdup_null(void **state _unused_) {
        char *s = xstrdup(NULL), *t = xstrndup("abcdef", 3);
        assert_string_equal(s, "");
        assert_string_equal(t, "abc");
        free(s);
        free(t);
}

/* ---- time and boot id ---- */

/* xasprintf()'s joins of %s by hand give what printf gives, and any other conversion still
 * goes through printf. */
static void test_xasprintf(void **state _unused_) {
        char *const volatile none = NULL;
        char big[600], want[1300];
        char *r;

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
#define SAME(...)                                                \
        do {                                                     \
                snprintf(want, sizeof(want), __VA_ARGS__);       \
                r = xasprintf(__VA_ARGS__);                      \
                assert_string_equal(r, want);                    \
                free(r);                                         \
        } while (0)
        SAME("plain words");
        SAME("%s", "");
        SAME("%s offload %s", "a1", "tx-checksumming");
        SAME("100%% of %s, %s%s", "b2", "", "end");
        SAME("%s", none);
        SAME("%s and %s", big, big);
        SAME("%s: %d of %zu", "x", -3, (size_t) 7);
        SAME("%-8s|%.2s|", "ab", "cdef");
        SAME("%s %llu%s", "rate", 125ULL, "gbit");
#undef SAME
}

static void test_str_copy(void **state _unused_) {
        char small[4], name[16];

        str_copy(small, "abcdef", sizeof(small));
        assert_string_equal(small, "abc");
        str_copy(small, "ab", sizeof(small));
        assert_string_equal(small, "ab");
        str_copy(name, "", sizeof(name));
        assert_string_equal(name, "");
        str_copy(name, NULL, sizeof(name));
        assert_string_equal(name, "");
        str_copy(small, "xyz", 1);
        assert_string_equal(small, "");
}

static void test_rfc3339(void **state _unused_) {
        char buf[40];

        rfc3339_from(0, buf);
        assert_string_equal(buf, "1970-01-01T00:00:00Z");
        rfc3339_from(1700000000, buf);
        assert_string_equal(buf, "2023-11-14T22:13:20Z");

        /* 2024-01-02T03:04:05.678Z */
        rfc3339_now(buf);
        assert_int_equal(strlen(buf), 24);
        assert_int_equal(buf[4], '-');
        assert_int_equal(buf[10], 'T');
        assert_int_equal(buf[19], '.');
        assert_int_equal(buf[23], 'Z');
}

static void test_clocks(void **state _unused_) {
        uint64_t a = now_monotonic_ns(), b = now_monotonic_ns();
        assert_true(b >= a);
        /* After 2023-11-14: a clock set to 1970 would make every journal time wrong. */
        assert_true(now_realtime_ms() > 1700000000000LL);
}

static void test_boot_id(void **state _unused_) {
        char id[37];
        int r = boot_id(id);

        if (r == -ENOENT)
                skip(); /* no /proc/sys/kernel/random here */
        assert_int_equal(r, 0);
        assert_int_equal(strlen(id), 36);
        assert_int_equal(id[8], '-');
        assert_int_equal(id[13], '-');
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha256_vectors),
                cmocka_unit_test(test_sha256_both_paths),
                cmocka_unit_test(test_sha256_million_a),
                cmocka_unit_test(test_sha256_padding_boundaries),
                cmocka_unit_test(test_normalize_blanks),
                cmocka_unit_test(test_parse_uint_ok),
                cmocka_unit_test(test_xasprintf),
                cmocka_unit_test(test_str_copy),
                cmocka_unit_test(test_parse_uint_bounds),
                cmocka_unit_test(test_parse_uint_invalid),
                cmocka_unit_test_setup_teardown(test_write_file_atomic_round_trip, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_file_large_and_binary, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_file_errors, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_file_atomic_missing_dir, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_read_line_file, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_write_string_file, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_mkdir_p, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test_setup_teardown(test_fsync_dir_of, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_startswith),
                cmocka_unit_test(test_streq),
                cmocka_unit_test(test_strv),
                cmocka_unit_test(test_strv_cleanup),
                cmocka_unit_test(test_xstrdup_null),
                cmocka_unit_test(test_rfc3339),
                cmocka_unit_test(test_clocks),
                cmocka_unit_test(test_boot_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
