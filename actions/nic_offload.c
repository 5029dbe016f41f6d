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
 * as items of their own that cannot be changed on this NIC. */
#include <json-c/json.h>
#include <linux/capability.h>
#include <netlink/route/link.h>
#include <string.h>

#include "../agent/ethtool.h"
#include "../agent/ethtool_names.h"
#include "../agent/netif.h"
#include "../agent/policy.h"
#include "action.h"

struct nic_req {
        char *name; /* as the policy writes it: "tx-checksumming", "rx-gro" */
        bool on;
};

struct nic_feat {
        char *name; /* the kernel's */
        bool wanted, active, fixed;
};

struct nic_state {
        char *ifname;
        struct nic_req *req; /* what the policy asks; snapshots carry it along for describe() */
        size_t n_req;
        struct nic_feat *feat; /* a snapshot: every feature of the interface; none in a wanted state */
        size_t n_feat;
        char **changed; /* a snapshot after a write: what the kernel said changed, "name on|off" */
};

struct nic_spec {
        char *interface; /* a name, "auto" or "all" (targets resolved by the loader) */
        struct nic_req *req;
        const struct ynode **at;
        size_t n_req;
};

static void req_free(struct nic_req *req, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(req[i].name);
        free(req);
}

static struct nic_req *req_copy(const struct nic_req *req, size_t n) {
        struct nic_req *c = xcalloc(n ? n : 1, sizeof(*c));
        for (size_t i = 0; i < n; i++)
                c[i] = (struct nic_req) { .name = xstrdup(req[i].name), .on = req[i].on };
        return c;
}

static void nic_free(void *p) {
        struct nic_state *s = p;
        if (!s)
                return;
        free(s->ifname);
        req_free(s->req, s->n_req);
        for (size_t i = 0; i < s->n_feat; i++)
                free(s->feat[i].name);
        free(s->feat);
        strv_free(s->changed);
        free(s);
}

static void nic_spec_free(void *p) {
        struct nic_spec *s = p;
        free(s->interface);
        req_free(s->req, s->n_req);
        free(s->at);
        free(s);
}

static const char *onoff(bool on) {
        return on ? "on" : "off";
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

static int parse_features(const struct ynode *m, struct nic_spec *s, struct perr *err) {
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

static int nic_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "interface", "features", NULL };
        const struct ynode *v;
        struct nic_spec *s;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "nic-offload", err) < 0)
                return -EINVAL;
        if (ynode_check_keys(node, "nic-offload", keys, err) < 0)
                r = -EINVAL;
        s = xcalloc(1, sizeof(*s));
        if (!(v = ynode_get(node, "interface"))) {
                perr_add(err, node, "nic-offload: missing 'interface' (an interface target, a name, auto or all)");
                r = -EINVAL;
        } else if (policy_interface(v, pol, "nic-offload.interface", &s->interface, err) < 0)
                r = -EINVAL;
        if (!(v = ynode_get(node, "features"))) {
                perr_add(err, node, "nic-offload: missing 'features' (a map of feature: on|off)");
                r = -EINVAL;
        } else if (parse_features(v, s, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                nic_spec_free(s);
                return r;
        }
        *ret_spec = s;
        return 0;
}

static void nic_claims(const void *spec, claim_fn fn, void *userdata) {
        const struct nic_spec *s = spec;
        for (size_t i = 0; i < s->n_req; i++) {
                _cleanup_free_ char *obj = xasprintf("%s offload %s", s->interface, offload_canonical(s->req[i].name));
                fn(userdata, obj, onoff(s->req[i].on), s->at[i]);
        }
}

static struct json_object *req_json(const struct nic_req *req, size_t n) {
        struct json_object *j = json_object_new_object();
        for (size_t i = 0; i < n; i++)
                json_object_object_add(j, req[i].name, json_object_new_string(onoff(req[i].on)));
        return j;
}

static int nic_spec_to_json(const void *spec, struct json_object **ret) {
        const struct nic_spec *s = spec;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "interface", json_object_new_string(s->interface));
        json_object_object_add(j, "features", req_json(s->req, s->n_req));
        *ret = j;
        return 0;
}

