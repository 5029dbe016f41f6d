/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nic-offload: offload features of network interfaces, as `ethtool -K eth0 tx off rx off`
 * would change them — through the kernel's ethtool netlink family (or the SIOCETHTOOL
 * ioctl), never by running ethtool.
 *
 * One item per interface: its features change together, and the kernel's dependency rules
 * tie them (turning tx checksumming off also turns TSO off). So a snapshot of an interface
 * (what read() returns, and what the journal records as before/after) holds every feature
 * with its wanted and active bit, and rollback restores the wanted bits: the kernel then
 * brings the active ones back, dependents included, and `ethtool -k` reads as before.
 *
 * A wanted state is the policy's request (names → on/off) for one interface. It holds when
 * every changeable kernel feature a name covers is wanted and active as asked. Fixed
 * features ("[fixed]": not in hw, or never changeable) are left out: the plan reports them
 * as items of their own that cannot be changed on this NIC.
 *
 * The state type, its comparisons, text and JSON are in nic_offload_state.c. */
#include <json-c/json.h>
#include <linux/capability.h>
#include <string.h>

#include "../agent/kernel/ethtool.h"
#include "../agent/kernel/ethtool_names.h"
#include "../agent/kernel/netif.h"
#include "../agent/ynode.h"
#include "action.h"
#include "nic_offload.h"
#include "target.h"

/* The kind's run (run_new/run_free): an ethtool handle, its features dumped once and kept
 * until a write. */
static void *nic_run_new(void) {
        return ethtool_new();
}

static void nic_run_free(void *e) {
        ethtool_free(e);
}

static struct ethtool *eth(struct ctx *ctx) {
        return ctx_run(ctx, &nic_offload_ops);
}

/* r; when it is an error, the ethtool handle's reason becomes ctx's. */
static int eth_why(struct ctx *ctx, int r) {
        if (r < 0 && ethtool_why(eth(ctx)))
                ctx_fail(ctx, "%s", ethtool_why(eth(ctx)));
        return r;
}

/* Two names of one action overlap when one covers the other's kernel feature(s). */
static bool names_overlap(const char *a, const char *b) {
        if (streq(offload_canonical(a), offload_canonical(b)))
                return true;
        if (offload_pattern(a) && !offload_pattern(b))
                return offload_covers(a, b);
        if (offload_pattern(b) && !offload_pattern(a))
                return offload_covers(b, a);
        return false;
}

static int parse_features(const struct ynode *m, struct nic_state *s, struct perr *err) {
        int r = 0;

        if (ynode_expect(m, YNODE_MAP, "nic-offload.features", err) < 0)
                return -EINVAL;
        if (m->n == 0) {
                perr_add(err, m, "nic-offload.features: needs at least one feature");
                return -EINVAL;
        }
        s->req = xcalloc(m->n, sizeof(*s->req));
        s->at = xcalloc(m->n, sizeof(*s->at));
        for (size_t i = 0; i < m->n; i++) {
                const struct ynode *k = m->keys[i], *v = m->vals[i];
                bool on;

                /* The kernel's own list is only known at run time; the loader checks against
                 * ethtool's names and the kernel names medic knows, so a typo is an error here
                 * and not a no-op on every host. */
                if (!offload_known_name(k->value)) {
                        perr_add(err, k, "nic-offload.features: unknown offload feature '%s' (ethtool's names, like tx-checksumming or generic-receive-offload, or a kernel feature name, like tx-checksum-ip-generic)",
                                 k->value);
                        r = -EINVAL;
                        continue;
                }
                if (v->type != YNODE_SCALAR || !(streq(v->value, "on") || streq(v->value, "off") ||
                                                 (v->plain && (streq(v->value, "true") || streq(v->value, "false"))))) {
                        perr_add(err, v, "nic-offload.features.%s: expected on or off", k->value);
                        r = -EINVAL;
                        continue;
                }
                on = streq(v->value, "on") || streq(v->value, "true");
                for (size_t j = 0; j < s->n_req; j++)
                        if (names_overlap(s->req[j].name, k->value) && s->req[j].on != on) {
                                perr_add(err, k, "nic-offload.features: %s: %s contradicts %s: %s (it covers the same kernel feature)",
                                         k->value, onoff(on), s->req[j].name, onoff(s->req[j].on));
                                r = -EINVAL;
                        }
                s->req[s->n_req] = (struct nic_req) { .name = xstrdup(k->value), .on = on };
                s->at[s->n_req++] = k;
        }
        return r;
}

