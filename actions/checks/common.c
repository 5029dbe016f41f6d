/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the check kinds share: results, the policy's value syntax, and the etcd a check
 * looks at (found once per run and target: its process, flags, environment, config file). */
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "../../agent/kernel/etcd_conf.h"
#include "../../agent/kernel/proc.h"
#include "../../agent/ynode.h"
#include "../action.h"
#include "../target.h"
#include "check.h"

struct check_result *check_results_add(struct check_results *l, char *object, enum check_status status) {
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n] = (struct check_result) { .object = object, .status = status };
        return &l->v[l->n++];
}

void check_results_free(struct check_results *l) {
        for (size_t i = 0; i < l->n; i++) {
                struct check_result *r = &l->v[i];
                free(r->object);
                free(r->measured);
                free(r->threshold);
                free(r->source);
                free(r->advice);
                free(r->why);
                json_object_put(r->value);
                strv_free(r->notes);
        }
        free(l->v);
        *l = (struct check_results) { 0 };
}

char *check_path(const struct check_run *cr, const char *fmt, ...) {
        _cleanup_free_ char *p = NULL;
        va_list ap;
        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return xasprintf("%s%s", cr->root ? cr->root : "", p);
}

char *format_bytes(uint64_t b) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = (double) b;
        size_t u = 0;
        while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
                v /= 1024;
                u++;
        }
        return u == 0 ? xasprintf("%llu B", (unsigned long long) b) : xasprintf("%.1f %s", v, units[u]);
}

int check_parse_target(const struct ynode *node, const char *kind, const struct policy *pol, bool required,
                       const struct target **ret, struct perr *err) {
        const struct ynode *v = node->type == YNODE_MAP ? ynode_get(node, "target") : NULL;
        const struct target *t;
        const char *s;

        *ret = NULL;
        if (!v) {
                if (!required)
                        return 0;
                perr_add(err, node, "%s: missing 'target' (a process target: the etcd to look at)", kind);
                return -EINVAL;
        }
        _cleanup_free_ char *what = xasprintf("%s.target", kind);
        if (ynode_string(v, what, &s, err) < 0)
                return -EINVAL;
        if (!(t = policy_target(pol, s))) {
                perr_add(err, v, "%s: no target named '%s'", what, s);
                return -EINVAL;
        }
        if (t->kind != TARGET_PROCESS) {
                perr_add(err, v, "%s: '%s' is not a process target", what, s);
                return -EINVAL;
        }
        *ret = t;
        return 0;
}

/* A number with an optional unit; units[] maps suffixes to multipliers. */
struct unit_mult {
        const char *suffix;
        double mult;
};

static int parse_with_units(const struct ynode *n, const char *what, const struct unit_mult *units, double *ret,
                            struct perr *err) {
        const char *s;
        char *end;
        double v;

        if (ynode_string(n, what, &s, err) < 0)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (end == s || errno || !isfinite(v) || v < 0)
                goto bad;
        while (*end == ' ')
                end++;
        for (const struct unit_mult *u = units; u->suffix; u++)
                if (streq(end, u->suffix)) {
                        *ret = v * u->mult;
                        return 0;
                }
bad:
        perr_add(err, n, "%s: '%s' is not a number with one of the units", what, s);
        for (const struct unit_mult *u = units; u->suffix; u++)
                if (*u->suffix) {
                        char *last = err->msgs[err->n - 1];
                        err->msgs[err->n - 1] = xasprintf("%s %s", last, u->suffix);
                        free(last);
                }
        return -EINVAL;
}

