/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <sys/mount.h>

#include "mountinfo.h"

static bool is_octal(char c) {
        return c >= '0' && c <= '7';
}

char *mount_unescape(const char *s, size_t n) {
        char *out = xmalloc(n + 1), *o = out;

        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\\' && i + 3 < n && is_octal(s[i + 1]) &&
                    is_octal(s[i + 2]) && is_octal(s[i + 3])) {
                        unsigned v = (unsigned) (s[i + 1] - '0') * 64 + (unsigned) (s[i + 2] - '0') * 8 +
                                     (unsigned) (s[i + 3] - '0');
                        /* \000 would cut the string short; the kernel never writes it. */
                        if (v > 0 && v < 256) {
                                *o++ = (char) v;
                                i += 3;
                                continue;
                        }
                }
                *o++ = s[i];
        }
        *o = 0;
        return out;
}

char *mount_escape(const char *s) {
        char *out = xmalloc(strlen(s) * 4 + 1), *o = out;

        for (; *s; s++) {
                if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\\') {
                        sprintf(o, "\\%03o", (unsigned) (unsigned char) *s);
                        o += 4;
                } else
                        *o++ = *s;
        }
        *o = 0;
        return out;
}

void mount_entry_done(struct mount_entry *e) {
        free(e->root);
        free(e->mount_point);
        free(e->options);
        free(e->fstype);
        free(e->source);
        free(e->super_options);
        *e = (struct mount_entry) { 0 };
}

/* The next blank-separated field of *p, or NULL at the end of the line. */
static const char *next_field(const char **p, size_t *len) {
        const char *s = *p;

        while (*s == ' ')
                s++;
        if (!*s || *s == '\n')
                return NULL;
        *len = strcspn(s, " \n");
        *p = s + *len;
        return s;
}

static bool parse_u64(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n == 0 || n > 19)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        *ret = v;
        return true;
}

int mountinfo_parse_line(const char *line, struct mount_entry *ret) {
        struct mount_entry e = { 0 };
        const char *p = line, *f[6];
        size_t n[6], len;
        uint64_t major, minor;
        const char *colon;

        /* id parent major:minor root mount-point options [optional...] - type source super */
        for (int i = 0; i < 6; i++)
                if (!(f[i] = next_field(&p, &n[i])))
                        return -EBADMSG;
        colon = memchr(f[2], ':', n[2]);
        if (!parse_u64(f[0], n[0], &e.id) || !parse_u64(f[1], n[1], &e.parent) || !colon ||
            !parse_u64(f[2], (size_t) (colon - f[2]), &major) ||
            !parse_u64(colon + 1, n[2] - (size_t) (colon - f[2]) - 1, &minor) || major > UINT32_MAX ||
            minor > UINT32_MAX)
                return -EBADMSG;
        e.major = (unsigned) major;
        e.minor = (unsigned) minor;
        for (;;) {
                const char *opt = next_field(&p, &len);
                if (!opt)
                        return -EBADMSG;
                if (len == 1 && opt[0] == '-')
                        break;
        }
        const char *t, *src, *sup;
        size_t nt, nsrc, nsup = 0;
        if (!(t = next_field(&p, &nt)) || !(src = next_field(&p, &nsrc)))
                return -EBADMSG;
        sup = next_field(&p, &nsup);
        e.root = mount_unescape(f[3], n[3]);
        e.mount_point = mount_unescape(f[4], n[4]);
        e.options = xstrndup(f[5], n[5]);
        e.fstype = mount_unescape(t, nt);
        e.source = mount_unescape(src, nsrc);
        e.super_options = sup ? mount_unescape(sup, nsup) : xstrdup("");
        *ret = e;
        return 0;
}

/* Calls fn for each line's id until it returns true; the line is passed on. */
static const char *find_line(const char *text, bool (*fn)(uint64_t id, const void *ud), const void *ud) {
        for (const char *l = text; l && *l;) {
                const char *end = strchr(l, '\n');
                size_t n = strcspn(l, " \n");
                uint64_t id;
                if (parse_u64(l, n, &id) && fn(id, ud))
                        return l;
                l = end ? end + 1 : NULL;
        }
        return NULL;
}

static bool id_is(uint64_t id, const void *ud) {
        return id == *(const uint64_t *) ud;
}

int mountinfo_find_id(const char *text, uint64_t id, struct mount_entry *ret) {
        const char *l = find_line(text, id_is, &id);
        _cleanup_free_ char *line = NULL;

        if (!l)
                return -ENOENT;
        line = xstrndup(l, strcspn(l, "\n"));
        return mountinfo_parse_line(line, ret);
}

bool mountinfo_has_id(const char *text, uint64_t id) {
        return find_line(text, id_is, &id) != NULL;
}


/* Is mount point mp a path prefix of path ("/" of everything, "/var" of "/var/lib")? */
static size_t prefix_len(const char *mp, const char *path) {
        size_t n = strlen(mp);

        if (streq(mp, "/"))
                return 1;
        if (strncmp(mp, path, n) != 0 || (path[n] != '/' && path[n] != 0))
                return 0;
        return n;
}

int mountinfo_find_path(const char *text, const char *path, struct mount_entry *ret) {
        struct mount_entry best = { 0 };
        size_t best_len = 0;

        for (const char *l = text; l && *l;) {
                const char *end = strchr(l, '\n');
                _cleanup_free_ char *line = xstrndup(l, end ? (size_t) (end - l) : strlen(l));
                struct mount_entry e;
                size_t n;

                l = end ? end + 1 : NULL;
                if (mountinfo_parse_line(line, &e) < 0)
                        continue;
                n = prefix_len(e.mount_point, path);
                /* ">=": mountinfo lists mounts in the order they were made, so of two
                 * mounts on one point the later one is on top. */
                if (n > 0 && n >= best_len) {
                        mount_entry_done(&best);
                        best = e;
                        best_len = n;
                } else
                        mount_entry_done(&e);
        }
        if (best_len == 0)
                return -ENOENT;
        *ret = best;
        return 0;
}