static int nic_parse(const struct ynode *node, const struct policy *pol, void **ret_state, struct perr *err) {
        static const char *const keys[] = { "interface", "features", NULL };
        const struct ynode *v;
        struct nic_state *s;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "nic-offload", err) < 0)
                return -EINVAL;
        if (ynode_check_keys(node, "nic-offload", keys, err) < 0)
                r = -EINVAL;
        s = xcalloc(1, sizeof(*s));
        if (!(v = ynode_get(node, "interface"))) {
                perr_add(err, node, "nic-offload: missing 'interface' (an interface target, a name, auto or all)");
                r = -EINVAL;
        } else if (policy_interface(v, pol, "nic-offload.interface", &s->ifname, err) < 0)
                r = -EINVAL;
        if (!(v = ynode_get(node, "features"))) {
                perr_add(err, node, "nic-offload: missing 'features' (a map of feature: on|off)");
                r = -EINVAL;
        } else if (parse_features(v, s, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                nic_free(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

static void nic_claims(const void *state, claim_fn fn, void *userdata) {
        const struct nic_state *s = state;
        for (size_t i = 0; i < s->n_req; i++) {
                _cleanup_free_ char *obj = xasprintf("%s offload %s", s->ifname, offload_canonical(s->req[i].name));
                fn(userdata, obj, onoff(s->req[i].on), s->at[i]);
        }
}

/* The index of a kernel name, from position *at on, round the list. Snapshots list the
 * features in the kernel's order (a journal's grouped by class, each group in that order),
 * so the next name asked for is nearly always at or just after the last one found: a walk
 * over a snapshot is then linear, not quadratic (65 features, 1,000 interfaces). The names
 * of one list are distinct, so what is found is what a search from the start finds. */
static int feat_index_from(char *const *names, unsigned n, const char *name, unsigned *at) {
        for (unsigned k = 0; k < n; k++) {
                unsigned i = (*at + k) % n;
                if (streq(names[i], name)) {
                        *at = i + 1;
                        return (int) i;
                }
        }
        return -1;
}

/* The interface as the kernel holds it: every feature, and the policy's names of the state
 * read for as `ethtool -k` shows them. */
static int nic_read(struct ctx *ctx, const void *state, void **ret_have) {
        const struct nic_state *w = state;
        const struct eth_features *f;
        struct nic_state *h;
        struct nic_kernel *k;
        char **names, *const *changes;
        unsigned n;
        int r;

        r = eth_why(ctx, ethtool_features(eth(ctx), w->ifname, &f));
        if (r >= 0)
                r = eth_why(ctx, ethtool_names(eth(ctx), w->ifname, &names, &n));
        if (r < 0)
                return r;
        /* The names are the run's, the same for every interface: each feature of a snapshot
         * points at the process's one copy and carries its group, instead of a copy per
         * interface and a lookup per question (a fifth of an audit of 1,000 interfaces). */
        const char *const *interned;
        const int8_t *groups;
        ethtool_names_interned(eth(ctx), &interned, &groups);
        k = xcalloc(1, sizeof(*k));
        k->feat = xcalloc(n ? n : 1, sizeof(*k->feat));
        for (unsigned i = 0; i < n && i < f->n_bits; i++) {
                if (!names[i][0])
                        continue; /* a retired bit: no name, never set */
                bool shared = interned && interned[i];
                k->feat[k->n++] = (struct nic_feat) { .name = shared ? (char *) interned[i] : xstrdup(names[i]),
                                                      .group = groups ? groups[i] : (int8_t) offload_group(names[i]),
                                                      .shared = shared, .wanted = bit_on(f->wanted, i),
                                                      .active = bit_on(f->active, i), .fixed = eth_feature_fixed(f, i) };
        }
        changes = ethtool_last_changes(eth(ctx), w->ifname);
        for (size_t i = 0; changes && changes[i]; i++)
                strv_push(&k->changed, xstrdup(changes[i]));
        h = xcalloc(1, sizeof(*h));
        h->ifname = xstrdup(w->ifname);
        h->req = xcalloc(w->n_req ? w->n_req : 1, sizeof(*h->req));
        for (size_t i = 0; i < w->n_req; i++)
                h->req[h->n_req++] = (struct nic_req) { .name = xstrdup(w->req[i].name), .on = req_active(k, w->req[i].name) };
        h->kernel = k;
        *ret_have = h;
        return 0;
}

/* ---- plan ---- */

/* Which of the kernel's feature names each policy name covers: the same for every interface
 * of a run (the names are the run's), so worked out once, not per interface. */
struct cover_memo {
        char **names; /* the run's, whose coverage is in cov */
        unsigned n;
        bool *cov; /* [k * n + i]: request k covers names[i] */
};

static const bool *covers_of(struct cover_memo *m, const struct nic_state *s, char **names, unsigned n) {
        if (m->names != names || m->n != n || !m->cov) {
                free(m->cov);
                m->cov = xcalloc((size_t) s->n_req * n + 1, sizeof(*m->cov));
                for (size_t k = 0; k < s->n_req; k++)
                        for (unsigned i = 0; i < n; i++)
                                m->cov[k * n + i] = offload_covers(s->req[k].name, names[i]);
                m->names = names;
                m->n = n;
        }
        return m->cov;
}

static void plan_interface(struct ctx *ctx, const struct nic_state *s, const char *ifname, struct plan_list *out,
                           struct cover_memo *memo) {
        struct nic_state *w = xcalloc(1, sizeof(*w));
        const bool *cov = NULL;
        _cleanup_free_ char *joined = NULL;
        const struct eth_features *f = NULL;
        char **names = NULL;
        unsigned n = 0;

        w->ifname = xstrdup(ifname);
        w->req = xcalloc(s->n_req, sizeof(*w->req));
        /* Without the features now, read() reports why; the plan keeps every name. */
        if (ethtool_features(eth(ctx), ifname, &f) < 0 || ethtool_names(eth(ctx), ifname, &names, &n) < 0)
                f = NULL;
        ctx_clear(ctx);
        if (f)
                cov = covers_of(memo, s, names, n);
        for (size_t k = 0; k < s->n_req; k++) {
                const struct nic_req *q = &s->req[k];
                _cleanup_free_ char *fixed = NULL;
                size_t covered = 0, changeable = 0;

                for (unsigned i = 0; f && i < n && i < f->n_bits; i++) {
                        if (!cov[k * n + i])
                                continue;
                        covered++;
                        if (!eth_feature_fixed(f, i)) {
                                changeable++;
                                continue;
                        }
                        if (bit_on(f->active, i) != q->on) {
                                text_append(&fixed, ", ", "%s", names[i]);
                        }
                }
                if (f && covered == 0) {
                        plan_list_add(out, xasprintf("%s offload %s", ifname, q->name), NULL,
                                      xasprintf("this kernel has no offload feature %s", q->name));
                        continue;
                }
                if (fixed) {
                        plan_list_add(out, xasprintf("%s offload %s", ifname, q->name), NULL,
                                      xasprintf("cannot change on this NIC: %s is fixed %s", fixed, onoff(!q->on)));
                        out->items[out->n - 1].wanted = xasprintf("%s %s", q->name, onoff(q->on));
                }
                if (fixed && changeable == 0)
                        continue;
                w->req[w->n_req++] = (struct nic_req) { .name = xstrdup(q->name), .on = q->on };
                text_append(&joined, ",", "%s", q->name);
        }
        if (w->n_req == 0) {
                nic_free(w);
                return;
        }
        /* The names are part of the object: two actions may set different features of one
         * interface, and the engine keeps one item per object. */
        plan_list_add(out, xasprintf("%s offload %s", ifname, joined), w, NULL);
}

static int nic_plan(struct ctx *ctx, const void *state, struct plan_list *out) {
        const struct nic_state *s = state;
        _cleanup_free_ struct netif *ifs = NULL;
        struct cover_memo memo = { 0 };
        size_t n = 0;
        int r;

        r = ctx_net_why(ctx, netif_resolve(ctx_net(ctx), s->ifname, &ifs, &n));
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                plan_interface(ctx, s, ifs[i].name, out, &memo);
        free(memo.cov);
        return 0;
}

static uint64_t nic_caps(const void *state _unused_) {
        return CAP_TO_MASK(CAP_NET_ADMIN);
}

/* ---- changing ---- */

/* What the kernel did not take, per policy name: "tcp-segmentation-offload on (tx-tcp-segmentation,
 * tx-tcp6-segmentation stayed off)". */
static char *name_refused(const struct nic_state *w, char *const *names, unsigned n, const uint32_t *map) {
        char *s = NULL;
        for (size_t k = 0; k < w->n_req; k++) {
                _cleanup_free_ char *bits = NULL;
                for (unsigned i = 0; i < n; i++) {
                        if (!bit_on(map, i) || !offload_covers(w->req[k].name, names[i]))
                                continue;
                        text_append(&bits, ", ", "%s", names[i]);
                }
                if (!bits)
                        continue;
                text_append(&s, "; ", "%s %s (%s stayed %s)", w->req[k].name, onoff(w->req[k].on), bits,
                            onoff(!w->req[k].on));
        }
        return s;
}

/* One features request: the interface's features as they are now, and the bits to send
 * (mask) with their values. */
struct bits_request {
        const struct eth_features *f;
        char **names;
        unsigned n;
        uint32_t *mask, *value;
        bool any;
};

static int request_begin(struct ctx *ctx, const char *ifname, struct bits_request *q) {
        int r = eth_why(ctx, ethtool_features(eth(ctx), ifname, &q->f));
        if (r >= 0)
                r = eth_why(ctx, ethtool_names(eth(ctx), ifname, &q->names, &q->n));
        if (r < 0)
                return r;
        q->mask = xcalloc(q->f->words ? q->f->words : 1, sizeof(uint32_t));
        q->value = xcalloc(q->f->words ? q->f->words : 1, sizeof(uint32_t));
        return 0;
}

static void request_put(struct bits_request *q, unsigned i, bool on) {
        bit_put(q->mask, i, true);
        bit_put(q->value, i, on);
        q->any = true;
}

static void request_done(struct bits_request *q) {
        free(q->mask);
        free(q->value);
}

static int request_send(struct ctx *ctx, const char *ifname, const struct bits_request *q, struct eth_set_result *res) {
        eth_set_result_init(res, q->f->n_bits);
        return eth_why(ctx, ethtool_set(eth(ctx), ifname, q->mask, q->value, res));
}

static int nic_apply(struct ctx *ctx, const void *want, const void *have _unused_) {
        const struct nic_state *w = want;
        _cleanup_(request_done) struct bits_request q = { 0 };
        struct eth_set_result res;
        int r;

        r = request_begin(ctx, w->ifname, &q);
        if (r < 0)
                return r;
        /* Only the bits to change: a bit is sent when it is not wanted or not active as
         * asked, so that the reply says when the kernel keeps one off (a dependency). */
        for (size_t k = 0; k < w->n_req; k++)
                for (unsigned i = 0; i < q.n && i < q.f->n_bits; i++) {
                        bool on = w->req[k].on;
                        if (eth_feature_fixed(q.f, i) || !offload_covers(w->req[k].name, q.names[i]))
                                continue;
                        if (bit_on(q.f->wanted, i) == on && bit_on(q.f->active, i) == on)
                                continue;
                        request_put(&q, i, on);
                }
        if (!q.any)
                return 0;
        unsigned n_bits = q.f->n_bits; /* q.f is stale once written */
        r = request_send(ctx, w->ifname, &q, &res);
        if (r >= 0) {
                for (unsigned i = 0; i < res.words; i++)
                        res.not_taken[i] &= q.mask[i];
                _cleanup_free_ char *refused = name_refused(w, q.names, q.n < n_bits ? q.n : n_bits, res.not_taken);
                if (refused) {
                        ctx_fail(ctx, "%s: the kernel did not take %s (a feature it depends on is off, or the driver refuses it)",
                                 w->ifname, refused);
                        r = -EIO;
                }
        }
        eth_set_result_done(&res);
        return r;
}

static int nic_restore(struct ctx *ctx, const void *before, const void *have) {
        const struct nic_state *b = before;
        _cleanup_(request_done) struct bits_request q = { 0 };
        struct eth_set_result res;
        int r;

        if (!b->kernel)
                return nic_apply(ctx, before, have);
        r = request_begin(ctx, b->ifname, &q);
        if (r < 0)
                return r;
        /* The wanted bits as they were: the kernel derives the active ones from them, so the
         * dependents it dropped come back with what they depend on. */
        unsigned at = 0;
        for (size_t k = 0; k < b->kernel->n; k++) {
                const struct nic_feat *x = &b->kernel->feat[k];
                int i = feat_index_from(q.names, q.n, x->name, &at);
                if (i < 0 || (unsigned) i >= q.f->n_bits || eth_feature_fixed(q.f, (unsigned) i) || x->fixed)
                        continue;
                if (bit_on(q.f->wanted, (unsigned) i) == x->wanted)
                        continue;
                request_put(&q, (unsigned) i, x->wanted);
        }
        if (!q.any)
                return 0;
        /* A wanted bit that is on but not active (TSO while tx checksumming was off) is how
         * it was: the reply's WANTED is no failure here; the read-back compares. */
        r = request_send(ctx, b->ifname, &q, &res);
        eth_set_result_done(&res);
        return r;
}

/* ---- notes ---- */

static void link_counters(struct ctx *ctx, const char *ifname, char ***notes) {
        struct netif_counters c;
        uint64_t crc, frame, rx, tx;

        /* By hash: `interface: all` asks this for every interface. */
        if (netif_counters(ctx_net(ctx), ifname, &c) < 0)
                return;
        crc = c.rx_crc_errors;
        frame = c.rx_frame_errors;
        rx = c.rx_errors;
        tx = c.tx_errors;
        /* etcd's guide turns checksum offload off for NICs that corrupt or drop packets:
         * the counters are the evidence for (or against) doing it on this host. */
        strv_push(notes, xasprintf("%s: rx_crc_errors %llu, rx_frame_errors %llu, rx_errors %llu, tx_errors %llu since boot: %s",
                                   ifname, (unsigned long long) crc, (unsigned long long) frame, (unsigned long long) rx,
                                   (unsigned long long) tx,
                                   crc + frame + rx + tx ? "the NIC reports errors, the case etcd's guide turns checksum offload off for"
                                                         : "no sign of the corruption this change is for"));
}

static void nic_notes(struct ctx *ctx, const void *want, const void *have, char ***notes) {
        const struct nic_state *w = want, *h = have;
        _cleanup_free_ char *driver = NULL;
        bool tx_off = false, tx_on_now = false, tso_on = false;

        if (ethtool_driver(eth(ctx), w->ifname, &driver) >= 0 && driver[0])
                strv_push(notes, xasprintf("%s: driver %s; read through ethtool %s", w->ifname, driver, ethtool_backend(eth(ctx))));
        else
                strv_push(notes, xasprintf("%s: read through ethtool %s", w->ifname, ethtool_backend(eth(ctx))));
        link_counters(ctx, w->ifname, notes);
        for (size_t k = 0; k < w->n_req; k++)
                tx_off = tx_off || (!w->req[k].on && offload_covers(w->req[k].name, "tx-checksum-ip-generic"));
        for (size_t i = 0; h && h->kernel && i < h->kernel->n && !(tso_on && tx_on_now); i++) {
                /* Both are user-facing names: they cover what they own (one lookup for both). */
                const struct nic_feat *x = &h->kernel->feat[i];
                const char *group = x->active ? offload_group_of(x->name) : NULL;
                tso_on = tso_on || streq(group, "tcp-segmentation-offload");
                tx_on_now = tx_on_now || streq(group, "tx-checksumming");
        }
        if (tx_off && tx_on_now && tso_on)
                strv_push(notes, xstrdup("without tx checksumming the kernel turns TCP segmentation offload off too; medic records it, and rollback brings it back"));
}

const struct action_ops nic_offload_ops = {
        .kind = "nic-offload",
        .parse = nic_parse,
        .claims = nic_claims,
        .plan = nic_plan,
        .caps = nic_caps,
        .read = nic_read,
        .same = nic_same,
        .equal = nic_equal,
        .apply = nic_apply,
        .restore = nic_restore,
        .in_between = nic_in_between,
        .notes = nic_notes,
        .describe = nic_describe,
        .to_json = nic_to_json,
        .from_json = nic_from_json,
        .free = nic_free,
        .run_new = nic_run_new,
        .run_free = nic_run_free,
};