/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mount-options: the atime mode of the mount that holds a path (etcd's `mount -o
 * remount,noatime /var/lib/etcd`, done right).
 *
 * A bare `mount -o remount,noatime` clears nosuid/nodev/noexec, can flip a read-only mount
 * read-write, and only works when the path is itself a mount point. medic finds the mount
 * that holds the path (statx STATX_MNT_ID, matched in mountinfo), changes only its atime
 * field with mount_setattr(2), and falls back to MS_REMOUNT|MS_BIND carrying every current
 * flag on kernels without it. atime flags are per mount *and per mount namespace*: medic
 * reads and changes the namespace of PID 1 (the host's), entering it with setns(2) in a
 * short-lived child when medic itself runs in another one (a sandboxed unit). */
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "../agent/kernel/fstab.h"
#include "../agent/kernel/mountinfo.h"
#include "../agent/kernel/mountns.h"
#include "../agent/ynode.h"
#include "action.h"

/* The options a policy may set; medic never touches any other mount flag. */
static const char *const policy_words[] = { "noatime", "relatime", "strictatime", "nodiratime", "diratime", NULL };
#define WORDS_LIST "noatime, relatime, strictatime, nodiratime, diratime"

/* A mount-options state is the policy's entry (a path, the atime options) and, once
 * planned, the mount that holds the path. Its JSON is the policy's {"path", "set"} with the
 * mount under "observed". The identity fields tell a mount from one mounted later on the
 * same point, so a change to an unmounted mount is void. */
struct mnt_state {
        char *path;         /* as the policy names it, normalised */
        struct atime atime; /* wanted: only what the policy sets; read: both parts */
        const struct ynode *at; /* a parsed state: for claims */

        uint64_t mount_id;  /* planned and read: the mount (0 in a parsed state) */
        uint64_t unique_id; /* Linux 6.8+: never reused; 0 when unknown */
        char *mount_point, *source, *fstype, *root;
        unsigned major, minor;
        char *others;       /* read: the flags a change keeps, "rw,nosuid,nodev" */
};

static void mnt_free(void *p) {
        struct mnt_state *s = p;
        if (!s)
                return;
        free(s->path);
        free(s->mount_point);
        free(s->source);
        free(s->fstype);
        free(s->root);
        free(s->others);
        free(s);
}

/* ---- policy ---- */

/* "/var//lib/etcd/" → "/var/lib/etcd"; NULL for a path with "." or ".." components, which
 * would make the object two names for one directory. */
static char *normalize_path(const char *p) {
        char *out = xmalloc(strlen(p) + 2), *o = out;

        for (const char *c = p; *c;) {
                size_t n;
                while (*c == '/')
                        c++;
                n = strcspn(c, "/");
                if (n == 0)
                        break;
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
                        free(out);
                        return NULL;
                }
                *o++ = '/';
                memcpy(o, c, n);
                o += n;
                c += n;
        }
        if (o == out)
                *o++ = '/';
        *o = 0;
        return out;
}

static int parse_set(const struct ynode *v, struct atime *a, struct perr *err) {
        const struct ynode *mode_at = NULL, *dir_at = NULL;
        int r = 0;

        if (ynode_expect(v, YNODE_SEQ, "mount-options.set", err) < 0)
                return -EINVAL;
        if (v->n == 0) {
                perr_add(err, v, "mount-options.set: needs at least one atime option (" WORDS_LIST ")");
                return -EINVAL;
        }
        for (size_t i = 0; i < v->n; i++) {
                const struct ynode *it = v->vals[i];
                struct atime one = { ATIME_UNSET, DIRATIME_UNSET };
                const char *w;

                if (ynode_string(it, "mount-options.set[]", &w, err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                bool known = false;
                for (const char *const *k = policy_words; *k; k++)
                        known = known || streq(*k, w);
                if (!known || !atime_apply_word(&one, w)) {
                        perr_add(err, it, "mount-options.set: '%s' is not an atime option (" WORDS_LIST "); medic never changes other mount flags", w);
                        r = -EINVAL;
                        continue;
                }
                const struct ynode **prev = one.mode != ATIME_UNSET ? &mode_at : &dir_at;
                if (*prev) {
                        if (streq((*prev)->value, w))
                                perr_add(err, it, "mount-options.set: '%s' is listed twice", w);
                        else if (one.mode != ATIME_UNSET)
                                perr_add(err, it, "mount-options.set: '%s' and '%s' are both atime modes; a mount has one",
                                         (*prev)->value, w);
                        else
                                perr_add(err, it, "mount-options.set: '%s' contradicts '%s'", w, (*prev)->value);
                        r = -EINVAL;
                        continue;
                }
                *prev = it;
                *a = atime_merge(a, &one);
        }
        return r;
}

static int mnt_parse(const struct ynode *node, const struct policy *pol _unused_, void **ret_state, struct perr *err) {
        static const char *const keys[] = { "path", "set", NULL };
        const struct ynode *v;
        struct mnt_state *s;
        const char *str;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "mount-options", err) < 0)
                return -EINVAL;
        if (ynode_check_keys(node, "mount-options", keys, err) < 0)
                r = -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->at = node;
        s->atime = (struct atime) { ATIME_UNSET, DIRATIME_UNSET };
        if (!(v = ynode_get(node, "path"))) {
                perr_add(err, node, "mount-options: missing 'path' (the directory whose mount to change, like /var/lib/etcd)");
                r = -EINVAL;
        } else if (ynode_string(v, "mount-options.path", &str, err) < 0)
                r = -EINVAL;
        else if (str[0] != '/' || strlen(str) >= 4096) {
                perr_add(err, v, "mount-options.path: '%s' must be an absolute path", str);
                r = -EINVAL;
        } else if (!(s->path = normalize_path(str))) {
                perr_add(err, v, "mount-options.path: '%s' has a '.' or '..' component; write the path itself", str);
                r = -EINVAL;
        }
        if (!(v = ynode_get(node, "set"))) {
                perr_add(err, node, "mount-options: missing 'set' (a list of atime options: " WORDS_LIST ")");
                r = -EINVAL;
        } else if (parse_set(v, &s->atime, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                mnt_free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

/* What a state sets, in a fixed order: "noatime,diratime" differs from "noatime". */
static char *set_words(const struct atime *a) {
        const char *m = a->mode == ATIME_UNSET ? NULL : atime_mode_name(a->mode);
        const char *d = a->dir == DIRATIME_OFF ? "nodiratime" : a->dir == DIRATIME_ON ? "diratime" : NULL;
        return m && d ? xasprintf("%s,%s", m, d) : xstrdup(m ? m : d ? d : "");
}

static void mnt_claims(const void *state, claim_fn fn, void *userdata) {
        const struct mnt_state *s = state;
        _cleanup_free_ char *val = set_words(&s->atime);
        fn(userdata, s->path, val, s->at);
}

/* The host's view; on failure the reason goes to ctx (when there is one). */
static int view_open(struct ctx *ctx, struct host_view *v) {
        _cleanup_free_ char *why = NULL;
        int r = host_view_open(v, &why);
        if (r < 0 && ctx)
                ctx_fail(ctx, "%s", why);
        return r;
}

static char *mount_label(const struct mount_entry *m) {
        /* findmnt's form for a bind mount of a subdirectory: /dev/vdb[/etcd]. */
        if (!streq(m->root, "/"))
                return xasprintf("%s (%s %s[%s])", m->mount_point, m->fstype, m->source, m->root);
        return xasprintf("%s (%s %s)", m->mount_point, m->fstype, m->source);
}

static struct mnt_state *state_from_entry(const char *path, const struct mount_entry *m) {
        struct mnt_state *s = xcalloc(1, sizeof(*s));
        s->path = xstrdup(path);
        s->mount_id = m->id;
        s->mount_point = xstrdup(m->mount_point);
        s->source = xstrdup(m->source);
        s->fstype = xstrdup(m->fstype);
        s->root = xstrdup(m->root);
        s->major = m->major;
        s->minor = m->minor;
        s->atime = (struct atime) { ATIME_UNSET, DIRATIME_UNSET };
        return s;
}

static bool same_mount(const struct mnt_state *s, const struct mount_entry *m) {
        return s->mount_id == m->id && streq(s->mount_point, m->mount_point) && streq(s->source, m->source) &&
               streq(s->fstype, m->fstype) && streq(s->root, m->root) && s->major == m->major && s->minor == m->minor;
}

/* ---- plan, read, compare ---- */

static int mnt_plan(struct ctx *ctx, const void *state, struct plan_list *out) {
        const struct mnt_state *s = state;
        _cleanup_free_ char *wanted = atime_describe(&s->atime);
        struct mount_entry m = { 0 };
        uint64_t unique = 0;
        struct host_view v;
        bool by_prefix;
        int r;

        r = view_open(ctx, &v);
        if (r < 0)
                return r;
        r = host_path_mount(&v, s->path, &m, &unique, &by_prefix);
        if (r == -ENOENT || r == -ENOTDIR) {
                /* Not a crash and not "ok": the policy names a data directory this host does
                 * not have (etcd not installed yet, or another --data-dir). Say where it
                 * would land. */
                _cleanup_free_ char *parent = xstrdup(s->path), *where = NULL;
                struct mount_entry pm = { 0 };
                int q = -ENOENT;
                while (q < 0 && strlen(parent) > 1) {
                        char *slash = strrchr(parent, '/');
                        slash[slash == parent ? 1 : 0] = 0;
                        q = host_path_mount(&v, parent, &pm, &unique, &by_prefix);
                }
                if (q >= 0) {
                        _cleanup_free_ char *label = mount_label(&pm);
                        struct atime pa;
                        unsigned long ms;
                        if (mount_options_parse(pm.options, &pa, &ms) >= 0) {
                                _cleanup_free_ char *d = atime_describe(&pa);
                                where = xasprintf("; %s is on %s, which is %s", parent, label, d);
                        }
                        mount_entry_done(&pm);
                }
                plan_list_finding(out, xstrdup(s->path),
                                  xasprintf("%s does not exist on this host%s", s->path, where ? where : ""),
                                  TAKE_PTR(wanted));
                host_view_done(&v);
                return 0;
        }
        if (r < 0) {
                ctx_fail(ctx, "%s: cannot find its mount: %s%s", s->path,
                         r == -EOPNOTSUPP ? "the kernel has no statx STATX_MNT_ID (Linux 5.8)"
                         : r == -ESTALE   ? "its mount id is not in the mount table"
                                          : strerror(-r),
                         r == -EACCES ? " (a directory on the way is not searchable)" : "");
                host_view_done(&v);
                return r;
        }
        struct mnt_state *w = state_from_entry(s->path, &m);
        _cleanup_free_ char *label = mount_label(&m);
        w->atime = s->atime;
        w->unique_id = unique;
        plan_list_add(out, xasprintf("%s on %s", s->path, label), w, NULL);
        mount_entry_done(&m);
        host_view_done(&v);
        return 0;
}

/* Linux reuses mount ids: a mount unmounted and mounted again the same way can get the
 * old id, source and anonymous device. Where the kernel has ids it never reuses, the mount
 * point must still lead to the very mount recorded. (Where it cannot be reached, or on
 * older kernels, the id and the rest of the identity are all there is.) */
static bool replaced(const struct host_view *v, const struct mnt_state *s) {
        _cleanup_close_ int fd = -1;
        uint64_t id, unique;

        if (s->unique_id == 0)
                return false;
        fd = host_open(v, s->mount_point);
        if (fd < 0 || fd_mount_ids(fd, &id, &unique) < 0)
                return false;
        return id == s->mount_id && unique != 0 && unique != s->unique_id;
}

/* The mount a state names, as it is now. -ESRCH: unmounted or replaced since. */
static int find_mount(struct ctx *ctx, const struct host_view *v, const struct mnt_state *s, struct mount_entry *ret) {
        struct mount_entry m;
        int r = mountinfo_find_id(v->table, s->mount_id, &m);

        if (r == -ENOENT || (r >= 0 && (!same_mount(s, &m) || replaced(v, s)))) {
                if (r >= 0)
                        mount_entry_done(&m);
                ctx_fail(ctx, "the mount on %s (%s %s, mount id %llu) is gone: unmounted or replaced since; this change is void",
                         s->mount_point, s->fstype, s->source, (unsigned long long) s->mount_id);
                return -ESRCH;
        }
        if (r < 0) {
                ctx_fail(ctx, "reading the mount table: %s", strerror(-r));
                return r;
        }
        *ret = m;
        return 0;
}

static int mnt_read(struct ctx *ctx, const void *state, void **ret_have) {
        const struct mnt_state *s = state;
        struct mount_entry m;
        struct mnt_state *h;
        unsigned long ms;
        struct host_view v;
        int r;

        r = view_open(ctx, &v);
        if (r < 0)
                return r;
        r = find_mount(ctx, &v, s, &m);
        host_view_done(&v);
        if (r < 0)
                return r;
        h = state_from_entry(s->path, &m);
        h->unique_id = s->unique_id;
        r = mount_options_parse(m.options, &h->atime, &ms);
        h->others = mount_other_options(m.options);
        mount_entry_done(&m);
        if (r < 0) {
                ctx_fail(ctx, "cannot read the options of mount %llu", (unsigned long long) s->mount_id);
                mnt_free(h);
                return r;
        }
        *ret_have = h;
        return 0;
}

static bool mnt_same(const void *want, const void *have) {
        const struct mnt_state *w = want, *h = have;
        return w->mount_id == h->mount_id && streq(w->mount_point, h->mount_point) &&
               atime_satisfies(&w->atime, &h->atime);
}

/* Two wanted states: the same atime parts set the same way. */
static bool mnt_equal(const void *a, const void *b) {
        const struct mnt_state *x = a, *y = b;
        return x->mount_id == y->mount_id && x->atime.mode == y->atime.mode && x->atime.dir == y->atime.dir;
}

/* ---- changing it ---- */

enum step {
        STEP_DONE,
        STEP_OPEN_NS,
        STEP_SETNS,
        STEP_OPEN,
        STEP_COVERED,
        STEP_SETATTR,
        STEP_REMOUNT,
        _STEP_MAX,
};

struct outcome {
        enum step step;
        int err;
        uint64_t found_id; /* STEP_COVERED: the mount the mount point leads to now */
};

/* In a forked child: setns(2) changes the caller's root and cwd to the namespace's, and
 * the journal and state paths must keep meaning what they meant. The child does one
 * change and exits; medic itself never leaves its namespace. */
static void child_change(const struct host_view *v, const struct mount_entry *m, const struct atime *target,
                         unsigned long others, bool remount_only, int out_fd) {
        struct outcome o = { STEP_DONE, 0, 0 };
        struct statx stx = { 0 };
        int fd;

        if (v->other_ns) {
                char ns[64];
                snprintf(ns, sizeof ns, "/proc/%d/ns/mnt", (int) v->host_pid);
                fd = open(ns, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        o = (struct outcome) { STEP_OPEN_NS, errno, 0 };
                        goto out;
                }
                if (setns(fd, CLONE_NEWNS) < 0) {
                        o = (struct outcome) { STEP_SETNS, errno, 0 };
                        goto out;
                }
        }
        fd = open(m->mount_point, O_PATH | O_CLOEXEC);
        if (fd < 0) {
                o = (struct outcome) { STEP_OPEN, errno, 0 };
                goto out;
        }
        /* The mount point must lead to this very mount, not one mounted over it since. */
        if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || stx.stx_mnt_id != m->id) {
                o = (struct outcome) { STEP_COVERED, 0, stx.stx_mnt_id };
                goto out;
        }
        if (!remount_only) {
                struct mount_attr attr = { 0 };
                uint64_t set, clr;
                atime_mount_attr(target, &set, &clr);
                attr.attr_set = set;
                attr.attr_clr = clr;
                if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
                        goto out;
                if (errno != ENOSYS) {
                        o = (struct outcome) { STEP_SETATTR, errno, 0 };
                        goto out;
                }
        }
        /* Before Linux 5.12: a bind remount sets every per-mount flag at once, so each one
         * the mount has now must be passed again or it is cleared. */
        if (mount(NULL, m->mount_point, NULL, MS_REMOUNT | MS_BIND | others | atime_ms_flags(target), NULL) < 0)
                o = (struct outcome) { STEP_REMOUNT, errno, 0 };
out:
        (void) !write(out_fd, &o, sizeof o);
        _exit(0);
}

static int change_mount(struct ctx *ctx, const struct host_view *v, const struct mount_entry *m,
                        const struct atime *target, unsigned long others, bool remount_only) {
        struct outcome o = { _STEP_MAX, EIO, 0 };
        int p[2], status;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                ctx_fail(ctx, "fork: %s", strerror(e));
                return -e;
        }
        if (pid == 0) {
                close(p[0]);
                child_change(v, m, target, others, remount_only, p[1]);
        }
        close(p[1]);
        if (read(p[0], &o, sizeof o) != (ssize_t) sizeof o)
                o = (struct outcome) { _STEP_MAX, EIO, 0 };
        close(p[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        const char *hint = o.err == EPERM ? " (needs CAP_SYS_ADMIN)" : "";
        switch (o.step) {
        case STEP_DONE:
                return 0;
        case STEP_OPEN_NS:
                ctx_fail(ctx, "cannot open /proc/%d/ns/mnt to act in the host's mount namespace: %s%s", (int) v->host_pid,
                         strerror(o.err), o.err == EACCES || o.err == EPERM ? " (needs CAP_SYS_PTRACE)" : "");
                break;
        case STEP_SETNS:
                ctx_fail(ctx, "setns into the mount namespace of pid %d: %s%s", (int) v->host_pid, strerror(o.err),
                         o.err == EPERM ? " (needs CAP_SYS_ADMIN and CAP_SYS_CHROOT)" : "");
                break;
        case STEP_OPEN:
                ctx_fail(ctx, "cannot open mount point %s: %s", m->mount_point, strerror(o.err));
                break;
        case STEP_COVERED:
                ctx_fail(ctx, "%s now leads to another mount (id %llu) mounted over mount %llu: left alone", m->mount_point,
                         (unsigned long long) o.found_id, (unsigned long long) m->id);
                return -EBUSY;
        case STEP_SETATTR:
                ctx_fail(ctx, "mount_setattr(%s): %s%s", m->mount_point, strerror(o.err), hint);
                break;
        case STEP_REMOUNT:
                ctx_fail(ctx, "mount(%s, MS_REMOUNT|MS_BIND): %s%s", m->mount_point, strerror(o.err), hint);
                break;
        case _STEP_MAX:
                ctx_fail(ctx, "the helper process that changes the mount died");
                break;
        }
        return -o.err;
}

static int mnt_apply(struct ctx *ctx, const void *want, const void *have _unused_) {
        const struct mnt_state *w = want;
        /* Test hook: force the mount(2) fallback that kernels before 5.12 take. */
        const char *api = test_hook("MEDIC_MOUNT_API");
        struct mount_entry m = { 0 };
        struct atime cur, target;
        unsigned long others;
        struct host_view v;
        int r;

        if (api && *api && !streq(api, "setattr") && !streq(api, "remount")) {
                ctx_fail(ctx, "MEDIC_MOUNT_API=%s: expected setattr or remount", api);
                return -EINVAL;
        }
        /* The flags as they are this moment, not as planned: they are all passed again. */
        host_view_invalidate();
        r = view_open(ctx, &v);
        if (r < 0)
                return r;
        r = find_mount(ctx, &v, w, &m);
        if (r >= 0 && (r = mount_options_parse(m.options, &cur, &others)) < 0)
                ctx_fail(ctx, "cannot read the options of mount %llu", (unsigned long long) w->mount_id);
        if (r >= 0) {
                target = atime_merge(&cur, &w->atime);
                r = change_mount(ctx, &v, &m, &target, others, streq(api, "remount"));
                /* The read-back must see the table as the change left it. */
                host_view_invalidate();
        }
        mount_entry_done(&m);
        host_view_done(&v);
        return r;
}

static uint64_t mnt_caps(const void *state) {
        struct host_view v;
        uint64_t caps = CAP_TO_MASK(CAP_SYS_ADMIN);

        /* Entering PID 1's namespace: setns needs CAP_SYS_CHROOT too, and opening
         * /proc/1/ns/mnt of a process with more capabilities than medic keeps needs
         * CAP_SYS_PTRACE. */
        if (!state)
                return caps | CAP_TO_MASK(CAP_SYS_CHROOT) | CAP_TO_MASK(CAP_SYS_PTRACE);
        if (view_open(NULL, &v) >= 0 && v.other_ns)
                caps |= CAP_TO_MASK(CAP_SYS_CHROOT) | CAP_TO_MASK(CAP_SYS_PTRACE);
        host_view_done(&v);
        return caps;
}

/* ---- notes ---- */

static void boot_note(struct ctx *ctx, const struct mnt_state *w, const struct mnt_state *h, char ***notes) {
        const char *root = ctx->root ? ctx->root : "";
        _cleanup_free_ char *unit = mount_unit_name(h->mount_point), *opts = NULL, *fstab = NULL;
        _cleanup_free_ char *unit_path = xasprintf("%s/etc/systemd/system/%s", root, unit);
        struct fstab_entry *e = NULL;
        size_t n = 0;
        bool by_dev;
        int i, r;

        /* A unit in /etc/systemd/system wins over the one the fstab generator writes. */
        if (mount_unit_options(unit_path, &opts) >= 0) {
                struct atime boot = atime_from_options(opts);
                _cleanup_free_ char *fixed = options_with_atime(opts, &w->atime);
                if (atime_satisfies(&w->atime, &boot))
                        strv_push(notes, xasprintf("persistent: /etc/systemd/system/%s has Options=%s", unit, opts));
                else
                        strv_push(notes, xasprintf("runtime only: /etc/systemd/system/%s has Options=%s; write Options=%s there to keep it after a reboot",
                                                   unit, *opts ? opts : "(none)", fixed));
                return;
        }
        fstab = xasprintf("%s/etc/fstab", root);
        r = fstab_read(fstab, &e, &n);
        if (r < 0 && r != -ENOENT) {
                strv_push(notes, xasprintf("cannot read /etc/fstab (%s): cannot tell whether this survives a reboot", strerror(-r)));
                return;
        }
        i = fstab_match(e, n, root, h->mount_point, makedev(h->major, h->minor), &by_dev);
        if (i >= 0) {
                const struct fstab_entry *f = &e[i];
                struct atime boot = atime_from_options(f->opts);
                _cleanup_free_ char *fixed = options_with_atime(f->opts, &w->atime);
                _cleanup_free_ char *line = fstab_format(f->spec, f->file, f->type, fixed, f->freq, f->passno);
                _cleanup_free_ char *what = by_dev ? xasprintf("/etc/fstab line %u mounts its device (%s on %s) with %s", f->line, f->spec, f->file, f->opts)
                                                   : xasprintf("/etc/fstab line %u has %s", f->line, f->opts);
                if (atime_satisfies(&w->atime, &boot))
                        strv_push(notes, xasprintf("persistent: %s", what));
                else
                        strv_push(notes, xasprintf("runtime only: %s; the line that keeps it after a reboot: %s", what, line));
        } else {
                _cleanup_free_ char *fixed = options_with_atime(h->others, &w->atime);
                _cleanup_free_ char *line = fstab_format(h->source, h->mount_point, h->fstype, fixed, 0, 0);
                if (streq(h->root, "/"))
                        strv_push(notes, xasprintf("runtime only: neither /etc/fstab nor /etc/systemd/system/%s mounts %s; a line that would: %s",
                                                   unit, h->mount_point, line));
                else
                        strv_push(notes, xasprintf("runtime only: neither /etc/fstab nor /etc/systemd/system/%s mounts %s (a bind mount of %s[%s]); add %s to the line that creates it",
                                                   unit, h->mount_point, h->source, h->root, fixed));
        }
        fstab_free(e, n);
}

static void mnt_notes(struct ctx *ctx, const void *want, const void *have, char ***notes) {
        const struct mnt_state *w = want, *h = have;
        struct host_view v;

        if (view_open(NULL, &v) >= 0) {
                if (v.problem)
                        strv_push(notes, xstrdup(v.problem));
                if (v.other_ns) {
                        _cleanup_close_ int root = host_open(&v, "/");
                        strv_push(notes, xasprintf("medic runs in another mount namespace than pid %d (a sandboxed unit?): it reads pid %d's mounts and changes them through setns(2), which needs CAP_SYS_ADMIN, CAP_SYS_CHROOT and CAP_SYS_PTRACE",
                                                   (int) v.host_pid, (int) v.host_pid));
                        /* What host_path_mount() fell back to for this audit. */
                        if (root == -EACCES || root == -EPERM)
                                strv_push(notes, xasprintf("/proc/%d/root is not accessible: the path was matched against pid %d's mount points without following symlinks",
                                                           (int) v.host_pid, (int) v.host_pid));
                }
                host_view_done(&v);
        }
        if (h->others)
                strv_push(notes, xasprintf("only the atime mode changes; kept as they are: %s", h->others));
        boot_note(ctx, w, h, notes);
}

/* ---- text and JSON ---- */

static char *mnt_describe(const void *state) {
        const struct mnt_state *s = state;
        return atime_describe(&s->atime);
}

static int mnt_to_json(const void *state, struct json_object **ret) {
        const struct mnt_state *s = state;
        struct json_object *j = json_object_new_object(), *set = json_object_new_array(), *o;
        _cleanup_free_ char *words = set_words(&s->atime);
        char dev[32], *save = NULL;

        json_object_object_add(j, "path", json_object_new_string(s->path));
        for (char *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save))
                json_object_array_add(set, json_object_new_string(w));
        json_object_object_add(j, "set", set);
        if (s->mount_id == 0) {
                *ret = j;
                return 0;
        }
        o = json_object_new_object();
        snprintf(dev, sizeof dev, "%u:%u", s->major, s->minor);
        json_object_object_add(o, "mount_id", json_object_new_int64((int64_t) s->mount_id));
        if (s->unique_id)
                json_object_object_add(o, "mount_unique_id", json_object_new_int64((int64_t) s->unique_id));
        json_object_object_add(o, "mount_point", json_object_new_string(s->mount_point));
        json_object_object_add(o, "source", json_object_new_string(s->source));
        json_object_object_add(o, "fstype", json_object_new_string(s->fstype));
        json_object_object_add(o, "root", json_object_new_string(s->root));
        json_object_object_add(o, "dev", json_object_new_string(dev));
        if (s->others)
                json_object_object_add(o, "kept", json_object_new_string(s->others));
        json_object_object_add(j, "observed", o);
        *ret = j;
        return 0;
}

/* The atime parts of a journalled state: the policy's "set" list, or the form of journals
 * written before it ("atime": a mode, "nodiratime": a boolean). */
static bool atime_from_json(struct json_object *j, bool old, struct atime *ret) {
        struct atime a = { ATIME_UNSET, DIRATIME_UNSET };
        struct json_object *set, *nd;
        const char *mode;

        if (!old) {
                size_t n;
                if (!json_object_object_get_ex(j, "set", &set) || !json_object_is_type(set, json_type_array) ||
                    (n = json_object_array_length(set)) == 0 || n > 2)
                        return false;
                for (size_t i = 0; i < n; i++) {
                        struct json_object *w = json_object_array_get_idx(set, i);
                        struct atime one = { ATIME_UNSET, DIRATIME_UNSET };
                        bool known = false;
                        if (!json_object_is_type(w, json_type_string))
                                return false;
                        for (const char *const *k = policy_words; *k; k++)
                                known = known || streq(*k, json_object_get_string(w));
                        if (!known || !atime_apply_word(&one, json_object_get_string(w)) ||
                            (one.mode != ATIME_UNSET && a.mode != ATIME_UNSET) ||
                            (one.dir != DIRATIME_UNSET && a.dir != DIRATIME_UNSET))
                                return false;
                        a = atime_merge(&a, &one);
                }
                *ret = a;
                return true;
        }
        if ((mode = json_get_str(j, "atime"))) {
                struct atime m = { ATIME_UNSET, DIRATIME_UNSET };
                if (!atime_apply_word(&m, mode) || m.mode == ATIME_UNSET || !streq(atime_mode_name(m.mode), mode))
                        return false;
                a.mode = m.mode;
        }
        if (json_object_object_get_ex(j, "nodiratime", &nd)) {
                if (!json_object_is_type(nd, json_type_boolean))
                        return false;
                a.dir = json_object_get_boolean(nd) ? DIRATIME_OFF : DIRATIME_ON;
        }
        if (a.mode == ATIME_UNSET && a.dir == DIRATIME_UNSET)
                return false;
        *ret = a;
        return true;
}

/* The policy's keys with the mount under "observed"; or the flat form of journals written
 * before it (a set may be open across an upgrade). */
static int mnt_from_json(struct json_object *j, void **ret_state) {
        bool old = json_object_object_get_ex(j, "mount_id", NULL);
        struct json_object *o = old ? j : NULL, *id, *uid;
        const char *path = json_get_str(j, "path"), *mp, *src, *type, *root, *dev, *kept;
        struct mnt_state *s;
        unsigned major, minor;
        struct atime a;
        char end;

        if (!old && json_object_object_get_ex(j, "observed", &o) && !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (!path || path[0] != '/' || !atime_from_json(j, old, &a))
                return -EBADMSG;
        s = xcalloc(1, sizeof(*s));
        s->path = xstrdup(path);
        s->atime = a;
        if (!o) {
                *ret_state = s;
                return 0;
        }
        mp = json_get_str(o, "mount_point"), src = json_get_str(o, "source"), type = json_get_str(o, "fstype");
        root = json_get_str(o, "root"), dev = json_get_str(o, "dev"), kept = json_get_str(o, "kept");
        if (!mp || !src || !type || !root || !dev || sscanf(dev, "%u:%u%c", &major, &minor, &end) != 2 ||
            !json_object_object_get_ex(o, "mount_id", &id) || !json_object_is_type(id, json_type_int) ||
            json_object_get_int64(id) <= 0)
                goto bad;
        s->mount_id = (uint64_t) json_object_get_int64(id);
        s->mount_point = xstrdup(mp);
        s->source = xstrdup(src);
        s->fstype = xstrdup(type);
        s->root = xstrdup(root);
        s->major = major;
        s->minor = minor;
        s->others = kept ? xstrdup(kept) : NULL;
        if (json_object_object_get_ex(o, "mount_unique_id", &uid)) {
                if (!json_object_is_type(uid, json_type_int) || json_object_get_int64(uid) <= 0)
                        goto bad;
                s->unique_id = (uint64_t) json_object_get_int64(uid);
        }
        *ret_state = s;
        return 0;
bad:
        mnt_free(s);
        return -EBADMSG;
}

const struct action_ops mount_options_ops = {
        .kind = "mount-options",
        .parse = mnt_parse,
        .claims = mnt_claims,
        .plan = mnt_plan,
        .caps = mnt_caps,
        .read = mnt_read,
        .same = mnt_same,
        .equal = mnt_equal,
        .apply = mnt_apply,
        .notes = mnt_notes,
        .describe = mnt_describe,
        .to_json = mnt_to_json,
        .from_json = mnt_from_json,
        .free = mnt_free,
};
