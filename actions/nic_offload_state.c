/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nic-offload states: comparing, describing and their JSON (the kind itself, its plan,
 * reads and writes are in nic_offload.c).
 *
 * A state's JSON is the policy's entry for the interface, {"interface", "features"}; a read
 * adds the kernel's features under "observed", in `ethtool -k`'s words. */
#include <json-c/json.h>
#include <net/if.h>
#include <string.h>

#include "../agent/kernel/ethtool_names.h"
#include "action.h"
#include "nic_offload.h"

static void kernel_free(struct nic_kernel *k) {
        if (!k)
                return;
        for (size_t i = 0; i < k->n; i++)
                if (!k->feat[i].shared)
                        free(k->feat[i].name);
        free(k->feat);
        strv_free(k->changed);
        free(k);
}

void nic_free(void *p) {
        struct nic_state *s = p;
        if (!s)
                return;
        free(s->ifname);
        for (size_t i = 0; i < s->n_req; i++)
                free(s->req[i].name);
        free(s->req);
        free(s->at);
        kernel_free(s->kernel);
        free(s);
}

const char *onoff(bool on) {
        return on ? "on" : "off";
}

const struct nic_feat *feat_find(const struct nic_kernel *k, const char *name) {
        for (size_t i = 0; k && i < k->n; i++)
                if (streq(k->feat[i].name, name))
                        return &k->feat[i];
        return NULL;
}

/* feat_find() from position *at on, round the list. Snapshots list the features in the
 * kernel's order (a journal's grouped by class, each group in that order), so the next name
 * asked for is nearly always at or just after the last one found: a walk over two snapshots
 * is then linear, not quadratic (65 features, 1,000 interfaces). The names of one list are
 * distinct, so what is found is what a search from the start finds. */
static const struct nic_feat *feat_find_from(const struct nic_kernel *k, const char *name, size_t *at) {
        for (size_t j = 0; k && j < k->n; j++) {
                size_t i = (*at + j) % k->n;
                if (streq(k->feat[i].name, name)) {
                        *at = i + 1;
                        return &k->feat[i];
                }
        }
        return NULL;
}

