/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sysctl: kernel parameters through /proc/sys. net.* keys are per network namespace: medic
 * acts on the namespace it runs in. */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/stat.h>

#include "../agent/ynode.h"
#include "action.h"

/* A sysctl state is what the policy writes: keys and their values. A parsed action holds
 * every key it sets; a planned, read or journalled state holds one. Its JSON is the
 * policy's own map, {"net.ipv4.tcp_keepalive_time": "7200"}. */
struct sysctl_entry {
        char *key;   /* dotted: net.ipv4.tcp_keepalive_time */
        char *value; /* blanks normalised: the kernel prints some values with tabs */
        const struct ynode *at; /* parsed states: the key's position, for claims */
};

struct sysctl_state {
        struct sysctl_entry *e;
        size_t n;
};

static void entry_add(struct sysctl_state *s, const char *key, const char *value, const struct ynode *at) {
        s->e = xrealloc(s->e, (s->n + 1) * sizeof(*s->e));
        s->e[s->n++] = (struct sysctl_entry) { .key = xstrdup(key), .value = normalize_blanks(value), .at = at };
}

static struct sysctl_state *state_new(const char *key, const char *value) {
        struct sysctl_state *s = xcalloc(1, sizeof(*s));
        entry_add(s, key, value, NULL);
        return s;
}

static void sysctl_free(void *p) {
        struct sysctl_state *s = p;
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++) {
                free(s->e[i].key);
                free(s->e[i].value);
        }
        free(s->e);
        free(s);
}

static const struct sysctl_entry *entry_find(const struct sysctl_state *s, const char *key) {
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->e[i].key, key))
                        return &s->e[i];
        return NULL;
}

/* [a-z0-9_-] segments joined by dots: never a path (no '/', no '..'), so a key cannot
 * name a file outside /proc/sys. */
static bool valid_key(const char *k) {
        size_t seg = 0, n = strlen(k);

        if (n == 0 || n > 255)
                return false;
        for (const char *c = k; *c; c++) {
                if (*c == '.') {
                        if (seg == 0)
                                return false;
                        seg = 0;
                        continue;
                }
                if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '_' && *c != '-')
                        return false;
                seg++;
        }
        return seg > 0;
}

