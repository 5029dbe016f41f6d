/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority states: comparing, describing and their JSON (the kind itself, its plan,
 * reads and writes are in traffic_priority.c). */
#include <ctype.h>
#include <json-c/json.h>
#include <linux/pkt_sched.h>
#include <string.h>

#include "action.h"
#include "tc.h"
#include "traffic_priority.h"

void tp_free(void *p) {
        struct tp_state *s = p;
        if (!s)
                return;
        tc_view_done(&s->v);
        for (unsigned i = 0; i < TC_MAX_BANDS; i++)
                free(s->names[i]);
        free(s->rate_from);
        free(s);
}

static const char *const root_names[] = {
        [TC_ROOT_DEFAULT] = "default",
        [TC_ROOT_MEDIC] = "medic",
        [TC_ROOT_FOREIGN] = "foreign",
        [TC_ROOT_PARTIAL] = "medic-partial",
};

/* One buffer, not a string per port (describe() runs for every interface of `interface:
 * all`). */
char *bands_str(const struct tc_band *bands, char *const *names, unsigned n) {
        size_t len = sizeof("rest");
        char *out, *p;

        for (unsigned b = 0; b < n; b++)
                len += (names && names[b] ? strlen(names[b]) + 1 : 0) + 6 * (size_t) bands[b].n_ports + 3;
        p = out = xmalloc(len);
        for (unsigned b = 0; b < n; b++) {
                if (names && names[b]) {
                        p = stpcpy(p, names[b]);
                        *p++ = ' ';
                }
                for (unsigned k = 0; k < bands[b].n_ports; k++) {
                        char digits[8];
                        size_t i = sizeof(digits);
                        unsigned v = bands[b].ports[k];
                        if (k)
                                *p++ = ',';
                        do
                                digits[--i] = (char) ('0' + v % 10);
                        while ((v /= 10));
                        memcpy(p, digits + i, sizeof(digits) - i);
                        p += sizeof(digits) - i;
                }
                p = stpcpy(p, " > ");
        }
        strcpy(p, "rest");
        return out;
}

static bool bands_equal(const struct tc_view *a, const struct tc_view *b) {
        if (a->n_bands != b->n_bands)
                return false;
        for (unsigned i = 0; i < a->n_bands; i++)
                if (a->bands[i].n_ports != b->bands[i].n_ports ||
                    memcmp(a->bands[i].ports, b->bands[i].ports, a->bands[i].n_ports * sizeof(uint16_t)))
                        return false;
        return true;
}

bool tp_same(const void *want, const void *have) {
        const struct tp_state *w = want, *h = have;

        if (w->v.root != h->v.root)
                return false;
        switch (w->v.root) {
        case TC_ROOT_DEFAULT:
                return true;
        case TC_ROOT_PARTIAL:
                return w->v.backend == h->v.backend && bands_equal(&w->v, &h->v) && w->v.rate == h->v.rate &&
                       w->v.n_classes == h->v.n_classes && w->v.n_filters == h->v.n_filters;
        case TC_ROOT_FOREIGN:
                return streq(w->v.kind, h->v.kind) && w->v.handle == h->v.handle &&
                       w->v.rebuildable == h->v.rebuildable &&
                       (!w->v.rebuildable || (w->v.opts_len == h->v.opts_len &&
                                               memcmp(w->v.opts, h->v.opts, w->v.opts_len) == 0)) &&
                       (w->v.rebuildable || streq_ptr(w->v.detail, h->v.detail));
        case TC_ROOT_MEDIC:
                if (w->v.backend != TC_BACKEND_AUTO && w->v.backend != h->v.backend)
                        return false;
                if (!bands_equal(&w->v, &h->v))
                        return false;
                return h->v.backend != TC_BACKEND_HTB || w->v.rate == h->v.rate;
        case _TC_ROOT_MAX:
                break;
        }
        return false;
}

/* Two wanted roots: the same backend, bands (names included) and, for htb, rate. */
bool tp_equal(const void *a, const void *b) {
        const struct tp_state *x = a, *y = b;

        if (!streq(x->ifname, y->ifname) || x->v.root != y->v.root || x->v.backend != y->v.backend ||
            !bands_equal(&x->v, &y->v) || (x->v.backend == TC_BACKEND_HTB && x->v.rate != y->v.rate))
                return false;
        for (unsigned i = 0; i < x->v.n_bands; i++)
                if (!streq_ptr(x->names[i], y->names[i]))
                        return false;
        return true;
}

/* Is have a part of medic's structure full (a build stopped part way): medic's root for
 * the same bands with a subset of its classes and filters? */
