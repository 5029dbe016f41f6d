/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy's checks: section (DESIGN §12): a list like actions:, each entry a name, an
 * optional mode, and one check kind with its thresholds.
 *
 *   checks:
 *     - name: enough cores and memory
 *       hardware: {target: etcd, min-cores: 2, min-memory: 4GiB}
 *
 * mode: audit reports a finding as "drift (audit only)", which does not make audit exit 2. */
#include <json-c/json.h>
#include <string.h>

#include "../actions/checks/check.h"
#include "policy.h"

static const struct ynode *name_key(const struct ynode *map) {
        for (size_t k = 0; map && map->type == YNODE_MAP && k < map->n; k++)
                if (streq(map->keys[k]->value, "name"))
                        return map->keys[k];
        return map;
}

/* Check names share --only with action names: one namespace. */
static const struct ynode *name_taken(const struct policy *p, const char *name) {
        for (size_t i = 0; i < p->n_actions; i++)
                if (streq(p->actions[i].name, name))
                        return name_key(p->actions[i].at);
        for (size_t i = 0; i < p->n_checks; i++)
                if (streq(p->checks[i].name, name))
                        return name_key(p->checks[i].at);
        return NULL;
}

static int parse_check(struct policy *p, const struct ynode *n, struct perr *err) {
        const struct ynode *kind_val = NULL, *v;
        struct check c = { .at = n, .mode = MODE_ENFORCE };
        const char *name = NULL, *s;
        int r = 0;

        if (ynode_expect(n, YNODE_MAP, "checks[]", err) < 0)
                return -EINVAL;
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *k = n->keys[i];
                const struct check_ops *ops;

                v = n->vals[i];
                if (streq(k->value, "name")) {
                        if (ynode_string(v, "check.name", &name, err) < 0)
                                r = -EINVAL;
                        else if (!*name || strlen(name) > 128) {
                                perr_add(err, v, "check.name: must be 1-128 characters");
                                r = -EINVAL;
                        }
                } else if (streq(k->value, "mode")) {
                        if (ynode_string(v, "check.mode", &s, err) < 0)
                                r = -EINVAL;
                        else if (streq(s, "audit"))
                                c.mode = MODE_AUDIT;
                        else if (!streq(s, "enforce")) {
                                perr_add(err, v, "check.mode: '%s' is not enforce (a finding is drift) or audit (reported only)", s);
                                r = -EINVAL;
                        }
                } else if ((ops = check_ops_find(k->value))) {
                        if (c.ops) {
                                perr_add(err, k, "check: has two check kinds ('%s' and '%s'); one per entry", c.ops->kind,
                                         k->value);
                                r = -EINVAL;
                                continue;
                        }
                        c.ops = ops;
                        kind_val = v;
                } else {
                        _cleanup_free_ char *kinds = xstrdup("");
                        for (size_t j = 0; check_registry[j]; j++) {
                                char *t = xasprintf("%s%s%s", kinds, j ? ", " : "", check_registry[j]->kind);
                                free(kinds);
                                kinds = t;
                        }
                        perr_add(err, k, "check: unknown key '%s' (expected name, mode, or a check kind: %s)", k->value, kinds);
                        r = -EINVAL;
                }
        }
        if (!name && !ynode_get(n, "name")) {
                perr_add(err, n, "check: missing 'name'");
                r = -EINVAL;
        }
        if (name && (v = name_taken(p, name))) {
                perr_add(err, ynode_get(n, "name"), "name: duplicate name '%s' (first at %s:%u:%u); checks and actions share --only",
                         name, v->file, v->line, v->col);
                r = -EINVAL;
        }
        if (!c.ops) {
                if (r == 0)
                        perr_add(err, n, "check%s%s%s: has no check kind", name ? " '" : "", name ? name : "", name ? "'" : "");
                return -EINVAL;
        }
        if (c.ops->parse(kind_val, p, &c.spec, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                if (c.spec)
                        c.ops->spec_free(c.spec);
                return r;
        }
        c.name = xstrdup(name);
        p->checks = xrealloc(p->checks, (p->n_checks + 1) * sizeof(*p->checks));
        p->checks[p->n_checks++] = c;
        return 0;
}

int policy_parse_checks(struct policy *p, const struct ynode *n, struct perr *err) {
        int r = 0;
        if (ynode_expect(n, YNODE_SEQ, "checks", err) < 0)
                return -EINVAL;
        for (size_t i = 0; i < n->n; i++)
                if (parse_check(p, n->vals[i], err) < 0)
                        r = -EINVAL;
        return r;
}

void policy_checks_free(struct policy *p) {
        for (size_t i = 0; i < p->n_checks; i++) {
                free(p->checks[i].name);
                if (p->checks[i].spec)
                        p->checks[i].ops->spec_free(p->checks[i].spec);
        }
        free(p->checks);
        p->checks = NULL;
        p->n_checks = 0;
}

int policy_checks_to_json(const struct policy *p, struct json_object *j) {
        struct json_object *arr;
        if (p->n_checks == 0)
                return 0;
        arr = json_object_new_array();
        json_object_object_add(j, "checks", arr);
        for (size_t i = 0; i < p->n_checks; i++) {
                const struct check *c = &p->checks[i];
                struct json_object *o = json_object_new_object(), *spec = NULL;
                int r;

                json_object_object_add(o, "name", json_object_new_string(c->name));
                json_object_object_add(o, "mode", json_object_new_string(action_mode_name(c->mode)));
                r = c->ops->spec_to_json(c->spec, &spec);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                json_object_object_add(o, c->ops->kind, spec);
                json_object_array_add(arr, o);
        }
        return 0;
}
