/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority: etcd peer traffic first, client traffic second, the rest last.
 *
 * The etcd guide's recipe is a root prio qdisc with u32 filters. Its published commands
 * send 2380 and 2379 to one band, match IPv4 only, and leave the default priomap, which
 * puts unclassified traffic into the client band. medic builds the corrected structure
 * (actions/tc.h), or an HTB equivalent where the kernel has no sch_prio, and records the
 * previous root so rollback can give it back.
 *
 * The state type, its comparisons, text and JSON are in traffic_priority_state.c; the
 * kernel side in tc*.c. */
#include <ctype.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <linux/pkt_sched.h>
#include <string.h>

#include "../agent/kernel/netif.h"
#include "../agent/ynode.h"
#include "action.h"
#include "target.h"
#include "tc.h"
#include "traffic_priority.h"

/* Without a link speed (virtio, lo) HTB gets this rate: high enough not to throttle most
 * links, so the operator should set rate: to the real speed for priorities to bite. */
#define DEFAULT_RATE_BYTES (10000000000ull / 8)
#define MIN_RATE_BYTES (1000000ull / 8)

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
                str_copy(s->ifname, ifname, sizeof s->ifname);
        if ((v = ynode_get(node, "backend"))) {
                int b;
                if (ynode_string(v, "traffic-priority.backend", &str, err) < 0)
                        r = -EINVAL;
                else if ((b = tc_backend_from_name(str)) < 0) {
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
                } else if ((q = tc_rate_parse(str, &s->v.rate)) < 0 || s->v.rate < MIN_RATE_BYTES) {
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

        str_copy(w->ifname, ifname, sizeof(w->ifname));
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


static int tp_plan(struct ctx *ctx, const void *state, struct plan_list *out) {
        const struct tp_state *s = state;
        _cleanup_free_ struct netif *ifs = NULL;
        size_t n = 0;
        int r;

        r = ctx_net_why(ctx, netif_resolve(ctx_net(ctx), s->ifname, &ifs, &n));
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

        r = ctx_net_why(ctx, netif_by_name(ctx_net(ctx), s->ifname, &ifc));
        if (r == -ENODEV) {
                ctx_fail(ctx, "%s: the interface is gone: this change is void", s->ifname);
                return -ESRCH;
        }
        if (r < 0)
                return r;
        h = xcalloc(1, sizeof(*h));
        str_copy(h->ifname, s->ifname, sizeof(h->ifname));
        r = tc_read(ctx, ifc.ifindex, &h->v);
        if (r < 0) {
                tp_free(h);
                return r;
        }
        *ret_have = h;
        return 0;
}

static int ifindex_of(struct ctx *ctx, const char *ifname, int *ret) {
        struct netif ifc;
        int r = ctx_net_why(ctx, netif_by_name(ctx_net(ctx), ifname, &ifc));
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

/* medic's own root that someone partly changed (a class's rate or the priomap, a filter
 * deleted or added): medic's handle and kind on an interface where the newest change set in
 * force recorded medic's root. It is medic's to put right. A root someone else built, or
 * one whose medic root an operator rolled back, is not. */
static bool own_root_changed(struct ctx *ctx, const struct tp_state *h) {
        const struct tp_state *rec;

        if ((h->v.root != TC_ROOT_FOREIGN && h->v.root != TC_ROOT_PARTIAL) || h->v.handle != TC_MEDIC_HANDLE ||
            !ctx->recorded_after || !(rec = ctx->recorded_after(ctx)))
                return false;
        return rec->v.root == TC_ROOT_MEDIC && streq(rec->ifname, h->ifname) &&
               (rec->v.backend == TC_BACKEND_HTB || rec->v.backend == TC_BACKEND_PRIO) &&
               streq(h->v.kind, tc_backend_name(rec->v.backend));
}

static int tp_apply(struct ctx *ctx, const void *want, const void *have) {
        const struct tp_state *w = want, *h = have;

        if (w->v.root == TC_ROOT_MEDIC && own_root_changed(ctx, h))
                return put_state(ctx, w);
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
        if (own_root_changed(ctx, h)) {
                strv_push(notes, xasprintf("the root qdisc %s 1: is medic's, changed by someone since (%s): apply puts it back",
                                           h->v.kind, h->v.detail ? h->v.detail : "partly taken apart"));
                return;
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
        .run_new = tc_run_new,
        .run_free = tc_run_free,
};