static bool part_of(const struct tc_view *full, const struct tc_view *have) {
        if (full->root != TC_ROOT_MEDIC || have->root != TC_ROOT_PARTIAL)
                return false;
        if (full->backend != TC_BACKEND_AUTO && full->backend != have->backend)
                return false;
        if (full->n_bands != have->n_bands)
                return false;
        for (unsigned b = 0; b < have->n_bands; b++)
                for (unsigned p = 0; p < have->bands[b].n_ports; p++) {
                        bool found = false;
                        for (unsigned q = 0; q < full->bands[b].n_ports; q++)
                                found = found || full->bands[b].ports[q] == have->bands[b].ports[p];
                        if (!found)
                                return false;
                }
        /* 0: the classes were not added yet; else 1:100's rate is the link rate. */
        return have->backend != TC_BACKEND_HTB || have->rate == 0 || have->rate == full->rate;
}

/* medic deletes the root first when the next one has the same handle (the kernel would
 * take a same-handle request as a change of the old root): handle 1: for medic's root, the
 * previous root's own handle for a rebuild. */
static bool deletes_first(const struct tc_view *from, const struct tc_view *to) {
        uint32_t next = 0;

        switch (to->root) {
        case TC_ROOT_DEFAULT:
                return false;
        case TC_ROOT_MEDIC:
        case TC_ROOT_PARTIAL:
                next = TC_MEDIC_HANDLE;
                break;
        case TC_ROOT_FOREIGN:
                next = to->handle;
                break;
        case _TC_ROOT_MAX:
                return false;
        }
        return from->root != TC_ROOT_DEFAULT && from->handle == next;
}

/* The states a medic stopped between before and after (or on its way back) leaves: medic's
 * root partly built toward either end, or no root at all where medic had deleted a root
 * with the handle it was about to use. Someone else's root is never one of them. */
bool tp_in_between(const void *before, const void *after, const void *have) {
        const struct tp_state *b = before, *a = after, *h = have;

        if (!streq(b->ifname, h->ifname) || !streq(a->ifname, h->ifname))
                return false;
        switch (h->v.root) {
        case TC_ROOT_PARTIAL:
                return part_of(&a->v, &h->v) || part_of(&b->v, &h->v);
        case TC_ROOT_DEFAULT:
                return deletes_first(&b->v, &a->v) || deletes_first(&a->v, &b->v);
        case TC_ROOT_MEDIC:
        case TC_ROOT_FOREIGN:
                return false;
        case _TC_ROOT_MAX:
                break;
        }
        return false;
}

char *tp_describe(const void *state) {
        const struct tp_state *s = state;
        _cleanup_free_ char *b = NULL, *r = NULL;

        switch (s->v.root) {
        case TC_ROOT_DEFAULT:
                return xasprintf("kernel default (%s)", s->v.kind[0] ? s->v.kind : "?");
        case TC_ROOT_FOREIGN:
                if (s->v.rebuildable) {
                        _cleanup_free_ char *o = tc_describe_opts(s->v.kind, s->v.opts, s->v.opts_len);
                        return xasprintf("%s %x: %s", s->v.kind, TC_H_MAJ(s->v.handle) >> 16, o);
                }
                return xasprintf("%s %x: (%s)", s->v.kind, TC_H_MAJ(s->v.handle) >> 16, s->v.detail ? s->v.detail : "not medic's");
        case TC_ROOT_PARTIAL:
                if (s->v.backend == TC_BACKEND_HTB)
                        return xasprintf("htb 1: partly built (%u of %u classes, %u filter lines)", s->v.n_classes,
                                         s->v.n_bands + 2, s->v.n_filters);
                return xasprintf("%s 1: partly built (%u filter lines)", s->v.kind, s->v.n_filters);
        case TC_ROOT_MEDIC:
                b = bands_str(s->v.bands, s->names, s->v.n_bands);
                if (s->v.backend == TC_BACKEND_HTB) {
                        r = tc_rate_str(s->v.rate);
                        return xasprintf("htb %s: %s", r, b);
                }
                return xasprintf("%s: %s", tc_backend_name(s->v.backend), b);
        case _TC_ROOT_MAX:
                break;
        }
        return xstrdup("?");
}