int check_parse_size(const struct ynode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret,
                     struct perr *err) {
        static const struct unit_mult units[] = {
                { "", 1 }, { "B", 1 }, { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
                { "TiB", 1099511627776.0 }, { NULL, 0 },
        };
        double v;
        if (parse_with_units(n, what, units, &v, err) < 0)
                return -EINVAL;
        if (v < (double) min || v > (double) max) {
                _cleanup_free_ char *a = format_bytes(min), *b = format_bytes(max);
                perr_add(err, n, "%s: %s is out of range %s..%s", what, n->value, a, b);
                return -EINVAL;
        }
        *ret = (uint64_t) v;
        return 0;
}

int check_parse_ms(const struct ynode *n, const char *what, double min, double max, double *ret, struct perr *err) {
        static const struct unit_mult units[] = {
                { "ms", 1 }, { "", 1 }, { "us", 0.001 }, { "s", 1000 }, { NULL, 0 },
        };
        double v;
        if (parse_with_units(n, what, units, &v, err) < 0)
                return -EINVAL;
        if (v < min || v > max) {
                perr_add(err, n, "%s: %s is out of range %g..%g ms", what, n->value, min, max);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int check_parse_percent(const struct ynode *n, const char *what, double *ret, struct perr *err) {
        static const struct unit_mult units[] = { { "%", 1 }, { "", 1 }, { NULL, 0 } };
        double v;
        if (parse_with_units(n, what, units, &v, err) < 0)
                return -EINVAL;
        if (v > 100) {
                perr_add(err, n, "%s: %s is out of range 0..100 %%", what, n->value);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* NUL-separated /proc/PID/cmdline or environ as a string vector. */
static int read_nul_list(const char *path, char ***ret) {
        _cleanup_free_ char *text = NULL;
        char **v = NULL;
        size_t len;
        int r;

        r = read_file(path, &text, &len);
        if (r < 0)
                return r;
        for (size_t i = 0; i < len;) {
                size_t n = strnlen(text + i, len - i);
                strv_push(&v, xstrndup(text + i, n));
                i += n + 1;
        }
        *ret = v ? v : xcalloc(1, sizeof(char *));
        return 0;
}

/* A path as etcd sees it: a relative one is under its working directory. (An etcd in
 * another mount namespace, a container, names paths medic reads in its own.) */
static char *etcd_path(pid_t pid, const char *p) {
        return p[0] == '/' ? xstrdup(p) : xasprintf("/proc/%d/cwd/%s", (int) pid, p);
}

/* The configuration of etcd process pid as it resolved it. -errno when its command line
 * cannot be read (*ret_problem says so); an unreadable environment is not fatal and only
 * sets *ret_problem. */
static int read_etcd_conf(struct check_run *cr, pid_t pid, struct etcd_conf **ret, char **ret_problem) {
        _cleanup_free_ char *cmdline = NULL, *environ_path = NULL;
        _cleanup_strv_ char **argv = NULL, **env = NULL;
        int r;

        cmdline = check_path(cr, "/proc/%d/cmdline", (int) pid);
        r = read_nul_list(cmdline, &argv);
        if (r < 0) {
                *ret_problem = xasprintf("pid %d: cannot read its command line: %s", (int) pid, strerror(-r));
                return r;
        }
        environ_path = check_path(cr, "/proc/%d/environ", (int) pid);
        r = read_nul_list(environ_path, &env);
        if (r < 0)
                /* Not fatal: flags and the file still tell most; the result says what is missing. */
                *ret_problem = xasprintf("pid %d: cannot read its environment (ETCD_* variables): %s%s", (int) pid,
                                         strerror(-r), r == -EACCES || r == -EPERM ? " (run medic as root: reading another user's environ needs CAP_SYS_PTRACE)" : "");
        etcd_conf_from_process(argv, env, ret);
        if ((*ret)->config_file) {
                _cleanup_free_ char *text = NULL, *path = etcd_path(pid, (*ret)->config_file);
                size_t len = 0;
                r = read_file(path, &text, &len);
                etcd_conf_apply_file(*ret, text, len, r < 0 ? r : 0);
        } else
                etcd_conf_apply_file(*ret, NULL, 0, 0);
        return 0;
}

static void view_read(struct check_run *cr, struct etcd_view *v) {
        struct proc_found f = { 0 };
        int r;

        r = proc_find(v->target->rules, v->target->n_rules, &f);
        if (r < 0 || f.n == 0) {
                _cleanup_free_ char *rules = process_rules_describe(v->target->rules, v->target->n_rules);
                v->not_found = f.problems ? xasprintf("etcd not running: no process found by %s (%s)", rules, f.problems)
                                          : xasprintf("etcd not running: no process found by %s", rules);
                proc_found_done(&f);
                return;
        }
        v->pid = f.procs[0].pid;
        memcpy(v->comm, f.procs[0].comm, sizeof(v->comm));
        v->found_by = xstrdup(f.rule ? f.rule : "?");
        proc_found_done(&f);
        (void) read_etcd_conf(cr, v->pid, &v->conf, &v->not_found);
}

/* Do two initial-cluster lists name a member in common ("m1=http://10.0.0.1:2380")? */
static bool clusters_meet(const char *a, const char *b) {
        _cleanup_free_ char *copy = xstrdup(a);
        char *save = NULL;

        for (char *m = strtok_r(copy, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
                size_t l;
                m += strspn(m, " ");
                l = strcspn(m, " ");
                if (l == 0)
                        continue;
                m[l] = 0;
                for (const char *p = b; (p = strstr(p, m)); p++)
                        if ((p == b || p[-1] == ',' || p[-1] == ' ') && (p[l] == 0 || p[l] == ',' || p[l] == ' '))
                                return true;
        }
        return false;
}

int check_local_members(struct check_run *cr, const struct etcd_view *v, struct etcd_member **ret, size_t *ret_n) {
        const char *cluster = v->conf ? v->conf->v[ETCD_INITIAL_CLUSTER].value : NULL;
        const char *token = v->conf ? v->conf->v[ETCD_INITIAL_CLUSTER_TOKEN].value : NULL;
        struct process_rule rule = { .kind = RULE_COMM, .value = (char *) v->comm };
        struct etcd_member *m = NULL;
        struct proc_found f = { 0 };
        size_t n = 0;
        int r;

        *ret = NULL;
        *ret_n = 0;
        if (!cluster || !token)
                return -ENODATA;
        /* Every process named as this etcd is; a member of the same cluster shares its
         * cluster token and names a member in common in its initial-cluster. */
        r = proc_find(&rule, 1, &f);
        if (r < 0) {
                proc_found_done(&f);
                return r;
        }
        for (size_t i = 0; i < f.n; i++) {
                struct etcd_conf *c = NULL;
                _cleanup_free_ char *problem = NULL;
                const char *oc, *ot;

                if (f.procs[i].pid == v->pid)
                        continue;
                if (read_etcd_conf(cr, f.procs[i].pid, &c, &problem) < 0) {
                        /* Unreadable: it may be a member; it is shown as such. */
                        m = xrealloc(m, (n + 1) * sizeof(*m));
                        m[n++] = (struct etcd_member) { .pid = f.procs[i].pid, .problem = TAKE_PTR(problem) };
                        continue;
                }
                oc = c->v[ETCD_INITIAL_CLUSTER].value;
                ot = c->v[ETCD_INITIAL_CLUSTER_TOKEN].value;
                if (!oc || !ot || !streq(ot, token) || !clusters_meet(cluster, oc)) {
                        etcd_conf_free(c);
                        continue;
                }
                m = xrealloc(m, (n + 1) * sizeof(*m));
                m[n++] = (struct etcd_member) { .pid = f.procs[i].pid, .conf = c, .problem = TAKE_PTR(problem) };
        }
        proc_found_done(&f);
        *ret = m;
        *ret_n = n;
        return 0;
}

void etcd_members_free(struct etcd_member *m, size_t n) {
        for (size_t i = 0; i < n; i++) {
                etcd_conf_free(m[i].conf);
                free(m[i].problem);
        }
        free(m);
}

const struct etcd_view *check_run_etcd(struct check_run *cr, const struct target *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < cr->n_views; i++)
                if (cr->views[i].target == t)
                        return &cr->views[i];
        cr->views = xrealloc(cr->views, (cr->n_views + 1) * sizeof(*cr->views));
        struct etcd_view *v = &cr->views[cr->n_views++];
        *v = (struct etcd_view) { .target = t };
        view_read(cr, v);
        return v;
}

void check_run_done(struct check_run *cr) {
        for (size_t i = 0; i < cr->n_views; i++) {
                free(cr->views[i].found_by);
                free(cr->views[i].not_found);
                etcd_conf_free(cr->views[i].conf);
        }
        free(cr->views);
        cr->views = NULL;
        cr->n_views = 0;
}

/* The data dir a check looks at: the running etcd's (as it resolves it), else the policy's
 * data-dir:, else etcd's packaged default. *ret_path is what to open, *ret_shown what to say. */
int check_data_dir(const struct etcd_view *v, const char *spec_dir, char **ret_path, char **ret_shown) {
        if (v && v->pid > 0 && v->conf && v->conf->v[ETCD_DATA_DIR].value) {
                const char *d = v->conf->v[ETCD_DATA_DIR].value;
                *ret_shown = xstrdup(d);
                *ret_path = d[0] == '/' ? xstrdup(d) : xasprintf("/proc/%d/cwd/%s", (int) v->pid, d);
                return 0;
        }
        *ret_shown = xstrdup(spec_dir ? spec_dir : "/var/lib/etcd");
        *ret_path = xstrdup(*ret_shown);
        return 0;
}