static int cmp_str_p(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool feat_covered(const char *name, int user, const struct nic_feat *x) {
        return offload_covers_idx(name, user, x->name, x->group);
}

bool req_active(const struct nic_kernel *k, const char *name) {
        int user = offload_user(name);

        for (size_t i = 0; k && i < k->n; i++)
                if (k->feat[i].active && feat_covered(name, user, &k->feat[i]))
                        return true;
        return false;
}

/* ---- comparing ---- */

bool nic_same(const void *want, const void *have) {
        const struct nic_state *w = want, *h = have;

        if (!streq(w->ifname, h->ifname))
                return false;
        if (w->kernel) {
                /* A read: every feature as recorded. Wanted bits of fixed features are not
                 * the operator's to set; their active bits still count. */
                size_t at = 0;
                for (size_t i = 0; i < w->kernel->n; i++) {
                        const struct nic_feat *x = &w->kernel->feat[i], *y = feat_find_from(h->kernel, x->name, &at);
                        if (!y || x->active != y->active || (!x->fixed && !y->fixed && x->wanted != y->wanted))
                                return false;
                }
                return true;
        }
        /* A wanted state holds when every changeable feature a name covers is wanted and
         * active as asked. */
        for (size_t k = 0; k < w->n_req; k++) {
                int user = offload_user(w->req[k].name);
                for (size_t i = 0; h->kernel && i < h->kernel->n; i++) {
                        const struct nic_feat *y = &h->kernel->feat[i];
                        if (!y->fixed && (y->wanted != w->req[k].on || y->active != w->req[k].on) &&
                            feat_covered(w->req[k].name, user, y))
                                return false;
                }
        }
        return true;
}

/* Two wanted states: the same names, asked the same way, in the same order (the order is
 * part of the object's name). */
bool nic_equal(const void *a, const void *b) {
        const struct nic_state *x = a, *y = b;

        if (!streq(x->ifname, y->ifname) || x->n_req != y->n_req)
                return false;
        for (size_t k = 0; k < x->n_req; k++)
                if (!streq(x->req[k].name, y->req[k].name) || x->req[k].on != y->req[k].on)
                        return false;
        return true;
}

/* Where after asks for name's wanted bit, what it asks: 1 on, 0 off, -1 nothing. */
static int after_wants(const struct nic_state *a, const char *name) {
        if (a->kernel) {
                const struct nic_feat *x = feat_find(a->kernel, name);
                return x && !x->fixed ? x->wanted : -1;
        }
        for (size_t k = 0; k < a->n_req; k++)
                if (offload_covers(a->req[k].name, name))
                        return a->req[k].on;
        return -1;
}

/* The kernel takes one features request whole, but a medic stopped after the write and
 * before its read-back, or a restore that the kernel took in part (a driver refusing one
 * bit), leaves wanted bits between before and after. medic's own partial change: every
 * wanted bit that moved from before moved to what after asks for it, and at least one did
 * (active bits follow the wanted ones, dependents included, so they may differ). */
bool nic_in_between(const void *before, const void *after, const void *have) {
        const struct nic_state *b = before, *a = after, *h = have;
        bool moved = false;

        if (!b->kernel || b->kernel->n == 0 || !streq(b->ifname, h->ifname) || !streq(a->ifname, b->ifname))
                return false;
        size_t at = 0;
        for (size_t i = 0; i < b->kernel->n; i++) {
                const struct nic_feat *x = &b->kernel->feat[i], *y = feat_find_from(h->kernel, x->name, &at);
                if (!y)
                        return false;
                if (x->fixed || y->fixed || x->wanted == y->wanted)
                        continue;
                if (after_wants(a, x->name) != (int) y->wanted)
                        return false;
                moved = true;
        }
        return moved;
}

/* ---- text ---- */

/* A policy name as `ethtool -k` shows it; the changeable features that differ from that
 * are named. */
static char *describe_req(const struct nic_kernel *k, const struct nic_req *q) {
        _cleanup_free_ char *odd = NULL;
        _cleanup_free_ bool *cov = xcalloc(k->n + 1, sizeof(*cov));
        bool any = false;
        size_t covered = 0;

        int user = offload_user(q->name);

        /* Whether q covers each feature (as req_active() asks it), kept for the walk below. */
        for (size_t i = 0; i < k->n; i++) {
                cov[i] = feat_covered(q->name, user, &k->feat[i]);
                covered += cov[i];
                any = any || (cov[i] && k->feat[i].active);
        }
        if (covered == 0)
                return xasprintf("%s -", q->name);
        for (size_t i = 0; i < k->n; i++) {
                const struct nic_feat *x = &k->feat[i];
                char *part = NULL;
                if (x->fixed || !cov[i])
                        continue;
                if (x->active != any)
                        part = xasprintf("%s %s", x->name, onoff(x->active));
                else if (x->wanted != x->active)
                        part = xasprintf("%s requested %s", covered > 1 ? x->name : "", onoff(x->wanted));
                if (!part)
                        continue;
                text_append(&odd, ", ", "%s", part[0] == ' ' ? part + 1 : part);
                free(part);
        }
        return odd ? xasprintf("%s %s (%s)", q->name, onoff(any), odd) : xasprintf("%s %s", q->name, onoff(any));
}

/* The last description of a read state and what it was made from. On `interface: all`
 * over alike NICs every interface reads the same features, and describing them walks every
 * feature for each requested name: 8,000 instructions an interface, a tenth of the audit of
 * 1,000 interfaces. Kept only for features whose names are offload_intern()'s (process-
 * wide, so equal pointers are equal names) and no list of what a write changed. */
static struct {
        struct nic_feat *feat;
        size_t n;
        char **req; /* the requested names, NULL-terminated */
        char *text;
} described;

static bool described_is(const struct nic_state *s) {
        const struct nic_kernel *k = s->kernel;

        if (!described.text || k->n != described.n || strv_length(described.req) != s->n_req)
                return false;
        for (size_t r = 0; r < s->n_req; r++)
                if (!streq(described.req[r], s->req[r].name))
                        return false;
        for (size_t i = 0; i < k->n; i++) {
                const struct nic_feat *a = &k->feat[i], *b = &described.feat[i];
                if (a->name != b->name || a->group != b->group || a->wanted != b->wanted || a->active != b->active ||
                    a->fixed != b->fixed)
                        return false;
        }
        return true;
}

static void describe_keep(const struct nic_state *s, const char *text) {
        const struct nic_kernel *k = s->kernel;

        for (size_t i = 0; i < k->n; i++)
                if (!k->feat[i].shared)
                        return;
        free(described.feat);
        strv_free(described.req);
        free(described.text);
        described.feat = xmalloc((k->n ? k->n : 1) * sizeof(*k->feat));
        memcpy(described.feat, k->feat, k->n * sizeof(*k->feat));
        described.n = k->n;
        described.req = xcalloc(s->n_req + 1, sizeof(char *));
        for (size_t r = 0; r < s->n_req; r++)
                described.req[r] = xstrdup(s->req[r].name);
        described.text = xstrdup(text);
}

static char *describe_kernel(const struct nic_state *s);

char *nic_describe(const void *state) {
        const struct nic_state *s = state;
        char *text;

        if (!s->kernel || s->kernel->changed)
                return describe_kernel(s);
        if (described_is(s))
                return xstrdup(described.text);
        text = describe_kernel(s);
        describe_keep(s, text);
        return text;
}

static char *describe_kernel(const struct nic_state *s) {
        const struct nic_kernel *k = s->kernel;
        _cleanup_free_ char *text = NULL, *also = NULL;

        for (size_t r = 0; r < s->n_req; r++) {
                _cleanup_free_ char *one = k ? describe_req(k, &s->req[r]) : xasprintf("%s %s", s->req[r].name, onoff(s->req[r].on));
                text_append(&text, ", ", "%s", one);
        }
        if (!text) {
                size_t on = 0;
                for (size_t i = 0; k && i < k->n; i++)
                        on += k->feat[i].active;
                text = xasprintf("%zu of %zu features on", on, k ? k->n : 0);
        }
        /* The dependents the kernel switched with the requested features. */
        for (size_t i = 0; k && k->changed && k->changed[i]; i++) {
                _cleanup_free_ char *name = xstrndup(k->changed[i], strcspn(k->changed[i], " "));
                bool requested = false;
                for (size_t r = 0; r < s->n_req; r++)
                        requested = requested || offload_covers(s->req[r].name, name);
                if (requested)
                        continue;
                text_append(&also, ", ", "%s", k->changed[i]);
        }
        if (also)
                return xasprintf("%s; the kernel also changed %s", text, also);
        return TAKE_PTR(text);
}

/* ---- JSON ---- */

/* The kernel's features in ethtool -k's words, one list per state: small in the journal,
 * and readable there. */
enum feat_class {
        FC_ON,
        FC_OFF,
        FC_REQUESTED_ON,
        FC_REQUESTED_OFF,
        FC_FIXED_ON,
        FC_FIXED_OFF,
        _FC_MAX,
};

static const char *const feat_class_names[_FC_MAX] = {
        [FC_ON] = "on",
        [FC_OFF] = "off",
        [FC_REQUESTED_ON] = "off-requested-on",
        [FC_REQUESTED_OFF] = "on-requested-off",
        [FC_FIXED_ON] = "fixed-on",
        [FC_FIXED_OFF] = "fixed-off",
};

static enum feat_class feat_class(const struct nic_feat *x) {
        if (x->fixed)
                return x->active ? FC_FIXED_ON : FC_FIXED_OFF;
        if (x->wanted != x->active)
                return x->wanted ? FC_REQUESTED_ON : FC_REQUESTED_OFF;
        return x->active ? FC_ON : FC_OFF;
}

static struct nic_feat feat_of_class(const char *name, enum feat_class c) {
        int group;
        const char *in = offload_intern(name, &group);
        /* The process-wide copy where there is one, as a read's: journaled snapshots of many
         * interfaces share it too. */
        struct nic_feat x = in ? (struct nic_feat) { .name = (char *) in, .group = (int8_t) group, .shared = true }
                               : (struct nic_feat) { .name = xstrdup(name), .group = (int8_t) offload_group(name) };
        switch (c) {
        case FC_ON:
                x.wanted = x.active = true;
                break;
        case FC_OFF:
                break;
        case FC_REQUESTED_ON:
                x.wanted = true;
                break;
        case FC_REQUESTED_OFF:
                x.active = true;
                break;
        case FC_FIXED_ON:
                x.fixed = x.active = true;
                break;
        case FC_FIXED_OFF:
                x.fixed = true;
                break;
        case _FC_MAX:
                break;
        }
        return x;
}

int nic_to_json(const void *state, struct json_object **ret) {
        const struct nic_state *s = state;
        struct json_object *j = json_object_new_object(), *fj = json_object_new_object();

        json_object_object_add(j, "interface", json_object_new_string(s->ifname));
        for (size_t i = 0; i < s->n_req; i++)
                json_object_object_add(fj, s->req[i].name, json_object_new_string(onoff(s->req[i].on)));
        json_object_object_add(j, "features", fj);
        if (s->kernel) {
                struct json_object *o = json_object_new_object(), *k = json_object_new_object();
                for (enum feat_class c = 0; c < _FC_MAX; c++) {
                        struct json_object *a = NULL;
                        for (size_t i = 0; i < s->kernel->n; i++)
                                if (feat_class(&s->kernel->feat[i]) == c) {
                                        a = a ?: json_object_new_array();
                                        json_object_array_add(a, json_object_new_string(s->kernel->feat[i].name));
                                }
                        if (a)
                                json_object_object_add(k, feat_class_names[c], a);
                }
                json_object_object_add(o, "kernel", k);
                if (s->kernel->changed) {
                        struct json_object *a = json_object_new_array();
                        for (size_t i = 0; s->kernel->changed[i]; i++)
                                json_object_array_add(a, json_object_new_string(s->kernel->changed[i]));
                        json_object_object_add(o, "changed", a);
                }
                json_object_object_add(j, "observed", o);
        }
        *ret = j;
        return 0;
}

static bool valid_feature_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n >= 32)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
                        return false;
        return true;
}

