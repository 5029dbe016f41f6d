/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct json_object;

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand ownership on: the cleanup attribute of the old owner sees NULL. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                typeof(p) _p_ = (p);                                                               \
                (p) = NULL;                                                                        \
                _p_;                                                                               \
        })
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _fd_ = (fd);                                                                   \
                (fd) = -1;                                                                         \
                _fd_;                                                                              \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

void json_object_putp(struct json_object **j);
#define _cleanup_json_ _cleanup_(json_object_putp)
/* Typed members of a JSON object: NULL/false when missing or of another type. */
const char *json_get_str(struct json_object *j, const char *key);
bool json_get_int(struct json_object *j, const char *key, int64_t *ret);
bool json_get_u32(struct json_object *j, const char *key, uint32_t *ret);

void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
#define _cleanup_strv_ _cleanup_(strv_freep)
size_t strv_length(char *const *v);
int strv_push(char ***v, char *s); /* takes s on success */
bool strv_contains(char *const *v, const char *s);
void strv_sort(char **v); /* strcmp order */

/* Never NULL: medic stops on allocation failure, there is no sane way on. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
/* Room for element n of an array of n elements of size bytes that only this function grows
 * (its capacity is derived from n): appends in amortised constant time. */
void *xgrow(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* s into dst of size bytes, cut to fit, always terminated (size > 0): snprintf("%s")'s
 * result without its format parser, which a copy per interface made a visible cost. */
void str_copy(char *dst, const char *s, size_t size);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

static inline bool streq(const char *a, const char *b) {
        return a && b && __builtin_strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return __builtin_strcmp(a, b) == 0;
}
bool startswith(const char *s, const char *prefix);

/* Whole file into a NUL-terminated buffer; -errno on failure. */
int read_file(const char *path, char **ret, size_t *ret_len);
/* read_file() of path relative to dir_fd (openat(2)): /proc's entries under an open /proc. */
int read_file_at(int dir_fd, const char *path, char **ret, size_t *ret_len);
/* First line, without the newline. */
int read_line_file(const char *path, char **ret);
/* Write to path (no O_CREAT): for /proc and /sys, one write(2) as the kernel wants it. */
int write_string_file(const char *path, const char *s);
/* temp file + fsync + rename + fsync(dir): the file is either the old or the new one. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);
int fsync_dir_of(const char *path);
int mkdir_p(const char *path, mode_t mode);

/* Collapse runs of blanks to one space and trim: the kernel prints some values with tabs. */
char *normalize_blanks(const char *s);

int boot_id(char ret[static 37]);
void rfc3339_now(char ret[static 40]);
void rfc3339_from(int64_t unix_sec, char ret[static 40]);
int64_t now_realtime_ms(void);
uint64_t now_monotonic_ns(void);
int parse_uint(const char *s, unsigned long long max, unsigned long long *ret);

/* SHA-256 of a byte string as 64 hex characters. */
void sha256_hex(const void *data, size_t len, char ret[static 65]);
/* The same in plain C on every CPU, and whether sha256_hex() takes the x86 SHA extensions
 * instead: the unit tests compare the two. */
void sha256_hex_c(const void *data, size_t len, char ret[static 65]);
bool sha256_fast(void);

/* Test hooks: environment variables that change what medic does (MEDIC_TEST_*,
 * MEDIC_HOST_MNTNS_PID, MEDIC_CONF_ROOT, MEDIC_PROC_ROOT, MEDIC_ETHTOOL, MEDIC_MOUNT_API). medic runs as
 * root, so in the installed binary nothing in its environment may steer it: test_hook()
 * is getenv(name) only in a test build (compiled with -DMEDIC_TEST_HOOKS: build/test/,
 * build/asan/) and NULL otherwise. Read every hook through it; real user interfaces
 * (SUDO_USER, NO_COLOR) are read with getenv(). */
static inline const char *test_hook(const char *name) {
#ifdef MEDIC_TEST_HOOKS
        return getenv(name);
#else
        (void) name; /* inline, so that the compiler drops every hook's code */
        return NULL;
#endif
}
/* First thing in main(): in the installed binary, removes every MEDIC_* variable from the
 * environment, so that a getenv() of a hook that bypasses test_hook() finds nothing
 * either. A test build keeps them. */
void test_hooks_scrub(void);
/* Test-only fault hook: MEDIC_TEST_CRASH_AFTER=N kills medic after N applied items. */
void test_fault_point(unsigned items_done);
