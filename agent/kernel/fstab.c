/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <mntent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fstab.h"

void fstab_free(struct fstab_entry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].spec);
                free(e[i].file);
                free(e[i].type);
                free(e[i].opts);
        }
        free(e);
}

int fstab_read(const char *path, struct fstab_entry **ret, size_t *ret_n) {
        _cleanup_free_ char *text = NULL;
        struct fstab_entry *v = NULL;
        size_t len, n = 0, counted = 0;
        unsigned line = 1;
        struct mntent me;
        char buf[4096];
        FILE *f;
        int r;

        r = read_file(path, &text, &len);
        if (r < 0)
                return r;
        /* getmntent decodes \040 and skips comments, but does not say where a line was:
         * read from memory and count newlines up to the stream position. */
        f = fmemopen(text, len ? len : 1, "r");
        if (!f)
                return -errno;
        while (getmntent_r(f, &me, buf, sizeof buf)) {
                long end = ftell(f);
                size_t stop = end > 0 ? (size_t) end - 1 : 0;
                for (; counted < stop && counted < len; counted++)
                        line += text[counted] == '\n';
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = (struct fstab_entry) {
                        .spec = xstrdup(me.mnt_fsname), .file = xstrdup(me.mnt_dir),
                        .type = xstrdup(me.mnt_type), .opts = xstrdup(me.mnt_opts),
                        .freq = me.mnt_freq, .passno = me.mnt_passno, .line = line,
                };
        }
        fclose(f);
        *ret = v;
        *ret_n = n;
        return 0;
}

int fstab_spec_dev(const char *root, const char *spec, dev_t *ret) {
        static const struct {
                const char *tag, *dir;
        } tags[] = {
                { "UUID=", "by-uuid" }, { "LABEL=", "by-label" },
                { "PARTUUID=", "by-partuuid" }, { "PARTLABEL=", "by-partlabel" },
        };
        _cleanup_free_ char *path = NULL;
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(tags) && !path; i++) {
                if (!startswith(spec, tags[i].tag))
                        continue;
                const char *v = spec + strlen(tags[i].tag);
                size_t n = strlen(v);
                /* mount(8) accepts UUID="..." too. */
                if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
                        v++, n -= 2;
                if (n == 0 || memchr(v, '/', n))
                        return -EINVAL;
                path = xasprintf("%s/dev/disk/%s/%.*s", root, tags[i].dir, (int) n, v);
        }
        if (!path) {
                if (!startswith(spec, "/dev/"))
                        return -EINVAL;
                path = xasprintf("%s%s", root, spec);
        }
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
                return -ENOTBLK;
        *ret = st.st_rdev;
        return 0;
}

/* "/var/lib/etcd/" and "/var/lib/etcd" are one mount point. */
static bool same_dir(const char *a, const char *b) {
        size_t na = strlen(a), nb = strlen(b);
        while (na > 1 && a[na - 1] == '/')
                na--;
        while (nb > 1 && b[nb - 1] == '/')
                nb--;
        return na == nb && strncmp(a, b, na) == 0;
}

int fstab_match(const struct fstab_entry *e, size_t n, const char *root, const char *mount_point,
                dev_t dev, bool *ret_by_device) {
        int by_dir = -1, by_dev = -1;

        for (size_t i = 0; i < n; i++) {
                dev_t d;
                if (streq(e[i].type, "swap"))
                        continue;
                if (same_dir(e[i].file, mount_point))
                        by_dir = (int) i;
                else if (dev != 0 && fstab_spec_dev(root, e[i].spec, &d) >= 0 && d == dev)
                        by_dev = (int) i;
        }
        if (by_dir >= 0) {
                *ret_by_device = false;
                return by_dir;
        }
        if (by_dev >= 0) {
                *ret_by_device = true;
                return by_dev;
        }
        return -ENOENT;
}

struct atime atime_from_options(const char *opts) {
        _cleanup_free_ char *copy = xstrdup(opts ? opts : "");
        struct atime a = { .mode = ATIME_RELATIME, .dir = DIRATIME_ON };
        char *save = NULL;

        /* Later words win, as mount(8) reads them. */
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
                (void) atime_apply_word(&a, w);
        return a;
}

char *options_with_atime(const char *opts, const struct atime *want) {
        _cleanup_free_ char *copy = xstrdup(opts ? opts : ""), *add = atime_describe(want);
        char *out = xstrdup(""), *save = NULL, *t;

        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                struct atime probe = { ATIME_UNSET, DIRATIME_UNSET };
                if (atime_apply_word(&probe, w) &&
                    ((probe.mode != ATIME_UNSET && want->mode != ATIME_UNSET) ||
                     (probe.dir != DIRATIME_UNSET && want->dir != DIRATIME_UNSET)))
                        continue;
                t = xasprintf("%s%s%s", out, *out ? "," : "", w);
                free(out);
                out = t;
        }
        /* fstab needs something in the field: "defaults" keeps the rest as it was. */
        t = xasprintf("%s%s", *out ? out : "defaults,", *out ? "," : "");
        free(out);
        out = xasprintf("%s%s", t, add);
        free(t);
        return out;
}

char *fstab_format(const char *spec, const char *file, const char *type, const char *opts, int freq,
                   int passno) {
        _cleanup_free_ char *s = mount_escape(spec), *f = mount_escape(file), *t = mount_escape(type),
                            *o = mount_escape(opts);
        return xasprintf("%s %s %s %s %d %d", s, f, t, o, freq, passno);
}

char *mount_unit_name(const char *mount_point) {
        const char *p = mount_point;
        char *out, *o;

        while (*p == '/')
                p++;
        if (!*p)
                return xstrdup("-.mount");
        out = xmalloc(strlen(p) * 4 + sizeof ".mount");
        o = out;
        for (; *p; p++) {
                if (*p == '/') {
                        /* "//" and a trailing '/' name the same directory. */
                        while (p[1] == '/')
                                p++;
                        if (p[1])
                                *o++ = '-';
                        continue;
                }
                if ((isalnum((unsigned char) *p) || *p == ':' || *p == '_' || *p == '.') &&
                    !(*p == '.' && o == out)) {
                        *o++ = *p;
                        continue;
                }
                sprintf(o, "\\x%02x", (unsigned) (unsigned char) *p);
                o += 4;
        }
        strcpy(o, ".mount");
        return out;
}

int mount_unit_options(const char *path, char **ret) {
        _cleanup_free_ char *text = NULL;
        char *opts = xstrdup("");
        bool in_mount = false;
        int r;

        r = read_file(path, &text, NULL);
        if (r < 0) {
                free(opts);
                return r;
        }
        for (char *l = text, *next; l; l = next) {
                next = strchr(l, '\n');
                if (next)
                        *next++ = 0;
                while (isspace((unsigned char) *l))
                        l++;
                if (*l == '[') {
                        in_mount = startswith(l, "[Mount]");
                        continue;
                }
                if (!in_mount || !startswith(l, "Options"))
                        continue;
                char *v = l + strlen("Options");
                while (*v == ' ' || *v == '\t')
                        v++;
                if (*v != '=')
                        continue;
                /* The last assignment wins (systemd.unit(5)). */
                free(opts);
                opts = normalize_blanks(v + 1);
        }
        *ret = opts;
        return 0;
}