/* ---- snapshots ---- */

static const struct nic_feat *feat_find(const struct nic_state *s, const char *name) {
        for (size_t i = 0; i < s->n_feat; i++)
                if (streq(s->feat[i].name, name))
                        return &s->feat[i];
        return NULL;
}

static int feat_index(char *const *names, unsigned n, const char *name) {
        for (unsigned i = 0; i < n; i++)
                if (streq(names[i], name))
                        return (int) i;
        return -1;
}

static int nic_read(struct ctx *ctx, const void *state, void **ret_have) {
        const struct nic_state *w = state;
        const struct eth_features *f;
        struct nic_state *h;
        char **names, *const *changes;
        unsigned n;
        int r;

        r = ethtool_features(ctx, w->ifname, &f);
        if (r >= 0)
                r = ethtool_names(ctx, w->ifname, &names, &n);
        if (r < 0)
                return r;
        h = xcalloc(1, sizeof(*h));
        h->ifname = xstrdup(w->ifname);
        h->req = req_copy(w->req, w->n_req);
        h->n_req = w->n_req;
        h->feat = xcalloc(n ? n : 1, sizeof(*h->feat));
        for (unsigned i = 0; i < n && i < f->n_bits; i++) {
                if (!names[i][0])
                        continue; /* a retired bit: no name, never set */
                h->feat[h->n_feat++] = (struct nic_feat) { .name = xstrdup(names[i]), .wanted = bit_on(f->wanted, i),
                                                           .active = bit_on(f->active, i),
                                                           .fixed = eth_feature_fixed(f, i) };
        }
        changes = ethtool_last_changes(ctx, w->ifname);
        for (size_t i = 0; changes && changes[i]; i++)
                strv_push(&h->changed, xstrdup(changes[i]));
        *ret_have = h;
        return 0;
}

static bool nic_same(const void *want, const void *have) {
        const struct nic_state *w = want, *h = have;

        if (!streq(w->ifname, h->ifname))
                return false;
        if (w->n_feat > 0) {
                /* A snapshot: every feature as recorded. Wanted bits of fixed features are not
                 * the operator's to set; their active bits still count. */
                for (size_t i = 0; i < w->n_feat; i++) {
                        const struct nic_feat *x = &w->feat[i], *y = feat_find(h, x->name);
                        if (!y || x->active != y->active || (!x->fixed && !y->fixed && x->wanted != y->wanted))
                                return false;
                }
                return true;
        }
        for (size_t k = 0; k < w->n_req; k++)
                for (size_t i = 0; i < h->n_feat; i++) {
                        const struct nic_feat *y = &h->feat[i];
                        if (!y->fixed && offload_covers(w->req[k].name, y->name) &&
                            (y->wanted != w->req[k].on || y->active != w->req[k].on))
                                return false;
                }
        return true;
}

/* Two wanted states: the same names, asked the same way, in the same order (the order is
 * part of the object's name). */
static bool nic_equal(const void *a, const void *b) {
        const struct nic_state *x = a, *y = b;

        if (!streq(x->ifname, y->ifname) || x->n_req != y->n_req)
                return false;
        for (size_t k = 0; k < x->n_req; k++)
                if (!streq(x->req[k].name, y->req[k].name) || x->req[k].on != y->req[k].on)
                        return false;
        return true;
}

/* ---- plan ---- */