static struct json_object *bands_json(const struct tp_state *s) {
        struct json_object *bands = json_object_new_array();
        for (unsigned b = 0; b < s->v.n_bands; b++) {
                struct json_object *o = json_object_new_object(), *ports = json_object_new_array();
                if (s->names[b])
                        json_object_object_add(o, "name", json_object_new_string(s->names[b]));
                for (unsigned p = 0; p < s->v.bands[b].n_ports; p++)
                        json_object_array_add(ports, json_object_new_int(s->v.bands[b].ports[p]));
                json_object_object_add(o, "ports", ports);
                json_object_array_add(bands, o);
        }
        return bands;
}

/* medic's root is the policy's entry: {"interface", "backend", "bands", "rate",
 * "replace-foreign"}. Any other root is no policy: {"interface", "observed": {"root":
 * "default"|"foreign"|"medic-partial", "kind", "handle", ...}}, as the kernel showed it. */
int tp_to_json(const void *state, struct json_object **ret) {
        const struct tp_state *s = state;
        struct json_object *j = json_object_new_object(), *o;

        json_object_object_add(j, "interface", json_object_new_string(s->ifname));
        if (s->v.root == TC_ROOT_MEDIC) {
                json_object_object_add(j, "backend", json_object_new_string(tc_backend_name(s->v.backend)));
                json_object_object_add(j, "bands", bands_json(s));
                if (s->v.rate) {
                        _cleanup_free_ char *r = tc_rate_str(s->v.rate);
                        json_object_object_add(j, "rate", json_object_new_string(r));
                }
                json_object_object_add(j, "replace-foreign", json_object_new_boolean(s->replace_foreign));
                *ret = j;
                return 0;
        }
        o = json_object_new_object();
        json_object_object_add(o, "root", json_object_new_string(root_names[s->v.root]));
        json_object_object_add(o, "kind", json_object_new_string(s->v.kind));
        json_object_object_add(o, "handle", json_object_new_int64(s->v.handle));
        if (s->v.root == TC_ROOT_PARTIAL) {
                json_object_object_add(o, "backend", json_object_new_string(tc_backend_name(s->v.backend)));
                json_object_object_add(o, "bands", bands_json(s));
                json_object_object_add(o, "rate", json_object_new_int64((int64_t) s->v.rate));
                json_object_object_add(o, "classes", json_object_new_int64(s->v.n_classes));
                json_object_object_add(o, "filters", json_object_new_int64(s->v.n_filters));
        }
        if (s->v.root == TC_ROOT_FOREIGN) {
                json_object_object_add(o, "rebuildable", json_object_new_boolean(s->v.rebuildable));
                if (s->v.rebuildable) {
                        _cleanup_free_ char *hex = xmalloc(s->v.opts_len * 2 + 1);
                        for (size_t i = 0; i < s->v.opts_len; i++)
                                sprintf(hex + 2 * i, "%02x", s->v.opts[i]);
                        hex[s->v.opts_len * 2] = 0;
                        json_object_object_add(o, "options", json_object_new_string(hex));
                }
        }
        if (s->v.detail)
                json_object_object_add(o, "detail", json_object_new_string(s->v.detail));
        json_object_object_add(j, "observed", o);
        *ret = j;
        return 0;
}

/* bands as the policy's list (names optional: a read has none) or a partial root's. */
static bool bands_from_json(struct json_object *j, bool partial, struct tp_state *s) {
        struct json_object *v;
        const char *str;

        if (!json_object_object_get_ex(j, "bands", &v) || !json_object_is_type(v, json_type_array) ||
            json_object_array_length(v) < 1 || json_object_array_length(v) > TC_MAX_BANDS)
                return false;
        s->v.n_bands = (unsigned) json_object_array_length(v);
        for (unsigned b = 0; b < s->v.n_bands; b++) {
                struct json_object *o = json_object_array_get_idx(v, b), *ports;
                if ((str = json_get_str(o, "name")))
                        s->names[b] = xstrdup(str);
                /* A partly built root may not have a band's ports yet. */
                if (!json_object_object_get_ex(o, "ports", &ports) || !json_object_is_type(ports, json_type_array) ||
                    json_object_array_length(ports) < (partial ? 0 : 1) || json_object_array_length(ports) > TC_MAX_PORTS)
                        return false;
                for (size_t p = 0; p < json_object_array_length(ports); p++) {
                        int port = json_object_get_int(json_object_array_get_idx(ports, p));
                        if (port < 1 || port > 65535)
                                return false;
                        s->v.bands[b].ports[s->v.bands[b].n_ports++] = (uint16_t) port;
                }
        }
        return true;
}

/* The root as the kernel showed it, in the form of tp_to_json's "observed" (and of every
 * root in journals written before the policy's form: a set may be open across an upgrade). */