static int sysctl_parse(const struct ynode *node, const struct policy *pol _unused_, void **ret_state,
                        struct perr *err) {
        struct sysctl_state *s;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "sysctl", err) < 0)
                return -EINVAL;
        if (node->n == 0) {
                perr_add(err, node, "sysctl: needs at least one key");
                return -EINVAL;
        }
        s = xcalloc(1, sizeof(*s));
        for (size_t i = 0; i < node->n; i++) {
                const struct ynode *k = node->keys[i], *v = node->vals[i];
                _cleanup_free_ char *norm = NULL;

                if (!valid_key(k->value)) {
                        perr_add(err, k, "sysctl: '%s' is not a sysctl key (dot-separated [a-z0-9_-] segments, like net.ipv4.tcp_keepalive_time)",
                                 k->value);
                        r = -EINVAL;
                        continue;
                }
                if (v->type != YNODE_SCALAR) {
                        perr_add(err, v, "sysctl.%s: expected a value, got %s", k->value,
                                 ynode_type_name(v->type));
                        r = -EINVAL;
                        continue;
                }
                norm = normalize_blanks(v->value);
                if (!norm[0] || strlen(v->value) > 4096) {
                        perr_add(err, v, "sysctl.%s: value must be 1-4096 bytes and not blank", k->value);
                        r = -EINVAL;
                        continue;
                }
                entry_add(s, k->value, norm, k);
        }
        if (r < 0) {
                sysctl_free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

static void sysctl_claims(const void *state, claim_fn fn, void *userdata) {
        const struct sysctl_state *s = state;
        for (size_t i = 0; i < s->n; i++)
                fn(userdata, s->e[i].key, s->e[i].value, s->e[i].at);
}

static int sysctl_plan(struct ctx *ctx _unused_, const void *state, struct plan_list *out) {
        const struct sysctl_state *s = state;
        for (size_t i = 0; i < s->n; i++)
                plan_list_add(out, xstrdup(s->e[i].key), state_new(s->e[i].key, s->e[i].value), NULL);
        return 0;
}

static uint64_t sysctl_caps(const void *state) {
        const struct sysctl_state *s = state;
        uint64_t caps = 0;

        /* The net.* tables let CAP_NET_ADMIN write as root would (net_ctl_permissions);
         * elsewhere handlers that guard a value check CAP_SYS_ADMIN. */
        if (!s)
                return CAP_TO_MASK(CAP_NET_ADMIN) | CAP_TO_MASK(CAP_SYS_ADMIN);
        for (size_t i = 0; i < s->n; i++)
                caps |= startswith(s->e[i].key, "net.") ? CAP_TO_MASK(CAP_NET_ADMIN) : CAP_TO_MASK(CAP_SYS_ADMIN);
        return caps;
}

static char *key_path(const char *key) {
        char *p = xasprintf("/proc/sys/%s", key);
        for (char *c = p + strlen("/proc/sys/"); *c; c++)
                if (*c == '.')
                        *c = '/';
        return p;
}

/* Reads the one key a planned or journalled state names. */
static int sysctl_read(struct ctx *ctx, const void *state, void **ret_have) {
        const struct sysctl_state *want = state;
        _cleanup_free_ char *path = key_path(want->e[0].key), *text = NULL;
        int r;

        r = read_file(path, &text, NULL);
        if (r == -ENOENT) {
                ctx_fail(ctx, "no such sysctl on this kernel (%s)", path);
                return r;
        }
        if (r == -EACCES || r == -EPERM) {
                ctx_fail(ctx, "cannot read %s (permission denied)", path);
                return r;
        }
        if (r < 0) {
                ctx_fail(ctx, "cannot read %s: %s", path, strerror(-r));
                return r;
        }
        *ret_have = state_new(want->e[0].key, text);
        return 0;
}

/* The same keys with the same values: symmetric, so it also compares two wanted states. */
static bool sysctl_same(const void *a, const void *b) {
        const struct sysctl_state *x = a, *y = b;

        if (x->n != y->n)
                return false;
        for (size_t i = 0; i < x->n; i++) {
                const struct sysctl_entry *o = entry_find(y, x->e[i].key);
                if (!o || !streq(o->value, x->e[i].value))
                        return false;
        }
        return true;
}

static int sysctl_apply(struct ctx *ctx, const void *want, const void *have _unused_) {
        const struct sysctl_state *s = want;
        const struct sysctl_entry *w = &s->e[0];
        _cleanup_free_ char *path = key_path(w->key);
        int r = write_string_file(path, w->value);

        if (r == -EINVAL)
                ctx_fail(ctx, "the kernel refused '%s' (EINVAL: out of range or malformed)", w->value);
        else if (r == -EACCES || r == -EPERM)
                ctx_fail(ctx, "cannot write %s (%s)", path, strerror(-r));
        else if (r < 0)
                ctx_fail(ctx, "writing %s: %s", path, strerror(-r));
        return r;
}

/* Boot-time value: what systemd-sysctl would set. Files from /etc, /run, /usr/local/lib,
 * /usr/lib and /lib sysctl.d, where a file name in an earlier directory masks the same
 * name in a later one; all files sorted by name, later assignments win; /etc/sysctl.conf
 * (read by procps' sysctl --system) last. */
struct boot_value {
        char *value;      /* the last explicit assignment */
        char *where;      /* file:line */
        char *glob_value; /* the last glob assignment that matches */
        char *glob_where;
        bool excluded;    /* "-key" without "=": no glob applies to it */
};

static bool is_glob(const char *k) {
        return strpbrk(k, "*?[") != NULL;
}

/* systemd-sysctl matches globs against /proc/sys paths: '*' stops at a separator. */
static bool glob_matches(const char *pattern, const char *key) {
        _cleanup_free_ char *p = xstrdup(pattern), *k = xstrdup(key);
        for (char *c = p; *c; c++)
                *c = *c == '.' ? '/' : *c;
        for (char *c = k; *c; c++)
                *c = *c == '.' ? '/' : *c;
        return fnmatch(p, k, FNM_PATHNAME) == 0;
}

static void set_pair(char **value, char **where, const char *v, const char *display, unsigned line) {
        free(*value);
        free(*where);
        *value = normalize_blanks(v);
        *where = xasprintf("%s:%u", display, line);
}

/* One boot-time file's text (conf), for key. */
static void parse_conf(const char *conf, const char *display, const char *key, struct boot_value *bv) {
        _cleanup_free_ char *text = xstrdup(conf);
        unsigned line = 0;

        for (char *l = text, *next; l; l = next) {
                next = strchr(l, '\n');
                if (next)
                        *next++ = 0;
                line++;
                while (isspace((unsigned char) *l))
                        l++;
                if (!*l || *l == '#' || *l == ';')
                        continue;
                char *eq = strchr(l, '=');
                if (eq)
                        *eq = 0;
                _cleanup_free_ char *k = normalize_blanks(l[0] == '-' ? l + 1 : l);
                /* "net/ipv4/x" is the same key as "net.ipv4.x" when '/' comes first. */
                size_t first = strcspn(k, "./");
                if (k[first] == '/')
                        for (char *c = k; *c; c++)
                                *c = *c == '/' ? '.' : *c == '.' ? '/' : *c;
                if (!eq) {
                        /* "-key" alone keeps globs off that key. */
                        if (l[0] == '-' && streq(k, key))
                                bv->excluded = true;
                        continue;
                }
                if (is_glob(k)) {
                        if (glob_matches(k, key))
                                set_pair(&bv->glob_value, &bv->glob_where, eq + 1, display, line);
                } else if (streq(k, key))
                        set_pair(&bv->value, &bv->where, eq + 1, display, line);
        }
}

/* An explicit assignment wins over any glob, whatever the file order (sysctl.d(5)). */
static void boot_value_resolve(struct boot_value *bv) {
        if (!bv->value && bv->glob_value && !bv->excluded) {
                bv->value = TAKE_PTR(bv->glob_value);
                bv->where = TAKE_PTR(bv->glob_where);
        }
        free(bv->glob_value);
        free(bv->glob_where);
        bv->glob_value = bv->glob_where = NULL;
}

struct conf_file {
        char *name;
        const char *dir;
};

static int cmp_conf(const void *a, const void *b) {
        return strcmp(((const struct conf_file *) a)->name, ((const struct conf_file *) b)->name);
}

/* The kind's run (run_new/run_free): the boot-time files in the order systemd-sysctl
 * reads them, each read once, however many keys a policy sets. */
struct sysctl_run {
        bool loaded;
        size_t n;
        struct boot_file {
                char *display; /* "/etc/sysctl.d/99-x.conf" */
                char *text;
        } *f;
};

static void *sysctl_run_new(void) {
        return xcalloc(1, sizeof(struct sysctl_run));
}

static void sysctl_run_free(void *p) {
        struct sysctl_run *run = p;

        for (size_t i = 0; i < run->n; i++) {
                free(run->f[i].display);
                free(run->f[i].text);
        }
        free(run->f);
        free(run);
}

/* Takes display; a file that cannot be read sets nothing, as for systemd-sysctl. */
static void boot_file_add(struct sysctl_run *run, char *display, const char *path) {
        char *text = NULL;

        if (read_file(path, &text, NULL) < 0) {
                free(display);
                return;
        }
        run->f = xgrow(run->f, run->n, sizeof(*run->f));
        run->f[run->n++] = (struct boot_file) { display, text };
}

static void boot_files_load(struct sysctl_run *run, const char *root) {
        static const char *const dirs[] = { "/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d",
                                            "/usr/lib/sysctl.d", "/lib/sysctl.d", NULL };
        _cleanup_strv_ char **real = NULL;
        struct conf_file *files = NULL;
        size_t n = 0;

        run->loaded = true;
        /* Directories in precedence order: the first one to have a file name owns it. */
        for (const char *const *d = dirs; *d; d++) {
                _cleanup_free_ char *dir = xasprintf("%s%s", root, *d);
                DIR *dh = opendir(dir);
                struct dirent *de;
                if (!dh)
                        continue;
                while ((de = readdir(dh))) {
                        size_t len = strlen(de->d_name);
                        bool seen = false;
                        if (len <= 5 || !streq(de->d_name + len - 5, ".conf"))
                                continue;
                        for (size_t i = 0; i < n; i++)
                                seen = seen || streq(files[i].name, de->d_name);
                        if (seen)
                                continue;
                        files = xrealloc(files, (n + 1) * sizeof(*files));
                        files[n++] = (struct conf_file) { .name = xstrdup(de->d_name), .dir = *d };
                }
                closedir(dh);
        }
        if (n > 1)
                qsort(files, n, sizeof(*files), cmp_conf);
        for (size_t i = 0; i < n; i++) {
                char *display = xasprintf("%s/%s", files[i].dir, files[i].name);
                _cleanup_free_ char *path = xasprintf("%s%s", root, display);
                char *rp = realpath(path, NULL);
                if (rp)
                        strv_push(&real, rp);
                boot_file_add(run, display, path);
                free(files[i].name);
        }
        free(files);
        /* Debian links /etc/sysctl.d/99-sysctl.conf to it: read it once. */
        _cleanup_free_ char *conf = xasprintf("%s/etc/sysctl.conf", root);
        _cleanup_free_ char *rp = realpath(conf, NULL);
        if (rp && !strv_contains(real, rp))
                boot_file_add(run, xstrdup("/etc/sysctl.conf"), conf);
}

static void boot_value_of(struct sysctl_run *run, const char *root, const char *key, struct boot_value *bv) {
        if (!run->loaded)
                boot_files_load(run, root);
        for (size_t i = 0; i < run->n; i++)
                parse_conf(run->f[i].text, run->f[i].display, key, bv);
        boot_value_resolve(bv);
}

static void sysctl_notes(struct ctx *ctx, const void *want, const void *have _unused_, char ***notes) {
        const struct sysctl_entry *w = &((const struct sysctl_state *) want)->e[0];
        struct boot_value bv = { 0 };

        boot_value_of(ctx_run(ctx, &sysctl_ops), ctx->root ? ctx->root : "", w->key, &bv);
        if (bv.value && !streq(bv.value, w->value))
                strv_push(notes, xasprintf("runtime-only fix: %s sets %s at boot; write %s = %s there to keep it",
                                           bv.where, bv.value, w->key, w->value));
        else if (!bv.value)
                strv_push(notes, xasprintf("runtime-only fix: no sysctl.d file sets it; add '%s = %s' to /etc/sysctl.d/ to keep it after reboot",
                                           w->key, w->value));
        free(bv.value);
        free(bv.where);

        if (startswith(w->key, "net.ipv4.tcp_keepalive_"))
                strv_push(notes, xstrdup("etcd (a Go program) sets TCP_KEEPIDLE/TCP_KEEPINTVL (15 s) on its own sockets; this value reaches only sockets that do not set their own (other programs' connections), not etcd's"));
}

/* A planned or read state: its value, as audit shows it; a parsed one: "key = value, ...". */
static char *sysctl_describe(const void *state) {
        const struct sysctl_state *s = state;
        char *text = NULL;

        if (s->n == 1)
                return xstrdup(s->e[0].value);
        for (size_t i = 0; i < s->n; i++) {
                text_append(&text, ", ", "%s = %s", s->e[i].key, s->e[i].value);
        }
        return text ? text : xstrdup("");
}

static int sysctl_to_json(const void *state, struct json_object **ret) {
        const struct sysctl_state *s = state;
        struct json_object *j = json_object_new_object();
        for (size_t i = 0; i < s->n; i++)
                json_object_object_add(j, s->e[i].key, json_object_new_string(s->e[i].value));
        *ret = j;
        return 0;
}

/* Every sysctl sits under a table (net., vm., kernel.): a journalled key has a dot. */
static bool journal_key(const char *k) {
        return valid_key(k) && strchr(k, '.');
}

/* The policy's map; or {"key": K, "value": V}, the form journals of medic before the
 * policy's form hold (a set may be open across an upgrade). No sysctl is named "key" or
 * "value", so the two cannot be mistaken for each other. */
static int sysctl_from_json(struct json_object *j, void **ret_state) {
        struct json_object *k, *v;
        struct sysctl_state *s;

        if (!json_object_is_type(j, json_type_object) || json_object_object_length(j) == 0)
                return -EBADMSG;
        if (json_object_object_length(j) == 2 && json_object_object_get_ex(j, "key", &k) &&
            json_object_object_get_ex(j, "value", &v)) {
                if (!json_object_is_type(k, json_type_string) || !json_object_is_type(v, json_type_string) ||
                    !journal_key(json_object_get_string(k)))
                        return -EBADMSG;
                *ret_state = state_new(json_object_get_string(k), json_object_get_string(v));
                return 0;
        }
        s = xcalloc(1, sizeof(*s));
        json_object_object_foreach(j, key, val) {
                if (!journal_key(key) || !json_object_is_type(val, json_type_string)) {
                        sysctl_free(s);
                        return -EBADMSG;
                }
                entry_add(s, key, json_object_get_string(val), NULL);
        }
        *ret_state = s;
        return 0;
}

const struct action_ops sysctl_ops = {
        .kind = "sysctl",
        .parse = sysctl_parse,
        .claims = sysctl_claims,
        .plan = sysctl_plan,
        .caps = sysctl_caps,
        .read = sysctl_read,
        .same = sysctl_same,
        .apply = sysctl_apply,
        .notes = sysctl_notes,
        .describe = sysctl_describe,
        .to_json = sysctl_to_json,
        .from_json = sysctl_from_json,
        .free = sysctl_free,
        .run_new = sysctl_run_new,
        .run_free = sysctl_run_free,
};
