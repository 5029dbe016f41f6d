/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

void json_object_putp(struct json_object **j) {
        if (*j)
                json_object_put(*j);
}

const char *json_get_str(struct json_object *j, const char *key) {
        struct json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

bool json_get_int(struct json_object *j, const char *key, int64_t *ret) {
        struct json_object *v;
        if (!json_object_object_get_ex(j, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

bool json_get_u32(struct json_object *j, const char *key, uint32_t *ret) {
        int64_t x;
        if (!json_get_int(j, key, &x) || x < 0 || x > UINT32_MAX)
                return false;
        *ret = (uint32_t) x;
        return true;
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                abort();
        return p;
}

void *xcalloc(size_t n, size_t m) {
        void *p = calloc(n ? n : 1, m ? m : 1);
        if (!p)
                abort();
        return p;
}

void *xrealloc(void *p, size_t n) {
        p = realloc(p, n ? n : 1);
        if (!p)
                abort();
        return p;
}

void *xgrow(void *p, size_t n, size_t size) {
        /* The capacity is implied by n (0, then 8, 16, 32, ...): growing only when n reaches
         * it keeps n appends linear, with no capacity field in the caller's struct. */
        if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
                return p;
        if (n >= SIZE_MAX / 2 / size)
                abort();
        return xrealloc(p, (n < 8 ? 8 : 2 * n) * size);
}

char *xstrdup(const char *s) {
        char *r = strdup(s ? s : "");
        if (!r)
                abort();
        return r;
}

char *xstrndup(const char *s, size_t n) {
        char *r = strndup(s, n);
        if (!r)
                abort();
        return r;
}

/* Formats of plain text and %s only (most of medic's: names joined with words) are joined
 * by hand: printf's parser costs about a thousand instructions a call, and an audit of
 * 1,000 interfaces makes ten thousand such strings. -1 when fmt has any other conversion. */
static ssize_t join_len(const char *fmt, va_list ap) {
        size_t n = 0;

        for (const char *p = fmt; *p; p++) {
                if (*p != '%') {
                        n++;
                        continue;
                }
                if (p[1] == '%') {
                        n++;
                        p++;
                } else if (p[1] == 's') {
                        const char *a = va_arg(ap, const char *);
                        n += strlen(a ? a : "(null)");
                        p++;
                } else
                        return -1;
        }
        return (ssize_t) n;
}

static void join(char *out, const char *fmt, va_list ap) {
        for (const char *p = fmt; *p; p++) {
                if (*p != '%') {
                        *out++ = *p;
                        continue;
                }
                p++;
                if (*p == '%') {
                        *out++ = '%';
                        continue;
                }
                const char *a = va_arg(ap, const char *);
                size_t l = strlen(a ? a : "(null)");
                memcpy(out, a ? a : "(null)", l);
                out += l;
        }
        *out = 0;
}

char *xvasprintf(const char *fmt, va_list ap) {
        /* Most results are short: formatted once into the stack and copied at their size,
         * where vasprintf() grows a heap buffer and shrinks it again (a describe per row of
         * 1,000 interfaces made that a tenth of an audit's user time). */
        char buf[256], *r;
        va_list again;
        ssize_t len;
        int n;

        va_copy(again, ap);
        len = join_len(fmt, again);
        va_end(again);
        if (len >= 0) {
                r = xmalloc((size_t) len + 1);
                va_copy(again, ap);
                join(r, fmt, again);
                va_end(again);
                return r;
        }
        va_copy(again, ap);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        if (n < 0)
                abort();
        if ((size_t) n < sizeof(buf)) {
                r = xmalloc((size_t) n + 1);
                memcpy(r, buf, (size_t) n + 1);
        } else if (vasprintf(&r, fmt, again) < 0)
                abort();
        va_end(again);
        return r;
}

void str_copy(char *dst, const char *s, size_t size) {
        size_t n = s ? strnlen(s, size - 1) : 0;

        memcpy(dst, s ? s : "", n);
        dst[n] = 0;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *r;

        va_start(ap, fmt);
        r = xvasprintf(fmt, ap);
        va_end(ap);
        return r;
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **i = v; *i; i++)
                free(*i);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int strv_push(char ***v, char *s) {
        size_t n = strv_length(*v);
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = s;
        (*v)[n + 1] = NULL;
        return 0;
}

static int strcmp_p(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **v) {
        if (v)
                qsort(v, strv_length(v), sizeof(char *), strcmp_p);
}

bool strv_contains(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (streq(v[i], s))
                        return true;
        return false;
}

bool startswith(const char *s, const char *prefix) {
        return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

int read_file(const char *path, char **ret, size_t *ret_len) {
        return read_file_at(AT_FDCWD, path, ret, ret_len);
}

int read_file_at(int dir_fd, const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 4096;
                        buf = xrealloc(buf, cap + 1);
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (!buf)
                buf = xmalloc(1);
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_line_file(const char *path, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_file(path, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

int write_string_file(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        size_t len = strlen(s);

        if (fd < 0)
                return -errno;
        /* /proc/sys parses each write(2) as a whole value: one call, no stdio buffering. */
        ssize_t n = write(fd, s, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

int fsync_dir_of(const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_close_ int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode) {
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int) getpid());
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        int r;

        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                data += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        /* The rename is durable only once the directory entry is. */
        return fsync_dir_of(path);
fail:
        unlink(tmp);
        return r;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

char *normalize_blanks(const char *s) {
        char *r = xmalloc(strlen(s) + 1), *o = r;
        bool blank = false;

        while (*s && isspace((unsigned char) *s))
                s++;
        for (; *s; s++) {
                if (isspace((unsigned char) *s)) {
                        blank = true;
                        continue;
                }
                if (blank && o != r)
                        *o++ = ' ';
                blank = false;
                *o++ = *s;
        }
        *o = 0;
        return r;
}

int boot_id(char ret[static 37]) {
        _cleanup_free_ char *s = NULL;
        int r = read_line_file("/proc/sys/kernel/random/boot_id", &s);
        if (r < 0)
                return r;
        str_copy(ret, s, 37);
        return 0;
}

void rfc3339_from(int64_t unix_sec, char ret[static 40]) {
        time_t t = (time_t) unix_sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ret, 40, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void rfc3339_now(char ret[static 40]) {
        struct timespec ts;
        struct tm tm;
        char base[32];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ret, 40, "%.30s.%03dZ", base, (int) (ts.tv_nsec / 1000000) % 1000);
}

int64_t now_realtime_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t now_monotonic_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

int parse_uint(const char *s, unsigned long long max, unsigned long long *ret) {
        char *end;
        unsigned long long v;

        if (!s || !*s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE || v > max)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

void test_hooks_scrub(void) {
#ifndef MEDIC_TEST_HOOKS
        char **w = environ;

        /* Compacted in place: unsetenv() matches only "NAME=" entries, and execve()
         * accepts any string, so a loop of unsetenv() calls could spin on a bare one. */
        for (char **r = environ; r && *r; r++)
                if (!startswith(*r, "MEDIC_"))
                        *w++ = *r;
        if (w)
                *w = NULL;
#endif
}

void test_fault_point(unsigned items_done) {
        const char *e = test_hook("MEDIC_TEST_CRASH_AFTER");
        unsigned long long n;

        /* Lets the tests prove that an interrupted apply is restored by the next run. */
        if (e && parse_uint(e, UINT_MAX, &n) >= 0 && items_done == n)
                raise(SIGKILL);
}

/* SHA-256 (FIPS 180-4), used only to fingerprint policies in the journal and audit log. */
static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_blocks_c(uint32_t h[8], const uint8_t *p, size_t n) {
        for (; n > 0; n--, p += 64) {
                uint32_t w[64], a, b, c, d, e, f, g, k;

                for (int i = 0; i < 16; i++)
                        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 |
                               (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
                for (int i = 16; i < 64; i++) {
                        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
                        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
                        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
                }
                a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
                for (int i = 0; i < 64; i++) {
                        uint32_t t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
                        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                        k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
                }
                h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
        }
}

#if defined(__x86_64__)
/* The x86 SHA extensions: a policy of a few KB is ~100 blocks, ~4,000 instructions each in
 * C, a twentieth of an audit; a round pair is one instruction here. The state is kept as
 * the instructions want it: ABEF and CDGH. */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_blocks_ni(uint32_t h[8], const uint8_t *p, size_t n) {
        const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
        __m128i dcba = _mm_loadu_si128((const __m128i *) &h[0]), hgfe = _mm_loadu_si128((const __m128i *) &h[4]);
        __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1), efgh = _mm_shuffle_epi32(hgfe, 0x1b);
        __m128i abef = _mm_alignr_epi8(cdab, efgh, 8), cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);

        for (; n > 0; n--, p += 64) {
                __m128i abef0 = abef, cdgh0 = cdgh, m[4], x;

                for (int g = 0; g < 16; g++) {
                        if (g < 4)
                                m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (p + 16 * g)), bswap);
                        else {
                                /* Words 4g..4g+3 from the four groups before: w[t-16] and
                                 * sigma0(w[t-15]) (msg1), w[t-7] (alignr), sigma1(w[t-2]) (msg2). */
                                __m128i w16 = _mm_sha256msg1_epu32(m[g % 4], m[(g + 1) % 4]);
                                __m128i w7 = _mm_alignr_epi8(m[(g + 3) % 4], m[(g + 2) % 4], 4);
                                m[g % 4] = _mm_sha256msg2_epu32(_mm_add_epi32(w16, w7), m[(g + 3) % 4]);
                        }
                        x = _mm_add_epi32(m[g % 4], _mm_loadu_si128((const __m128i *) &K[4 * g]));
                        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, x);
                        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(x, 0x0e));
                }
                abef = _mm_add_epi32(abef, abef0);
                cdgh = _mm_add_epi32(cdgh, cdgh0);
        }
        __m128i feba = _mm_shuffle_epi32(abef, 0x1b), dchg = _mm_shuffle_epi32(cdgh, 0xb1);
        _mm_storeu_si128((__m128i *) &h[0], _mm_blend_epi16(feba, dchg, 0xf0));
        _mm_storeu_si128((__m128i *) &h[4], _mm_alignr_epi8(dchg, feba, 8));
}

bool sha256_fast(void) {
        static int have = -1;
        unsigned a, b, c, d;

        if (have < 0)
                /* SHA (CPUID.7.0:EBX[29]), SSE4.1 and SSSE3 (CPUID.1:ECX[19], [9]). */
                have = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)) &&
                       __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9));
        return have;
}
#else
bool sha256_fast(void) {
        return false;
}
#endif

static void sha256_with(void (*blocks)(uint32_t h[8], const uint8_t *p, size_t n), const void *data, size_t len,
                        char ret[static 65]) {
        static const char hex[] = "0123456789abcdef";
        uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
        const uint8_t *p = data;
        uint8_t tail[128] = { 0 };
        size_t rest = len % 64, tail_len;
        uint64_t bits = (uint64_t) len * 8;

        if (len >= 64)
                blocks(h, p, len / 64);
        if (rest)
                memcpy(tail, p + len - rest, rest);
        tail[rest] = 0x80;
        tail_len = rest < 56 ? 64 : 128;
        for (int i = 0; i < 8; i++)
                tail[tail_len - 1 - i] = (uint8_t) (bits >> (8 * i));
        blocks(h, tail, tail_len / 64);
        for (int i = 0; i < 64; i++)
                ret[i] = hex[(h[i / 8] >> (28 - 4 * (i % 8))) & 0xf];
        ret[64] = 0;
}

void sha256_hex_c(const void *data, size_t len, char ret[static 65]) {
        sha256_with(sha256_blocks_c, data, len, ret);
}

void sha256_hex(const void *data, size_t len, char ret[static 65]) {
#if defined(__x86_64__)
        if (sha256_fast()) {
                sha256_with(sha256_blocks_ni, data, len, ret);
                return;
        }
#endif
        sha256_with(sha256_blocks_c, data, len, ret);
}