static bool view_from_json(struct json_object *j, struct tp_state *s) {
        struct json_object *v;
        const char *str;
        int x = -1;

        if (!(str = json_get_str(j, "root")))
                return false;
        for (int i = 0; i < _TC_ROOT_MAX; i++)
                if (streq(root_names[i], str))
                        x = i;
        if (x < 0)
                return false;
        s->v.root = x;
        if ((str = json_get_str(j, "kind")))
                str_copy(s->v.kind, str, sizeof(s->v.kind));
        if (!json_get_u32(j, "handle", &s->v.handle))
                return false;
        if ((str = json_get_str(j, "detail")))
                s->v.detail = xstrdup(str);
        if (s->v.root == TC_ROOT_MEDIC || s->v.root == TC_ROOT_PARTIAL) {
                bool partial = s->v.root == TC_ROOT_PARTIAL;
                int64_t rate;
                if (!(str = json_get_str(j, "backend")) || (x = tc_backend_from_name(str)) < 0)
                        return false;
                s->v.backend = x;
                /* A rate tc_rate_str() can write in bits (it is bytes/s). */
                if (!json_get_int(j, "rate", &rate) || rate < 0 || (uint64_t) rate > UINT64_MAX / 8)
                        return false;
                s->v.rate = (uint64_t) rate;
                if (!bands_from_json(j, partial, s))
                        return false;
                if (partial) {
                        int64_t k, f;
                        if (!json_get_int(j, "classes", &k) || k < 0 || k > TC_MAX_BANDS + 2 ||
                            !json_get_int(j, "filters", &f) || f < 0 || f > 4096)
                                return false;
                        s->v.n_classes = (unsigned) k;
                        s->v.n_filters = (unsigned) f;
                }
        }
        if (s->v.root == TC_ROOT_FOREIGN) {
                if (!json_object_object_get_ex(j, "rebuildable", &v) || !json_object_is_type(v, json_type_boolean))
                        return false;
                s->v.rebuildable = json_object_get_boolean(v);
                if (s->v.rebuildable) {
                        size_t n;
                        if (!(str = json_get_str(j, "options")) || (n = strlen(str)) == 0 || n % 2 || n > 8192)
                                return false;
                        s->v.opts = xmalloc(n / 2);
                        s->v.opts_len = n / 2;
                        for (size_t i = 0; i < n / 2; i++) {
                                unsigned byte;
                                if (sscanf(str + 2 * i, "%2x", &byte) != 1 || !isxdigit((unsigned char) str[2 * i]) ||
                                    !isxdigit((unsigned char) str[2 * i + 1]))
                                        return false;
                                s->v.opts[i] = (uint8_t) byte;
                        }
                }
        }
        return true;
}

/* medic's root in the policy's form. Its kind and handle are medic's: 1: and the backend. */
static bool medic_from_json(struct json_object *j, struct tp_state *s) {
        struct json_object *v;
        const char *str;
        int x;

        s->v.root = TC_ROOT_MEDIC;
        if (!(str = json_get_str(j, "backend")) || (x = tc_backend_from_name(str)) < 0)
                return false;
        s->v.backend = x;
        if (s->v.backend != TC_BACKEND_AUTO) {
                str_copy(s->v.kind, tc_backend_name(s->v.backend), sizeof(s->v.kind));
                s->v.handle = TC_MEDIC_HANDLE;
        }
        if ((str = json_get_str(j, "rate")) && tc_rate_parse(str, &s->v.rate) < 0)
                return false;
        if (!str && json_object_object_get_ex(j, "rate", NULL))
                return false;
        if (json_object_object_get_ex(j, "replace-foreign", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return false;
                s->replace_foreign = json_object_get_boolean(v);
        }
        return bands_from_json(j, false, s);
}

int tp_from_json(struct json_object *j, void **ret_state) {
        struct tp_state *s = xcalloc(1, sizeof(*s));
        struct json_object *o;
        const char *str;
        bool ok;

        if (!(str = json_get_ifname(j)))
                goto bad;
        str_copy(s->ifname, str, sizeof(s->ifname));
        if (json_get_str(j, "root"))
                ok = view_from_json(j, s); /* the form of earlier journals */
        else if (json_object_object_get_ex(j, "observed", &o))
                ok = json_object_is_type(o, json_type_object) && view_from_json(o, s) && s->v.root != TC_ROOT_MEDIC;
        else
                ok = medic_from_json(j, s);
        if (!ok)
                goto bad;
        *ret_state = s;
        return 0;
bad:
        tp_free(s);
        return -EBADMSG;
}
