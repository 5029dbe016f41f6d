/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority: etcd peer traffic first, client traffic second, the rest last.
 *
 * The etcd guide's recipe is a root prio qdisc with u32 filters. Its published commands
 * send 2380 and 2379 to one band, match IPv4 only, and leave the default priomap, which
 * puts unclassified traffic into the client band. medic builds the corrected structure
 * (actions/tc.h), or an HTB equivalent where the kernel has no sch_prio, and records the
 * previous root so rollback can give it back. */
#include <ctype.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <linux/pkt_sched.h>
#include <string.h>

#include "../agent/netif.h"
#include "../agent/policy.h"
#include "../agent/ynode.h"
#include "action.h"
#include "tc.h"

/* Without a link speed (virtio, lo) HTB gets this rate: high enough not to throttle most
 * links, so the operator should set rate: to the real speed for priorities to bite. */
#define DEFAULT_RATE_BYTES (10000000000ull / 8)
#define MIN_RATE_BYTES (1000000ull / 8)

/* A traffic-priority state: the root of one interface (or, parsed, of what the policy's
 * interface key selects). What the policy asks for is always medic's root, and then the
 * state is the policy's entry: backend, bands, rate. A read may find a root no policy can
 * ask for — the kernel's default, someone else's, medic's partly built — which the state
 * keeps as the kernel showed it, so that rollback can give it back: there the snapshot
 * genuinely differs from a wanted state, and its JSON says so ("observed", below). */
struct tp_state {
        char ifname[IF_NAMESIZE]; /* in a parsed state also "auto" or "all" */
        struct tc_view v;         /* wanted: v.root is TC_ROOT_MEDIC; a parsed v.rate 0 = the link's */
        char *names[TC_MAX_BANDS]; /* the policy's band names (none in a read) */
        bool replace_foreign;      /* the policy's: replace a root medic cannot rebuild */
        char *rate_from;           /* planned: where the HTB rate comes from, for the notes */
        const struct ynode *at;    /* parsed: for claims */
};

static void tp_free(void *p) {
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

static int backend_from_name(const char *s) {
        for (int b = 0; b < _TC_BACKEND_MAX; b++)
                if (streq(tc_backend_name(b), s))
                        return b;
        return -1;
}

/* "1gbit", "100mbit", "2500000kbit": tc's SI bit units. */
static int parse_rate(const char *s, uint64_t *ret_bytes) {
        static const struct { const char *unit; uint64_t mult; } units[] = {
                { "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 }, { "gbit", 1000000000 },
                { "tbit", 1000000000000ull },
        };
        char *end;
        unsigned long long v;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcasecmp(end, units[i].unit) == 0) {
                        if (v > UINT64_MAX / units[i].mult)
                                return -ERANGE;
                        *ret_bytes = v * units[i].mult / 8;
                        return 0;
                }
        return -EINVAL;
}

static bool valid_band_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 15)
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && !isdigit((unsigned char) *s) && *s != '-' && *s != '_')
                        return false;
        return true;
}

static int cmp_port(const void *a, const void *b) {
        return (int) *(const uint16_t *) a - (int) *(const uint16_t *) b;
}