static void plan_interface(struct ctx *ctx, const struct nic_spec *s, const char *ifname, struct plan_list *out) {
        struct nic_state *w = xcalloc(1, sizeof(*w));
        _cleanup_free_ char *joined = NULL;
        const struct eth_features *f = NULL;
        char **names = NULL;
        unsigned n = 0;

        w->ifname = xstrdup(ifname);
        w->req = xcalloc(s->n_req, sizeof(*w->req));
        /* Without the features now, read() reports why; the plan keeps every name. */
        if (ethtool_features(ctx, ifname, &f) < 0 || ethtool_names(ctx, ifname, &names, &n) < 0)
                f = NULL;
        ctx_clear(ctx);
        for (size_t k = 0; k < s->n_req; k++) {
                const struct nic_req *q = &s->req[k];
                _cleanup_free_ char *fixed = NULL;
                size_t covered = 0, changeable = 0;

                for (unsigned i = 0; f && i < n && i < f->n_bits; i++) {
                        if (!offload_covers(q->name, names[i]))
                                continue;
                        covered++;
                        if (!eth_feature_fixed(f, i)) {
                                changeable++;
                                continue;
                        }
                        if (bit_on(f->active, i) != q->on) {
                                char *x = xasprintf("%s%s%s", fixed ? fixed : "", fixed ? ", " : "", names[i]);
                                free(fixed);
                                fixed = x;
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
                char *x = xasprintf("%s%s%s", joined ? joined : "", joined ? "," : "", q->name);
                free(joined);
                joined = x;
        }
        if (w->n_req == 0) {
                nic_free(w);
                return;
        }
        /* The names are part of the object: two actions may set different features of one
         * interface, and the engine keeps one item per object. */
        plan_list_add(out, xasprintf("%s offload %s", ifname, joined), w, NULL);
}

static int nic_plan(struct ctx *ctx, const void *spec, struct plan_list *out) {
        const struct nic_spec *s = spec;
        _cleanup_free_ struct netif *ifs = NULL;
        size_t n = 0;
        int r;

        r = netif_resolve(ctx, s->interface, &ifs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                plan_interface(ctx, s, ifs[i].name, out);
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
                        char *x = xasprintf("%s%s%s", bits ? bits : "", bits ? ", " : "", names[i]);
                        free(bits);
                        bits = x;
                }
                if (!bits)
                        continue;
                char *x = xasprintf("%s%s%s %s (%s stayed %s)", s ? s : "", s ? "; " : "", w->req[k].name,
                                    onoff(w->req[k].on), bits, onoff(!w->req[k].on));
                free(s);
                s = x;
        }
        return s;
}

static int write_bits(struct ctx *ctx, const char *ifname, const uint32_t *mask, const uint32_t *value,
                      unsigned n_bits, struct eth_set_result *res) {
        eth_set_result_init(res, n_bits);
        return ethtool_set(ctx, ifname, mask, value, res);
}

static int nic_apply(struct ctx *ctx, const void *want, const void *have _unused_) {
        const struct nic_state *w = want;
        const struct eth_features *f;
        _cleanup_free_ uint32_t *mask = NULL, *value = NULL;
        struct eth_set_result res;
        char **names;
        unsigned n;
        bool any = false;
        int r;

        r = ethtool_features(ctx, w->ifname, &f);
        if (r >= 0)
                r = ethtool_names(ctx, w->ifname, &names, &n);
        if (r < 0)
                return r;
        mask = xcalloc(f->words ? f->words : 1, sizeof(uint32_t));
        value = xcalloc(f->words ? f->words : 1, sizeof(uint32_t));
        /* Only the bits to change: a bit is sent when it is not wanted or not active as
         * asked, so that the reply says when the kernel keeps one off (a dependency). */
        for (size_t k = 0; k < w->n_req; k++)
                for (unsigned i = 0; i < n && i < f->n_bits; i++) {
                        bool on = w->req[k].on;
                        if (eth_feature_fixed(f, i) || !offload_covers(w->req[k].name, names[i]))
                                continue;
                        if (bit_on(f->wanted, i) == on && bit_on(f->active, i) == on)
                                continue;
                        bit_put(mask, i, true);
                        bit_put(value, i, on);
                        any = true;
                }
        if (!any)
                return 0;
        unsigned n_bits = f->n_bits; /* f is stale once written */
        r = write_bits(ctx, w->ifname, mask, value, n_bits, &res);
        if (r >= 0) {
                for (unsigned i = 0; i < res.words; i++)
                        res.not_taken[i] &= mask[i];
                _cleanup_free_ char *refused = name_refused(w, names, n < n_bits ? n : n_bits, res.not_taken);
                if (refused) {
                        ctx_fail(ctx, "%s: the kernel did not take %s (a feature it depends on is off, or the driver refuses it)",
                                 w->ifname, refused);
                        r = -EIO;
                }
        }
        eth_set_result_done(&res);
        return r;
}

static int nic_restore(struct ctx *ctx, const void *before, const void *have _unused_) {
        const struct nic_state *b = before;
        const struct eth_features *f;
        _cleanup_free_ uint32_t *mask = NULL, *value = NULL;
        struct eth_set_result res;
        char **names;
        unsigned n;
        bool any = false;
        int r;

        if (b->n_feat == 0)
                return nic_apply(ctx, before, have);
        r = ethtool_features(ctx, b->ifname, &f);
        if (r >= 0)
                r = ethtool_names(ctx, b->ifname, &names, &n);
        if (r < 0)
                return r;
        mask = xcalloc(f->words ? f->words : 1, sizeof(uint32_t));
        value = xcalloc(f->words ? f->words : 1, sizeof(uint32_t));
        /* The wanted bits as they were: the kernel derives the active ones from them, so the
         * dependents it dropped come back with what they depend on. */
        for (size_t k = 0; k < b->n_feat; k++) {
                int i = feat_index(names, n, b->feat[k].name);
                if (i < 0 || (unsigned) i >= f->n_bits || eth_feature_fixed(f, (unsigned) i) || b->feat[k].fixed)
                        continue;
                if (bit_on(f->wanted, (unsigned) i) == b->feat[k].wanted)
                        continue;
                bit_put(mask, (unsigned) i, true);
                bit_put(value, (unsigned) i, b->feat[k].wanted);
                any = true;
        }
        if (!any)
                return 0;
        /* A wanted bit that is on but not active (TSO while tx checksumming was off) is how
         * it was: the reply's WANTED is no failure here; the read-back compares. */
        r = write_bits(ctx, b->ifname, mask, value, f->n_bits, &res);
        eth_set_result_done(&res);
        return r;
}

/* Where after asks for name's wanted bit, what it asks: 1 on, 0 off, -1 nothing. */
static int after_wants(const struct nic_state *a, const char *name) {
        if (a->n_feat > 0) {
                const struct nic_feat *x = feat_find(a, name);
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
static bool nic_in_between(const void *before, const void *after, const void *have) {
        const struct nic_state *b = before, *a = after, *h = have;
        bool moved = false;

        if (b->n_feat == 0 || !streq(b->ifname, h->ifname) || !streq(a->ifname, b->ifname))
                return false;
        for (size_t i = 0; i < b->n_feat; i++) {
                const struct nic_feat *x = &b->feat[i], *y = feat_find(h, x->name);
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

/* ---- notes, text and JSON ---- */

static void link_counters(struct ctx *ctx, const char *ifname, char ***notes) {
        static const struct {
                rtnl_link_stat_id_t id;
                const char *name;
        } stats[] = {
                { RTNL_LINK_RX_CRC_ERR, "rx_crc_errors" },
                { RTNL_LINK_RX_FRAME_ERR, "rx_frame_errors" },
                { RTNL_LINK_RX_ERRORS, "rx_errors" },
                { RTNL_LINK_TX_ERRORS, "tx_errors" },
        };
        _cleanup_free_ char *text = NULL;
        struct rtnl_link *l;
        uint64_t bad = 0;

        /* By hash: `interface: all` asks this for every interface. */
        if (!(l = netif_link(ctx, ifname)))
                return;
        for (size_t i = 0; i < ELEMENTSOF(stats); i++) {
                uint64_t v = rtnl_link_get_stat(l, stats[i].id);
                char *x = xasprintf("%s%s%s %llu", text ? text : "", text ? ", " : "", stats[i].name, (unsigned long long) v);
                free(text);
                text = x;
                bad += v;
        }
        /* etcd's guide turns checksum offload off for NICs that corrupt or drop packets:
         * the counters are the evidence for (or against) doing it on this host. */
        if (bad)
                strv_push(notes, xasprintf("%s: %s since boot: the NIC reports errors, the case etcd's guide turns checksum offload off for",
                                           ifname, text));
        else
                strv_push(notes, xasprintf("%s: %s since boot: no sign of the corruption this change is for", ifname, text));
}

static void nic_notes(struct ctx *ctx, const void *want, const void *have, char ***notes) {
        const struct nic_state *w = want, *h = have;
        _cleanup_free_ char *driver = NULL;
        bool tx_off = false, tx_on_now = false, tso_on = false;

        if (ethtool_driver(ctx, w->ifname, &driver) >= 0 && driver[0])
                strv_push(notes, xasprintf("%s: driver %s; read through ethtool %s", w->ifname, driver, ethtool_backend(ctx)));
        else
                strv_push(notes, xasprintf("%s: read through ethtool %s", w->ifname, ethtool_backend(ctx)));
        link_counters(ctx, w->ifname, notes);
        for (size_t k = 0; k < w->n_req; k++)
                tx_off = tx_off || (!w->req[k].on && offload_covers(w->req[k].name, "tx-checksum-ip-generic"));
        for (size_t i = 0; h && i < h->n_feat; i++) {
                tso_on = tso_on || (h->feat[i].active && offload_covers("tcp-segmentation-offload", h->feat[i].name));
                tx_on_now = tx_on_now || (h->feat[i].active && offload_covers("tx-checksumming", h->feat[i].name));
        }
        if (tx_off && tx_on_now && tso_on)
                strv_push(notes, xstrdup("without tx checksumming the kernel turns TCP segmentation offload off too; medic records it, and rollback brings it back"));
}

/* A policy name as `ethtool -k` shows it: on when any feature it covers is active; the
 * changeable features that differ from that are named. */
static bool req_active(const struct nic_state *s, const char *name) {
        for (size_t i = 0; i < s->n_feat; i++)
                if (s->feat[i].active && offload_covers(name, s->feat[i].name))
                        return true;
        return false;
}

static char *describe_req(const struct nic_state *s, const struct nic_req *q) {
        _cleanup_free_ char *odd = NULL;
        bool any = req_active(s, q->name);
        size_t covered = 0;

        for (size_t i = 0; i < s->n_feat; i++)
                covered += offload_covers(q->name, s->feat[i].name);
        if (covered == 0)
                return xasprintf("%s -", q->name);
        for (size_t i = 0; i < s->n_feat; i++) {
                const struct nic_feat *x = &s->feat[i];
                char *part = NULL;
                if (x->fixed || !offload_covers(q->name, x->name))
                        continue;
                if (x->active != any)
                        part = xasprintf("%s %s", x->name, onoff(x->active));
                else if (x->wanted != x->active)
                        part = xasprintf("%s requested %s", covered > 1 ? x->name : "", onoff(x->wanted));
                if (!part)
                        continue;
                char *y = xasprintf("%s%s%s", odd ? odd : "", odd ? ", " : "", part[0] == ' ' ? part + 1 : part);
                free(part);
                free(odd);
                odd = y;
        }
        return odd ? xasprintf("%s %s (%s)", q->name, onoff(any), odd) : xasprintf("%s %s", q->name, onoff(any));
}

static char *nic_describe(const void *state) {
        const struct nic_state *s = state;
        _cleanup_free_ char *text = NULL, *also = NULL;

        for (size_t k = 0; k < s->n_req; k++) {
                _cleanup_free_ char *one = s->n_feat ? describe_req(s, &s->req[k])
                                                     : xasprintf("%s %s", s->req[k].name, onoff(s->req[k].on));
                char *x = xasprintf("%s%s%s", text ? text : "", text ? ", " : "", one);
                free(text);
                text = x;
        }
        if (!text) {
                size_t on = 0;
                for (size_t i = 0; i < s->n_feat; i++)
                        on += s->feat[i].active;
                text = xasprintf("%zu of %zu features on", on, s->n_feat);
        }
        /* The dependents the kernel switched with the requested features. */
        for (size_t i = 0; s->changed && s->changed[i]; i++) {
                _cleanup_free_ char *name = xstrndup(s->changed[i], strcspn(s->changed[i], " "));
                bool requested = false;
                for (size_t k = 0; k < s->n_req; k++)
                        requested = requested || offload_covers(s->req[k].name, name);
                if (requested)
                        continue;
                char *x = xasprintf("%s%s%s", also ? also : "", also ? ", " : "", s->changed[i]);
                free(also);
                also = x;
        }
        if (also)
                return xasprintf("%s; the kernel also changed %s", text, also);
        return TAKE_PTR(text);
}

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
        struct nic_feat x = { .name = xstrdup(name) };
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

static int nic_to_json(const void *state, struct json_object **ret) {
        const struct nic_state *s = state;
        struct json_object *j = json_object_new_object();

        json_object_object_add(j, "interface", json_object_new_string(s->ifname));
        if (s->n_feat) {
                /* A snapshot records each policy name as it is (as `ethtool -k` shows it), and
                 * every kernel feature. */
                struct json_object *fj = json_object_new_object(), *k = json_object_new_object();
                for (size_t i = 0; i < s->n_req; i++)
                        json_object_object_add(fj, s->req[i].name, json_object_new_string(onoff(req_active(s, s->req[i].name))));
                json_object_object_add(j, "features", fj);
                for (enum feat_class c = 0; c < _FC_MAX; c++) {
                        struct json_object *a = NULL;
                        for (size_t i = 0; i < s->n_feat; i++)
                                if (feat_class(&s->feat[i]) == c) {
                                        a = a ?: json_object_new_array();
                                        json_object_array_add(a, json_object_new_string(s->feat[i].name));
                                }
                        if (a)
                                json_object_object_add(k, feat_class_names[c], a);
                }
                json_object_object_add(j, "kernel", k);
        } else
                json_object_object_add(j, "features", req_json(s->req, s->n_req));
        if (s->changed) {
                struct json_object *a = json_object_new_array();
                for (size_t i = 0; s->changed[i]; i++)
                        json_object_array_add(a, json_object_new_string(s->changed[i]));
                json_object_object_add(j, "changed", a);
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

static int nic_from_json(struct json_object *j, void **ret_state) {
        struct json_object *v, *k;
        struct nic_state *s = xcalloc(1, sizeof(*s));

        /* strlen, not the JSON length: "\u0000" is a JSON string of one byte and an empty name. */
        if (!json_object_object_get_ex(j, "interface", &v) || !json_object_is_type(v, json_type_string) ||
            !json_object_get_string_len(v) || json_object_get_string_len(v) >= IF_NAMESIZE ||
            strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                goto bad;
        s->ifname = xstrdup(json_object_get_string(v));
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
        if (json_object_object_get_ex(j, "kernel", &k)) {
                if (!json_object_is_type(k, json_type_object))
                        goto bad;
                for (enum feat_class c = 0; c < _FC_MAX; c++) {
                        size_t n;
                        if (!json_object_object_get_ex(k, feat_class_names[c], &v))
                                continue;
                        if (!json_object_is_type(v, json_type_array))
                                goto bad;
                        n = json_object_array_length(v);
                        s->feat = xrealloc(s->feat, (s->n_feat + n + 1) * sizeof(*s->feat));
                        for (size_t i = 0; i < n; i++) {
                                struct json_object *x = json_object_array_get_idx(v, i);
                                /* A feature in two lists (or twice in one) would make the
                                 * snapshot differ from itself: not a journal medic wrote. */
                                if (!json_object_is_type(x, json_type_string) || !valid_feature_name(json_object_get_string(x)) ||
                                    feat_find(s, json_object_get_string(x)))
                                        goto bad;
                                s->feat[s->n_feat++] = feat_of_class(json_object_get_string(x), c);
                        }
                }
        }
        if (json_object_object_get_ex(j, "changed", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        goto bad;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        struct json_object *x = json_object_array_get_idx(v, i);
                        if (!json_object_is_type(x, json_type_string))
                                goto bad;
                        strv_push(&s->changed, xstrdup(json_object_get_string(x)));
                }
        }
        if (s->n_req == 0 && s->n_feat == 0)
                goto bad;
        *ret_state = s;
        return 0;
bad:
        nic_free(s);
        return -EBADMSG;
}

const struct action_ops nic_offload_ops = {
        .kind = "nic-offload",
        .parse = nic_parse,
        .claims = nic_claims,
        .spec_to_json = nic_spec_to_json,
        .spec_free = nic_spec_free,
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
};
