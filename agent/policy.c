/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"

#ifndef MEDIC_DATADIR
#define MEDIC_DATADIR "/usr/share/medic"
#endif
#define SHIPPED_POLICY MEDIC_DATADIR "/etcd.yaml"
#define POLICY_DIR "/etc/medic/policy.d"

/* The package ships POLICY_DIR empty: until the operator puts a policy there, the shipped
 * one is the default (an empty directory is not "no policy at all"). */
const char *policy_default_path(void) {
        const char *path = SHIPPED_POLICY;
        DIR *d = opendir(POLICY_DIR);
        struct dirent *de;

        if (!d)
                return errno == ENOENT ? SHIPPED_POLICY : POLICY_DIR;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] != '.' && len > 5 && streq(de->d_name + len - 5, ".yaml")) {
                        path = POLICY_DIR;
                        break;
                }
        }
        closedir(d);
        return path;
}

const char *action_mode_name(enum action_mode m) {
        switch (m) {
        case MODE_ENFORCE:
                return "enforce";
        case MODE_AUDIT:
                return "audit";
        case _MODE_MAX:
                break;
        }
        return "?";
}

const struct target *policy_target(const struct policy *p, const char *name) {
        for (size_t i = 0; i < p->n_targets; i++)
                if (streq(p->targets[i].name, name))
                        return &p->targets[i];
        return NULL;
}

void policy_free(struct policy *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_actions; i++) {
                free(p->actions[i].name);
                if (p->actions[i].want)
                        p->actions[i].ops->free(p->actions[i].want);
        }
        free(p->actions);
        policy_checks_free(p);
        for (size_t i = 0; i < p->n_targets; i++) {
                struct target *t = &p->targets[i];
                free(t->name);
                free(t->ifname);
                for (size_t j = 0; j < t->n_rules; j++)
                        free(t->rules[j].value);
                free(t->rules);
        }
        free(p->targets);
        for (size_t i = 0; i < p->n_docs; i++)
                ydoc_free(p->docs[i]);
        free(p->docs);
        strv_free(p->files);
        free(p->name);
        free(p->description);
        free(p->path);
        free(p);
}

static bool valid_ident(const char *s, size_t max) {
        size_t n = strlen(s);
        if (n == 0 || n > max)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_-.", *s))
                        return false;
        return true;
}

/* The kernel's rules for interface names (dev_valid_name): 1..15 bytes, not "." or "..",
 * no '/', ':' or whitespace. */
static bool valid_ifname(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n >= 16 || streq(s, ".") || streq(s, ".."))
                return false;
        for (; *s; s++)
                if (*s == '/' || *s == ':' || isspace((unsigned char) *s) || !isprint((unsigned char) *s))
                        return false;
        return true;
}

int policy_interface(const struct ynode *n, const struct policy *pol, const char *what, char **ret,
                     struct perr *err) {
        const struct target *t;
        const char *s;

        if (ynode_string(n, what, &s, err) < 0)
                return -EINVAL;
        /* A target name wins over an interface of the same name: targets are the policy's
         * own vocabulary, and "auto" must stay resolvable through one. */
        t = policy_target(pol, s);
        if (t && t->kind != TARGET_INTERFACE) {
                perr_add(err, n, "%s: target '%s' is not an interface target", what, s);
                return -EINVAL;
        }
        if (t) {
                *ret = xstrdup(t->ifname);
                return 0;
        }
        if (!streq(s, "auto") && !streq(s, "all") && !valid_ifname(s)) {
                perr_add(err, n, "%s: '%s' is not an interface target, an interface name (1-15 bytes, no '/', ':' or blanks), auto or all", what, s);
                return -EINVAL;
        }
        *ret = xstrdup(s);
        return 0;
}

static bool valid_unit(const char *s) {
        static const char *const suffixes[] = { ".service", ".scope", ".slice", NULL };
        const char *dot = strrchr(s, '.');
        bool suffix_ok = false;

        if (strlen(s) > 255 || !dot || dot == s)
                return false;
        for (const char *const *x = suffixes; *x; x++)
                if (streq(dot, *x))
                        suffix_ok = true;
        if (!suffix_ok)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr(":-_.\\@", *s))
                        return false;
        return true;
}