static int parse_bands(const struct ynode *node, struct tp_state *s, struct perr *err) {
        static const char *const keys[] = { "name", "ports", NULL };
        int r = 0;

        if (ynode_expect(node, YNODE_SEQ, "traffic-priority.bands", err) < 0)
                return -EINVAL;
        if (node->n < 1 || node->n > TC_MAX_BANDS) {
                perr_add(err, node, "traffic-priority.bands: %zu bands; give 1 to %d (unmatched traffic always gets a last band of its own)",
                         node->n, TC_MAX_BANDS);
                return -EINVAL;
        }
        for (size_t i = 0; i < node->n; i++) {
                const struct ynode *b = node->vals[i], *v;
                const char *name;

                if (ynode_expect(b, YNODE_MAP, "traffic-priority.bands[]", err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                if (ynode_check_keys(b, "traffic-priority.bands[]", keys, err) < 0)
                        r = -EINVAL;
                if (!(v = ynode_get(b, "name"))) {
                        perr_add(err, b, "traffic-priority.bands[]: missing 'name'");
                        r = -EINVAL;
                } else if (ynode_string(v, "traffic-priority.bands[].name", &name, err) < 0)
                        r = -EINVAL;
                else if (!valid_band_name(name)) {
                        perr_add(err, v, "traffic-priority.bands[].name: '%s' must be 1-15 of [a-z0-9_-]", name);
                        r = -EINVAL;
                } else {
                        for (size_t j = 0; j < i; j++)
                                if (streq(s->names[j], name)) {
                                        perr_add(err, v, "traffic-priority.bands[].name: '%s' is used twice", name);
                                        r = -EINVAL;
                                }
                        s->names[i] = xstrdup(name);
                }
                if (!(v = ynode_get(b, "ports"))) {
                        perr_add(err, b, "traffic-priority.bands[]: missing 'ports'");
                        r = -EINVAL;
                        continue;
                }
                if (ynode_expect(v, YNODE_SEQ, "traffic-priority.bands[].ports", err) < 0) {
                        r = -EINVAL;
                        continue;
                }
                if (v->n < 1 || v->n > TC_MAX_PORTS) {
                        perr_add(err, v, "traffic-priority.bands[].ports: %zu ports; give 1 to %d", v->n, TC_MAX_PORTS);
                        r = -EINVAL;
                        continue;
                }
                for (size_t k = 0; k < v->n; k++) {
                        unsigned long long port;
                        if (ynode_uint(v->vals[k], "traffic-priority.bands[].ports[]", 1, 65535, &port, err) < 0) {
                                r = -EINVAL;
                                continue;
                        }
                        for (unsigned bb = 0; bb <= i; bb++)
                                for (unsigned pp = 0; pp < s->v.bands[bb].n_ports; pp++)
                                        if (s->v.bands[bb].ports[pp] == port) {
                                                perr_add(err, v->vals[k], "traffic-priority.bands[].ports: %llu is already in band '%s'",
                                                         port, s->names[bb] ? s->names[bb] : "?");
                                                r = -EINVAL;
                                        }
                        s->v.bands[i].ports[s->v.bands[i].n_ports++] = (uint16_t) port;
                }
                qsort(s->v.bands[i].ports, s->v.bands[i].n_ports, sizeof(uint16_t), cmp_port);
        }
        s->v.n_bands = (unsigned) node->n;
        return r;
}

static int tp_parse(const struct ynode *node, const struct policy *pol, void **ret_state, struct perr *err) {
        static const char *const keys[] = { "interface", "backend", "bands", "rate", "replace-foreign", NULL };
        _cleanup_free_ char *ifname = NULL;
        const struct ynode *v;
        struct tp_state *s;
        const char *str;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "traffic-priority", err) < 0)
                return -EINVAL;
        if (ynode_check_keys(node, "traffic-priority", keys, err) < 0)
                r = -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->at = node;
        s->v.root = TC_ROOT_MEDIC;
        s->v.backend = TC_BACKEND_AUTO;

        if (!(v = ynode_get(node, "interface"))) {
                perr_add(err, node, "traffic-priority: missing 'interface' (an interface, an interface target, auto or all)");
                r = -EINVAL;
        } else if (policy_interface(v, pol, "traffic-priority.interface", &ifname, err) < 0)
                r = -EINVAL;
        else /* a name, auto or all: policy_interface() checked its length */
                snprintf(s->ifname, sizeof s->ifname, "%s", ifname);
        if ((v = ynode_get(node, "backend"))) {
                int b;
                if (ynode_string(v, "traffic-priority.backend", &str, err) < 0)
                        r = -EINVAL;
                else if ((b = backend_from_name(str)) < 0) {
                        perr_add(err, v, "traffic-priority.backend: '%s' is not prio, htb or auto", str);
                        r = -EINVAL;
                } else
                        s->v.backend = b;
        }
        if (!(v = ynode_get(node, "bands"))) {
                perr_add(err, node, "traffic-priority: missing 'bands' (the first band is served first)");
                r = -EINVAL;
        } else if (parse_bands(v, s, err) < 0)
                r = -EINVAL;
        if ((v = ynode_get(node, "rate"))) {
                int q;
                if (ynode_string(v, "traffic-priority.rate", &str, err) < 0)
                        r = -EINVAL;
                else if (s->v.backend == TC_BACKEND_PRIO) {
                        perr_add(err, v, "traffic-priority.rate: only the htb backend (or auto) shapes to a rate");
                        r = -EINVAL;
                } else if ((q = parse_rate(str, &s->v.rate)) < 0 || s->v.rate < MIN_RATE_BYTES) {
                        perr_add(err, v, "traffic-priority.rate: '%s' is not a rate of at least 1mbit (e.g. 1gbit, 25gbit, 100mbit)", str);
                        r = -EINVAL;
                }
        }
        if ((v = ynode_get(node, "replace-foreign")) && ynode_bool(v, "traffic-priority.replace-foreign", &s->replace_foreign, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                tp_free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

static char *bands_str(const struct tc_band *bands, char *const *names, unsigned n) {
        char *out = xstrdup("");
        for (unsigned b = 0; b < n; b++) {
                char *x = xasprintf("%s%s%s%s", out, names && names[b] ? names[b] : "", names && names[b] ? " " : "", "");
                free(out), out = x;
                for (unsigned p = 0; p < bands[b].n_ports; p++) {
                        x = xasprintf("%s%s%u", out, p ? "," : "", bands[b].ports[p]);
                        free(out), out = x;
                }
                x = xasprintf("%s > ", out);
                free(out), out = x;
        }
        char *x = xasprintf("%srest", out);
        free(out);
        return x;
}

static void tp_claims(const void *state, claim_fn fn, void *userdata) {
        const struct tp_state *s = state;
        _cleanup_free_ char *obj = xasprintf("interface %s", s->ifname);
        _cleanup_free_ char *b = bands_str(s->v.bands, NULL, s->v.n_bands);
        _cleanup_free_ char *r = s->v.rate ? tc_rate_str(s->v.rate) : NULL;
        _cleanup_free_ char *val = xasprintf("%s %s%s%s", tc_backend_name(s->v.backend), b, r ? " at " : "", r ? r : "");
        fn(userdata, obj, val, s->at);
}

/* The link speed from sysfs (Mbit/s); virtual and some virtio NICs report none. */
static uint64_t link_rate(const char *ifname, const char **from) {
        _cleanup_free_ char *path = xasprintf("/sys/class/net/%s/speed", ifname), *buf = NULL;
        long mbit;

        if (read_file(path, &buf, NULL) >= 0 && (mbit = strtol(buf, NULL, 10)) > 0) {
                *from = "the link speed in sysfs";
                return (uint64_t) mbit * 1000000 / 8;
        }
        *from = "a default: the link reports no speed";
        return DEFAULT_RATE_BYTES;
}

static struct tp_state *want_for(const struct tp_state *s, const char *ifname) {
        struct tp_state *w = xcalloc(1, sizeof(*w));
        const char *from = "rate:";

        snprintf(w->ifname, sizeof(w->ifname), "%s", ifname);
        w->v.root = TC_ROOT_MEDIC;
        w->v.backend = s->v.backend;
        memcpy(w->v.bands, s->v.bands, sizeof(w->v.bands));
        w->v.n_bands = s->v.n_bands;
        w->v.rate = s->v.rate ? s->v.rate : link_rate(ifname, &from);
        w->rate_from = xstrdup(from);
        for (unsigned b = 0; b < s->v.n_bands; b++)
                w->names[b] = xstrdup(s->names[b]);
        w->replace_foreign = s->replace_foreign;
        return w;
}

static char *tp_describe(const void *state);

static int tp_plan(struct ctx *ctx, const void *state, struct plan_list *out) {
        const struct tp_state *s = state;
        _cleanup_free_ struct netif *ifs = NULL;
        size_t n = 0;
        int r;

        r = netif_resolve(ctx, s->ifname, &ifs, &n);
        if (r == -ENODEV || r == -ENOENT) {
                struct tp_state *w = want_for(s, s->ifname);
                plan_list_finding(out, xasprintf("interface %s", s->ifname),
                                  xstrdup(ctx->errmsg ? ctx->errmsg : strerror(-r)), tp_describe(w));
                tp_free(w);
                ctx_clear(ctx);
                return 0;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                plan_list_add(out, xstrdup(ifs[i].name), want_for(s, ifs[i].name), NULL);
        return 0;
}

static uint64_t tp_caps(const void *state _unused_) {
        return CAP_TO_MASK(CAP_NET_ADMIN);
}

static int tp_read(struct ctx *ctx, const void *state, void **ret_have) {
        const struct tp_state *s = state;
        struct netif ifc;
        struct tp_state *h;
        int r;

        r = netif_by_name(ctx, s->ifname, &ifc);
        if (r == -ENODEV) {
                ctx_fail(ctx, "%s: the interface is gone: this change is void", s->ifname);
                return -ESRCH;
        }
        if (r < 0)
                return r;
        h = xcalloc(1, sizeof(*h));
        snprintf(h->ifname, sizeof(h->ifname), "%s", s->ifname);
        r = tc_read(ctx, ifc.ifindex, &h->v);
        if (r < 0) {
                tp_free(h);
                return r;
        }
        *ret_have = h;
        return 0;
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

static bool tp_same(const void *want, const void *have) {
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
static bool tp_equal(const void *a, const void *b) {
        const struct tp_state *x = a, *y = b;

        if (!streq(x->ifname, y->ifname) || x->v.root != y->v.root || x->v.backend != y->v.backend ||
            !bands_equal(&x->v, &y->v) || (x->v.backend == TC_BACKEND_HTB && x->v.rate != y->v.rate))
                return false;
        for (unsigned i = 0; i < x->v.n_bands; i++)
                if (!streq_ptr(x->names[i], y->names[i]))
                        return false;
        return true;
}

static int ifindex_of(struct ctx *ctx, const char *ifname, int *ret) {
        struct netif ifc;
        int r = netif_by_name(ctx, ifname, &ifc);
        if (r < 0)
                return r;
        *ret = ifc.ifindex;
        return 0;
}

/* Put an interface's root into state s (medic's, the kernel default, or a previous one). */
static int put_state(struct ctx *ctx, const struct tp_state *s) {
        enum tc_backend used;
        int ifindex, r;

        r = ifindex_of(ctx, s->ifname, &ifindex);
        if (r < 0)
                return r;
        switch (s->v.root) {
        case TC_ROOT_DEFAULT:
                return tc_delete_root(ctx, ifindex, s->ifname);
        case TC_ROOT_MEDIC: {
                enum tc_backend backend = s->v.backend;
                const char *how;
                /* Where the probe knows prio cannot be had, say its reason: the kernel's bare
                 * ENOENT is the same for a module it may not load and for CONFIG_NET_SCH_PRIO
                 * unset. And apply then does what audit's note predicted. */
                if (backend != TC_BACKEND_HTB && tc_kernel_has_prio(&how) == 0) {
                        if (backend == TC_BACKEND_PRIO) {
                                ctx_fail(ctx, "%s: kernel has no 'prio' qdisc (%s); use backend: htb or auto", s->ifname, how);
                                return -ENOENT;
                        }
                        ctx_note(ctx, "backend auto: used htb, because this kernel has no 'prio' qdisc (%s)", how);
                        backend = TC_BACKEND_HTB;
                }
                return tc_build(ctx, ifindex, s->ifname, backend, s->v.bands, s->v.n_bands, s->v.rate, &used);
        }
        case TC_ROOT_FOREIGN:
        case TC_ROOT_PARTIAL:
                if (s->v.rebuildable)
                        return tc_rebuild(ctx, ifindex, s->ifname, &s->v);
                /* Applied with replace-foreign: the best medic can do is the kernel default. */
                r = tc_delete_root(ctx, ifindex, s->ifname);
                if (r >= 0)
                        ctx_fail(ctx, "%s: the previous root %s %x: cannot be rebuilt (%s); medic removed its own root and the kernel default is back",
                                 s->ifname, s->v.kind, TC_H_MAJ(s->v.handle) >> 16, s->v.detail ? s->v.detail : "?");
                return r < 0 ? r : -EOPNOTSUPP;
        case _TC_ROOT_MAX:
                break;
        }
        return -EINVAL;
}

static int tp_apply(struct ctx *ctx, const void *want, const void *have) {
        const struct tp_state *w = want, *h = have;

        if (w->v.root == TC_ROOT_MEDIC && h->v.root == TC_ROOT_PARTIAL && !w->replace_foreign) {
                ctx_fail(ctx, "%s: the root qdisc %s 1: is %s, and no interrupted change set of this host records it; set replace-foreign: true to replace it anyway",
                         w->ifname, h->v.kind, h->v.detail ? h->v.detail : "medic's, partly built");
                return -EBUSY;
        }
        if (w->v.root == TC_ROOT_MEDIC && h->v.root == TC_ROOT_FOREIGN && !h->v.rebuildable && !w->replace_foreign) {
                ctx_fail(ctx, "%s: the root qdisc %s %x: is not medic's and medic could not give it back on rollback (%s); set replace-foreign: true to replace it anyway",
                         w->ifname, h->v.kind, TC_H_MAJ(h->v.handle) >> 16, h->v.detail ? h->v.detail : "?");
                return -EBUSY;
        }
        return put_state(ctx, w);
}

/* From after, or from any state in_between() accepts: put_state() deletes whatever root
 * holds medic's handle (or the previous root's) before it builds, and a root put with
 * NLM_F_REPLACE replaces a partial one whole. Not apply(before): apply refuses a partly
 * built or foreign root unless the policy says replace-foreign, and a before that was
 * medic's own root (other bands) must come back over medic's partial build regardless. */
static int tp_restore(struct ctx *ctx, const void *before, const void *have _unused_) {
        return put_state(ctx, before);
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
static bool tp_in_between(const void *before, const void *after, const void *have) {
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

static void tp_notes(struct ctx *ctx _unused_, const void *want, const void *have, char ***notes) {
        const struct tp_state *w = want, *h = have;
        enum tc_backend eff = w->v.backend;
        const char *how = NULL;

        if (w->v.root != TC_ROOT_MEDIC)
                return;
        if (w->v.backend == TC_BACKEND_PRIO && tc_kernel_has_prio(&how) == 0)
                strv_push(notes, xasprintf("backend prio: this kernel has no 'prio' qdisc (%s), so apply will fail; use backend: htb or auto", how));
        if (w->v.backend == TC_BACKEND_AUTO) {
                int has = tc_kernel_has_prio(&how);
                if (h->v.root == TC_ROOT_MEDIC)
                        eff = h->v.backend;
                else if (has == 1)
                        eff = TC_BACKEND_PRIO;
                else if (has == 0)
                        eff = TC_BACKEND_HTB;
                if (has == 1)
                        strv_push(notes, xasprintf("backend auto: prio (%s)", how));
                else if (has == 0)
                        strv_push(notes, xasprintf("backend auto: htb, because this kernel has no 'prio' qdisc (%s)", how));
                else
                        strv_push(notes, xasprintf("backend auto: apply tries prio and uses htb if this kernel has no 'prio' qdisc (%s)", how));
        }
        if (eff != TC_BACKEND_PRIO) {
                _cleanup_free_ char *r = tc_rate_str(w->v.rate);
                strv_push(notes, xasprintf("htb shapes %s to %s (%s); HTB priority orders traffic only where this host's HTB is the bottleneck, so set rate: to the real link speed",
                                           w->ifname, r, w->rate_from ? w->rate_from : "rate:"));
        }
        switch (h->v.root) {
        case TC_ROOT_DEFAULT:
                break;
        case TC_ROOT_MEDIC:
                break;
        case TC_ROOT_FOREIGN:
                if (h->v.rebuildable)
                        strv_push(notes, xasprintf("the root qdisc %s %x: is not medic's; rollback re-creates it as it is now",
                                                   h->v.kind, TC_H_MAJ(h->v.handle) >> 16));
                else if (w->replace_foreign)
                        strv_push(notes, xasprintf("the root qdisc %s %x: is not medic's (%s): replace-foreign is set, so apply replaces it and rollback leaves the kernel default",
                                                   h->v.kind, TC_H_MAJ(h->v.handle) >> 16, h->v.detail ? h->v.detail : "?"));
                else
                        strv_push(notes, xasprintf("the root qdisc %s %x: is not medic's (%s): apply refuses this interface unless replace-foreign: true",
                                                   h->v.kind, TC_H_MAJ(h->v.handle) >> 16, h->v.detail ? h->v.detail : "?"));
                break;
        case TC_ROOT_PARTIAL:
                strv_push(notes, xasprintf("the root qdisc %s 1: is %s: an interrupted change set is restored by the next apply; without one, apply refuses this interface unless replace-foreign: true",
                                           h->v.kind, h->v.detail ? h->v.detail : "medic's, partly built"));
                break;
        case _TC_ROOT_MAX:
                break;
        }
}

static char *tp_describe(const void *state) {
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
static int tp_to_json(const void *state, struct json_object **ret) {
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
                snprintf(s->v.kind, sizeof(s->v.kind), "%s", str);
        if (!json_get_u32(j, "handle", &s->v.handle))
                return false;
        if ((str = json_get_str(j, "detail")))
                s->v.detail = xstrdup(str);
        if (s->v.root == TC_ROOT_MEDIC || s->v.root == TC_ROOT_PARTIAL) {
                bool partial = s->v.root == TC_ROOT_PARTIAL;
                int64_t rate;
                if (!(str = json_get_str(j, "backend")) || (x = backend_from_name(str)) < 0)
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
        if (!(str = json_get_str(j, "backend")) || (x = backend_from_name(str)) < 0)
                return false;
        s->v.backend = x;
        if (s->v.backend != TC_BACKEND_AUTO) {
                snprintf(s->v.kind, sizeof(s->v.kind), "%s", tc_backend_name(s->v.backend));
                s->v.handle = TC_MEDIC_HANDLE;
        }
        if ((str = json_get_str(j, "rate")) && parse_rate(str, &s->v.rate) < 0)
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

static int tp_from_json(struct json_object *j, void **ret_state) {
        struct tp_state *s = xcalloc(1, sizeof(*s));
        struct json_object *o;
        const char *str;
        bool ok;

        if (!(str = json_get_str(j, "interface")) || strlen(str) >= sizeof(s->ifname))
                goto bad;
        snprintf(s->ifname, sizeof(s->ifname), "%s", str);
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

const struct action_ops traffic_priority_ops = {
        .kind = "traffic-priority",
        .parse = tp_parse,
        .claims = tp_claims,
        .plan = tp_plan,
        .caps = tp_caps,
        .read = tp_read,
        .same = tp_same,
        .equal = tp_equal,
        .apply = tp_apply,
        .restore = tp_restore,
        .in_between = tp_in_between,
        .notes = tp_notes,
        .describe = tp_describe,
        .to_json = tp_to_json,
        .from_json = tp_from_json,
        .free = tp_free,
};