static int kernel_from_json(struct json_object *o, struct nic_kernel **ret) {
        struct json_object *k = NULL, *v;
        struct nic_kernel *kn;

        if (!json_object_object_get_ex(o, "kernel", &k) && !json_object_object_get_ex(o, "changed", NULL)) {
                *ret = NULL;
                return 0;
        }
        if (k && !json_object_is_type(k, json_type_object))
                return -EBADMSG;
        kn = xcalloc(1, sizeof(*kn));
        for (enum feat_class c = 0; k && c < _FC_MAX; c++) {
                size_t n;
                if (!json_object_object_get_ex(k, feat_class_names[c], &v))
                        continue;
                if (!json_object_is_type(v, json_type_array))
                        goto bad;
                n = json_object_array_length(v);
                kn->feat = xrealloc(kn->feat, (kn->n + n + 1) * sizeof(*kn->feat));
                for (size_t i = 0; i < n; i++) {
                        struct json_object *x = json_object_array_get_idx(v, i);
                        if (!json_object_is_type(x, json_type_string) || !valid_feature_name(json_object_get_string(x)))
                                goto bad;
                        kn->feat[kn->n++] = feat_of_class(json_object_get_string(x), c);
                }
        }
        /* A feature in two lists (or twice in one) would make the snapshot differ from
         * itself: not a journal medic wrote. Sorted, a twice-named one is next to itself (a
         * search per name was quadratic). */
        if (kn->n > 1) {
                _cleanup_free_ const char **sorted = xcalloc(kn->n, sizeof(*sorted));
                for (size_t i = 0; i < kn->n; i++)
                        sorted[i] = kn->feat[i].name;
                qsort(sorted, kn->n, sizeof(*sorted), cmp_str_p);
                for (size_t i = 1; i < kn->n; i++)
                        if (streq(sorted[i - 1], sorted[i]))
                                goto bad;
        }
        if (json_object_object_get_ex(o, "changed", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        goto bad;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        struct json_object *x = json_object_array_get_idx(v, i);
                        if (!json_object_is_type(x, json_type_string))
                                goto bad;
                        strv_push(&kn->changed, xstrdup(json_object_get_string(x)));
                }
        }
        *ret = kn;
        return 0;
bad:
        kernel_free(kn);
        return -EBADMSG;
}