static int parse_process_target(struct target *t, const struct ynode *n, struct perr *err) {
        static const char *const keys[] = { "unit", "comm", "exe", "pidfile", NULL };
        int r = 0;

        if (ynode_expect(n, YNODE_MAP, "process", err) < 0)
                return -EINVAL;
        if (ynode_check_keys(n, "process", keys, err) < 0)
                r = -EINVAL;
        if (n->n == 0) {
                perr_add(err, n, "process: needs at least one of unit, comm, exe, pidfile");
                return -EINVAL;
        }
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *k = n->keys[i], *v = n->vals[i];
                enum process_rule_kind kind;
                const char *s;

                for (kind = 0; kind < _RULE_KIND_MAX; kind++)
                        if (streq(k->value, process_rule_name(kind)))
                                break;
                if (kind == _RULE_KIND_MAX)
                        continue; /* reported above */
                _cleanup_free_ char *what = xasprintf("process.%s", k->value);
                if (ynode_string(v, what, &s, err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                switch (kind) {
                case RULE_UNIT:
                        if (!valid_unit(s)) {
                                perr_add(err, v, "process.unit: '%s' is not a systemd unit name (like etcd.service)", s);
                                r = -EINVAL;
                                continue;
                        }
                        break;
                case RULE_COMM:
                        /* The kernel keeps 15 bytes of a command name (TASK_COMM_LEN). */
                        if (strlen(s) > 15 || strchr(s, '/')) {
                                perr_add(err, v, "process.comm: '%s' can never match: /proc/PID/comm holds at most 15 bytes and no '/'", s);
                                r = -EINVAL;
                                continue;
                        }
                        break;
                case RULE_EXE:
                case RULE_PIDFILE:
                        if (s[0] != '/') {
                                perr_add(err, v, "%s: '%s' must be an absolute path", what, s);
                                r = -EINVAL;
                                continue;
                        }
                        break;
                case _RULE_KIND_MAX:
                        break;
                }
                t->rules = xrealloc(t->rules, (t->n_rules + 1) * sizeof(*t->rules));
                t->rules[t->n_rules++] = (struct process_rule) { .kind = kind, .value = xstrdup(s) };
        }
        return r;
}

static int parse_targets(struct policy *p, const struct ynode *n, struct perr *err) {
        int r = 0;

        if (ynode_expect(n, YNODE_MAP, "targets", err) < 0)
                return -EINVAL;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *k = n->keys[i], *v = n->vals[i];
                static const char *const keys[] = { "process", "interface", NULL };
                const struct target *old = policy_target(p, k->value);
                struct target t = { .at = k };

                if (!valid_ident(k->value, 64)) {
                        perr_add(err, k, "targets: '%s' is not a valid target name (letters, digits, '_', '-', '.')", k->value);
                        r = -EINVAL;
                        continue;
                }
                if (old) {
                        perr_add(err, k, "targets: '%s' is already defined at %s:%u:%u", k->value,
                                 old->at->file, old->at->line, old->at->col);
                        r = -EINVAL;
                        continue;
                }
                if (ynode_expect(v, YNODE_MAP, k->value, err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                if (ynode_check_keys(v, k->value, keys, err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                if (v->n != 1) {
                        perr_add(err, v, "targets.%s: needs exactly one of process, interface", k->value);
                        r = -EINVAL;
                        continue;
                }
                t.name = xstrdup(k->value);
                if (streq(v->keys[0]->value, "process")) {
                        t.kind = TARGET_PROCESS;
                        if (parse_process_target(&t, v->vals[0], err) < 0)
                                r = -EINVAL;
                } else {
                        const char *s;
                        t.kind = TARGET_INTERFACE;
                        if (ynode_string(v->vals[0], "interface", &s, err) < 0)
                                r = -EINVAL;
                        else if (!streq(s, "auto") && !streq(s, "all") && !valid_ifname(s)) {
                                perr_add(err, v->vals[0], "interface: '%s' is not a valid interface name (1-15 bytes, no '/', ':' or blanks), auto or all", s);
                                r = -EINVAL;
                        } else
                                t.ifname = xstrdup(s);
                }
                p->targets = xrealloc(p->targets, (p->n_targets + 1) * sizeof(*p->targets));
                p->targets[p->n_targets++] = t;
        }
        return r;
}

struct claim {
        const struct action_ops *ops;
        char *object;
        char *value;
        const struct ynode *at;
        const char *action;
};

struct claim_ctx {
        struct claim *claims;
        size_t n;
        const struct action_ops *ops;
        const char *action;
        struct perr *err;
        int r;
};

static void claim_one(void *userdata, const char *object, const char *value, const struct ynode *at) {
        struct claim_ctx *c = userdata;

        for (size_t i = 0; i < c->n; i++) {
                struct claim *o = &c->claims[i];
                if (o->ops != c->ops || !streq(o->object, object))
                        continue;
                if (streq(o->value, value))
                        return;
                perr_add(c->err, at, "%s %s: set to %s here, but to %s by action '%s' at %s:%u:%u",
                         c->ops->kind, object, value, o->value, o->action, o->at->file,
                         o->at->line, o->at->col);
                c->r = -EINVAL;
                return;
        }
        c->claims = xrealloc(c->claims, (c->n + 1) * sizeof(*c->claims));
        c->claims[c->n++] = (struct claim) {
                .ops = c->ops, .object = xstrdup(object), .value = xstrdup(value),
                .at = at, .action = c->action,
        };
}

static int parse_action(struct policy *p, const struct ynode *n, struct perr *err) {
        const struct ynode *kind_key = NULL, *kind_val = NULL;
        struct action a = { .at = n, .mode = MODE_ENFORCE };
        const char *name = NULL;
        bool unknown = false;
        int r = 0;

        if (ynode_expect(n, YNODE_MAP, "actions[]", err) < 0)
                return -EINVAL;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *k = n->keys[i], *v = n->vals[i];
                const struct action_ops *ops;

                if (streq(k->value, "name")) {
                        if (ynode_string(v, "name", &name, err) < 0)
                                r = -EINVAL;
                        else if (strlen(name) > 128 || strchr(name, '\n')) {
                                perr_add(err, v, "name: must be one line of at most 128 bytes");
                                r = -EINVAL;
                        }
                } else if (streq(k->value, "mode")) {
                        const char *m;
                        if (ynode_string(v, "mode", &m, err) < 0)
                                r = -EINVAL;
                        else if (streq(m, "enforce"))
                                a.mode = MODE_ENFORCE;
                        else if (streq(m, "audit"))
                                a.mode = MODE_AUDIT;
                        else {
                                perr_add(err, v, "mode: '%s' is not enforce or audit", m);
                                r = -EINVAL;
                        }
                } else if ((ops = action_ops_find(k->value))) {
                        if (kind_key) {
                                perr_add(err, k, "action has two kinds, '%s' and '%s': write two actions",
                                         kind_key->value, k->value);
                                r = -EINVAL;
                                continue;
                        }
                        kind_key = k;
                        kind_val = v;
                        a.ops = ops;
                } else {
                        _cleanup_free_ char *kinds = NULL;
                        for (size_t j = 0; action_registry[j]; j++) {
                                char *s = xasprintf("%s%s%s", kinds ? kinds : "", kinds ? ", " : "",
                                                    action_registry[j]->kind);
                                free(kinds);
                                kinds = s;
                        }
                        perr_add(err, k, "action: unknown key '%s' (expected name, mode, or an action kind: %s)",
                                 k->value, kinds);
                        unknown = true;
                        r = -EINVAL;
                }
        }
        if (!name && !ynode_get(n, "name")) {
                perr_add(err, n, "action: missing 'name'");
                r = -EINVAL;
        }
        if (name)
                for (size_t i = 0; i < p->n_actions; i++)
                        if (streq(p->actions[i].name, name)) {
                                const struct ynode *at = ynode_get(n, "name"), *first = p->actions[i].at;
                                /* Point at the first action's name key, wherever it wrote it. */
                                for (size_t k = 0; k < first->n; k++)
                                        if (streq(first->keys[k]->value, "name"))
                                                first = first->keys[k];
                                perr_add(err, at, "name: duplicate action name '%s' (first at %s:%u:%u)",
                                         name, first->file, first->line, first->col);
                                r = -EINVAL;
                        }
        if (!kind_key) {
                /* An unknown key was most likely meant as the kind: one error is enough. */
                if (unknown)
                        return -EINVAL;
                perr_add(err, n, "action%s%s%s: has no action kind", name ? " '" : "", name ? name : "",
                         name ? "'" : "");
                return -EINVAL;
        }
        if (a.ops->parse(kind_val, p, &a.want, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                if (a.want)
                        a.ops->free(a.want);
                return r;
        }
        a.name = xstrdup(name);
        p->actions = xrealloc(p->actions, (p->n_actions + 1) * sizeof(*p->actions));
        p->actions[p->n_actions++] = a;
        return 0;
}

static int parse_header(struct policy *p, const struct ynode *root, struct perr *err) {
        static const char *const keys[] = { "medic", "name", "description", "agent", "targets", "actions", "checks", NULL };
        static const char *const agent_keys[] = { "sysctl-interval", "fight-limit", NULL };
        const struct ynode *v;
        unsigned long long ver;
        const char *s;
        int r = 0;

        if (ynode_check_keys(root, "policy", keys, err) < 0)
                r = -EINVAL;
        v = ynode_get(root, "medic");
        if (!v) {
                perr_add(err, root, "policy: missing 'medic: 1' (the schema version)");
                r = -EINVAL;
        } else if (ynode_uint(v, "medic", 0, UINT32_MAX, &ver, err) < 0)
                r = -EINVAL;
        else if (ver != 1) {
                perr_add(err, v, "medic: schema version %llu is not supported (this medic reads 1)", ver);
                r = -EINVAL;
        }
        if ((v = ynode_get(root, "name"))) {
                if (ynode_string(v, "name", &s, err) < 0)
                        r = -EINVAL;
                else if (!valid_ident(s, 64)) {
                        perr_add(err, v, "name: '%s' must be 1-64 letters, digits, '_', '-' or '.'", s);
                        r = -EINVAL;
                } else if (!p->name)
                        p->name = xstrdup(s);
        }
        if ((v = ynode_get(root, "description"))) {
                if (ynode_string(v, "description", &s, err) < 0)
                        r = -EINVAL;
                else if (!p->description)
                        p->description = xstrdup(s);
        }
        /* How `medic agent` runs; a flag on its command line wins. */
        if ((v = ynode_get(root, "agent"))) {
                const struct ynode *x;
                if (ynode_expect(v, YNODE_MAP, "agent", err) < 0)
                        r = -EINVAL;
                else {
                        if (ynode_check_keys(v, "agent", agent_keys, err) < 0)
                                r = -EINVAL;
                        if ((x = ynode_get(v, "sysctl-interval")) &&
                            ynode_uint(x, "agent.sysctl-interval", 1, 86400, &ver, err) >= 0)
                                p->agent_sysctl_interval = (long) ver;
                        else if (x)
                                r = -EINVAL;
                        if ((x = ynode_get(v, "fight-limit")) && ynode_uint(x, "agent.fight-limit", 0, 1000, &ver, err) >= 0)
                                p->agent_fight_limit = (long) ver;
                        else if (x)
                                r = -EINVAL;
                }
        }
        return r;
}

static int collect_files(const char *path, char ***ret, struct perr *err) {
        _cleanup_strv_ char **files = NULL;
        struct dirent **list = NULL;
        struct stat st;
        int n;

        if (stat(path, &st) < 0) {
                int e = errno;
                perr_add_pos(err, path, 0, 0, "cannot open policy: %s", strerror(e));
                return -e;
        }
        if (!S_ISDIR(st.st_mode)) {
                strv_push(&files, xstrdup(path));
                *ret = TAKE_PTR(files);
                return 0;
        }
        n = scandir(path, &list, NULL, alphasort);
        if (n < 0) {
                int e = errno;
                perr_add_pos(err, path, 0, 0, "cannot read policy directory: %s", strerror(e));
                return -e;
        }
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                size_t len = strlen(name);
                if (name[0] != '.' && len > 5 && streq(name + len - 5, ".yaml"))
                        strv_push(&files, xasprintf("%s%s%s", path,
                                                    path[strlen(path) - 1] == '/' ? "" : "/", name));
                free(list[i]);
        }
        free(list);
        if (!files) {
                perr_add_pos(err, path, 0, 0, "policy directory has no *.yaml files");
                return -ENOENT;
        }
        *ret = TAKE_PTR(files);
        return 0;
}

int policy_load(const char *path, struct policy **ret, struct perr *err) {
        _cleanup_(policy_freep) struct policy *p = xcalloc(1, sizeof(*p));

        p->agent_fight_limit = -1;
        _cleanup_free_ char *all = NULL;
        struct claim_ctx cc = { .err = err };
        size_t all_len = 0;
        int r = 0;

        p->path = xstrdup(path);
        r = collect_files(path, &p->files, err);
        if (r < 0)
                return r;

        /* Pass 1: read every file and its header and targets, so that actions in one file
         * can name targets defined in another. */
        for (size_t i = 0; p->files[i]; i++) {
                _cleanup_free_ char *text = NULL;
                struct ydoc *d = NULL;
                size_t len;
                int q;

                q = read_file(p->files[i], &text, &len);
                if (q < 0) {
                        perr_add_pos(err, p->files[i], 0, 0, "cannot read: %s", strerror(-q));
                        r = q;
                        continue;
                }
                all = xrealloc(all, all_len + len + 1);
                memcpy(all + all_len, text, len);
                all_len += len;
                if (ydoc_load_string(text, len, p->files[i], &d, err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                p->docs = xrealloc(p->docs, (p->n_docs + 1) * sizeof(*p->docs));
                p->docs[p->n_docs++] = d;
                /* "---" alone (or with comments) is an empty document: a null scalar. */
                if (d->root && d->root->type == YNODE_SCALAR && d->root->plain && !d->root->value[0]) {
                        ydoc_free(d);
                        p->docs[p->n_docs - 1] = d = xcalloc(1, sizeof(*d));
                }
                if (!d->root) {
                        perr_add_pos(err, p->files[i], 1, 1, "policy is empty (expected 'medic: 1', 'actions: ...')");
                        r = -EINVAL;
                        continue;
                }
                if (ynode_expect(d->root, YNODE_MAP, "policy", err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                if (parse_header(p, d->root, err) < 0)
                        r = -EINVAL;
                const struct ynode *t = ynode_get(d->root, "targets");
                if (t && parse_targets(p, t, err) < 0)
                        r = -EINVAL;
        }

        /* Pass 2: actions, in file order, then their claims against each other. */
        for (size_t i = 0; i < p->n_docs; i++) {
                const struct ynode *root = p->docs[i]->root, *acts;
                if (!root || root->type != YNODE_MAP || !(acts = ynode_get(root, "actions")))
                        continue;
                if (ynode_expect(acts, YNODE_SEQ, "actions", err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                for (size_t j = 0; j < acts->n; j++)
                        if (parse_action(p, acts->vals[j], err) < 0)
                                r = -EINVAL;
        }
        /* Pass 3: checks, after every action, so that names are unique across both. */
        for (size_t i = 0; i < p->n_docs; i++) {
                const struct ynode *root = p->docs[i]->root, *checks;
                if (root && root->type == YNODE_MAP && (checks = ynode_get(root, "checks")) &&
                    policy_parse_checks(p, checks, err) < 0)
                        r = -EINVAL;
        }
        for (size_t i = 0; i < p->n_actions; i++) {
                cc.ops = p->actions[i].ops;
                cc.action = p->actions[i].name;
                if (cc.ops->claims)
                        cc.ops->claims(p->actions[i].want, claim_one, &cc);
        }
        for (size_t i = 0; i < cc.n; i++) {
                free(cc.claims[i].object);
                free(cc.claims[i].value);
        }
        free(cc.claims);
        if (cc.r < 0)
                r = cc.r;
        if (r < 0 || err->n > 0)
                return -EINVAL;

        if (!p->name) {
                /* Unnamed policy: its file or directory name, less a .yaml or .d suffix. */
                _cleanup_free_ char *copy = xstrdup(path);
                size_t len = strlen(copy);
                while (len > 1 && copy[len - 1] == '/')
                        copy[--len] = 0;
                const char *b = strrchr(copy, '/');
                b = b ? b + 1 : copy;
                len = strlen(b);
                if (len > 5 && streq(b + len - 5, ".yaml"))
                        len -= 5;
                else if (len > 2 && streq(b + len - 2, ".d"))
                        len -= 2;
                p->name = len > 0 ? xstrndup(b, len) : xstrdup("policy");
        }
        sha256_hex(all ? all : "", all_len, p->sha256);
        *ret = TAKE_PTR(p);
        return 0;
}

int policy_to_json(const struct policy *p, struct json_object **ret) {
        _cleanup_json_ struct json_object *j = json_object_new_object();
        struct json_object *targets = json_object_new_object(), *acts = json_object_new_array();

        json_object_object_add(j, "medic", json_object_new_int(1));
        json_object_object_add(j, "name", json_object_new_string(p->name));
        if (p->description)
                json_object_object_add(j, "description", json_object_new_string(p->description));
        {
                /* Normalised: what the agent will use unless a flag says otherwise. */
                struct json_object *ag = json_object_new_object();
                json_object_object_add(ag, "sysctl-interval",
                                       json_object_new_int64(p->agent_sysctl_interval > 0 ? p->agent_sysctl_interval : 60));
                json_object_object_add(ag, "fight-limit",
                                       json_object_new_int64(p->agent_fight_limit >= 0 ? p->agent_fight_limit : 5));
                json_object_object_add(j, "agent", ag);
        }
        json_object_object_add(j, "targets", targets);
        for (size_t i = 0; i < p->n_targets; i++) {
                const struct target *t = &p->targets[i];
                struct json_object *o = json_object_new_object();
                if (t->kind == TARGET_PROCESS) {
                        struct json_object *pr = json_object_new_object();
                        for (size_t k = 0; k < t->n_rules; k++)
                                json_object_object_add(pr, process_rule_name(t->rules[k].kind),
                                                       json_object_new_string(t->rules[k].value));
                        json_object_object_add(o, "process", pr);
                } else
                        json_object_object_add(o, "interface", json_object_new_string(t->ifname));
                json_object_object_add(targets, t->name, o);
        }
        json_object_object_add(j, "actions", acts);
        for (size_t i = 0; i < p->n_actions; i++) {
                const struct action *a = &p->actions[i];
                struct json_object *o = json_object_new_object(), *spec = NULL;
                int r;

                json_object_object_add(o, "name", json_object_new_string(a->name));
                json_object_object_add(o, "mode", json_object_new_string(action_mode_name(a->mode)));
                r = a->ops->to_json(a->want, &spec);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                json_object_object_add(o, a->ops->kind, spec);
                json_object_array_add(acts, o);
        }
        if (policy_checks_to_json(p, j) < 0)
                return -EINVAL;
        *ret = TAKE_PTR(j);
        return 0;
}

static int check_one(const char *path, char **ret_why) {
        struct stat st;

        if (stat(path, &st) < 0) {
                *ret_why = xasprintf("%s: %s", path, strerror(errno));
                return -errno;
        }
        if (st.st_uid != 0) {
                *ret_why = xasprintf("%s is owned by uid %u, not root", path, (unsigned) st.st_uid);
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                *ret_why = xasprintf("%s is writable by %s (mode %04o)", path,
                                     st.st_mode & S_IWOTH ? "everyone" : "its group",
                                     (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

/* The directory holding a policy file: whoever can write it can swap the file. A sticky
 * directory (/tmp) only lets owners replace their own files. */
static int check_parent(const char *path, char **ret_why) {
        _cleanup_free_ char *copy = xstrdup(path);
        char *slash = strrchr(copy, '/');
        const char *dir = !slash ? "." : slash == copy ? "/" : (*slash = 0, copy);
        struct stat st;

        if (stat(dir, &st) < 0)
                return 0;
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                *ret_why = xasprintf("%s (the policy's directory) is owned by uid %u, not root", dir, (unsigned) st.st_uid);
                return -EPERM;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
                *ret_why = xasprintf("%s (the policy's directory) is writable by %s (mode %04o)", dir,
                                     st.st_mode & S_IWOTH ? "everyone" : "its group", (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

int policy_check_perms(const char *path, char **ret_why) {
        _cleanup_strv_ char **files = NULL;
        struct perr err = { 0 };
        struct stat st;
        int r;

        r = check_one(path, ret_why);
        if (r < 0)
                return r;
        r = check_parent(path, ret_why);
        if (r < 0)
                return r;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                r = collect_files(path, &files, &err);
                perr_done(&err);
                if (r < 0)
                        return 0; /* the loader reports it */
                for (size_t i = 0; files[i]; i++) {
                        r = check_one(files[i], ret_why);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