/* ---- atime ---- */

const char *atime_mode_name(enum atime_mode m) {
        switch (m) {
        case ATIME_RELATIME:
                return "relatime";
        case ATIME_NOATIME:
                return "noatime";
        case ATIME_STRICTATIME:
                return "strictatime";
        case ATIME_UNSET:
        case _ATIME_MODE_MAX:
                break;
        }
        return NULL;
}

bool atime_apply_word(struct atime *a, const char *word) {
        for (enum atime_mode m = ATIME_RELATIME; m < _ATIME_MODE_MAX; m++)
                if (streq(word, atime_mode_name(m))) {
                        a->mode = m;
                        return true;
                }
        if (streq(word, "nodiratime")) {
                a->dir = DIRATIME_OFF;
                return true;
        }
        if (streq(word, "diratime")) {
                a->dir = DIRATIME_ON;
                return true;
        }
        /* mount(8): norelatime and nostrictatime fall back to the kernel default, relatime. */
        if (streq(word, "norelatime") || streq(word, "nostrictatime")) {
                a->mode = ATIME_RELATIME;
                return true;
        }
        if (streq(word, "atime")) {
                /* "atime" only undoes noatime: the kernel default, relatime. */
                a->mode = ATIME_RELATIME;
                return true;
        }
        return false;
}

char *atime_describe(const struct atime *a) {
        const char *mode = a->mode == ATIME_UNSET ? NULL : atime_mode_name(a->mode);
        const char *dir = a->dir == DIRATIME_OFF                          ? "nodiratime"
                          : a->dir == DIRATIME_ON && a->mode == ATIME_UNSET ? "diratime"
                                                                          : NULL;
        if (mode && dir)
                return xasprintf("%s,%s", mode, dir);
        return xstrdup(mode ? mode : dir ? dir : "-");
}

bool atime_satisfies(const struct atime *want, const struct atime *have) {
        if (want->mode != ATIME_UNSET && want->mode != have->mode)
                return false;
        if (want->dir != DIRATIME_UNSET && want->dir != have->dir)
                return false;
        return true;
}

struct atime atime_merge(const struct atime *have, const struct atime *want) {
        return (struct atime) {
                .mode = want->mode != ATIME_UNSET ? want->mode : have->mode,
                .dir = want->dir != DIRATIME_UNSET ? want->dir : have->dir,
        };
}

int mount_options_parse(const char *opts, struct atime *ret_atime, unsigned long *ret_ms) {
        static const struct {
                const char *word;
                unsigned long ms;
        } flags[] = {
                { "ro", MS_RDONLY },      { "nosuid", MS_NOSUID },         { "nodev", MS_NODEV },
                { "noexec", MS_NOEXEC },  { "nosymfollow", MS_NOSYMFOLLOW },
        };
        _cleanup_free_ char *copy = xstrdup(opts);
        struct atime a = { .mode = ATIME_STRICTATIME, .dir = DIRATIME_ON };
        unsigned long ms = 0;
        bool rw_seen = false;
        char *save = NULL;

        /* show_mnt_opts() prints noatime or relatime; neither is strictatime. */
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                if (atime_apply_word(&a, w))
                        continue;
                rw_seen = rw_seen || streq(w, "rw") || streq(w, "ro");
                for (size_t i = 0; i < ELEMENTSOF(flags); i++)
                        if (streq(w, flags[i].word))
                                ms |= flags[i].ms;
        }
        /* Every per-mount option string says rw or ro: anything else is not one. */
        if (!rw_seen)
                return -EBADMSG;
        *ret_atime = a;
        *ret_ms = ms;
        return 0;
}

unsigned long atime_ms_flags(const struct atime *a) {
        unsigned long ms = a->dir == DIRATIME_OFF ? MS_NODIRATIME : 0;

        switch (a->mode) {
        case ATIME_RELATIME:
                return ms | MS_RELATIME;
        case ATIME_NOATIME:
                return ms | MS_NOATIME;
        case ATIME_STRICTATIME:
                return ms | MS_STRICTATIME;
        case ATIME_UNSET:
        case _ATIME_MODE_MAX:
                break;
        }
        return ms;
}

void atime_mount_attr(const struct atime *a, uint64_t *ret_set, uint64_t *ret_clr) {
        uint64_t set = a->dir == DIRATIME_OFF ? MOUNT_ATTR_NODIRATIME : 0;

        switch (a->mode) {
        case ATIME_RELATIME:
                set |= MOUNT_ATTR_RELATIME;
                break;
        case ATIME_NOATIME:
                set |= MOUNT_ATTR_NOATIME;
                break;
        case ATIME_STRICTATIME:
                set |= MOUNT_ATTR_STRICTATIME;
                break;
        case ATIME_UNSET:
        case _ATIME_MODE_MAX:
                break;
        }
        *ret_set = set;
        /* The atime mode is a 3-bit field, not a flag: the kernel refuses (EINVAL) a new
         * mode unless the whole field is cleared in the same call. */
        *ret_clr = MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME;
}

char *mount_other_options(const char *opts) {
        _cleanup_free_ char *copy = xstrdup(opts);
        char *out = xstrdup(""), *save = NULL;

        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                struct atime a = { ATIME_UNSET, DIRATIME_UNSET };
                if (atime_apply_word(&a, w))
                        continue;
                char *t = xasprintf("%s%s%s", out, *out ? "," : "", w);
                free(out);
                out = t;
        }
        return out;
}