/* The policy's entry with the kernel's features under "observed"; journals written before
 * that hold "kernel" and "changed" beside "features" (a set may be open across an upgrade). */
int nic_from_json(struct json_object *j, void **ret_state) {
        struct json_object *v, *o = j;
        struct nic_state *s = xcalloc(1, sizeof(*s));

        if (!json_get_ifname(j))
                goto bad;
        s->ifname = xstrdup(json_get_ifname(j));
        if (!json_object_object_get_ex(j, "features", &v) || !json_object_is_type(v, json_type_object))
                goto bad;
        s->req = xcalloc(json_object_object_length(v) + 1, sizeof(*s->req));
        json_object_object_foreach(v, name, val) {
                const char *t = json_object_get_string(val);
                if (!valid_feature_name(name) || !json_object_is_type(val, json_type_string) ||
                    !(streq(t, "on") || streq(t, "off")))
                        goto bad;
                s->req[s->n_req++] = (struct nic_req) { .name = xstrdup(name), .on = streq(t, "on") };
        }
        if (json_object_object_get_ex(j, "observed", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        goto bad;
                o = v;
        }
        if (kernel_from_json(o, &s->kernel) < 0)
                goto bad;
        if (s->n_req == 0 && (!s->kernel || s->kernel->n == 0))
                goto bad;
        *ret_state = s;
        return 0;
bad:
        nic_free(s);
        return -EBADMSG;
}
