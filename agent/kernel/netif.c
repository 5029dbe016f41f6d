/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>

#include <stdarg.h>

#include "../util.h"
#include "netif.h"
#include "nlsock.h"

/* The link dump as an array, with two open-addressing tables (slot = array index + 1) so
 * that each of a thousand interfaces is found in constant time, not by a scan of the
 * dump. Read from the messages directly: libnl's link cache built a full object per
 * interface (and a list it searches by name), a quarter of an audit over 1,000. */
struct netif_index {
        struct netif *ifs;
        struct netif_counters *counters; /* by the same index */
        size_t n;
        size_t mask; /* table size - 1, a power of two minus one */
        uint32_t *by_name, *by_ifindex;
};

static size_t hash_name(const char *s) {
        size_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h;
}

static size_t hash_ifindex(int ifindex) {
        return (size_t) (uint32_t) ifindex * 2654435761u;
}

static void index_free(struct netif_index *x) {
        if (!x)
                return;
        free(x->ifs);
        free(x->counters);
        free(x->by_name);
        free(x->by_ifindex);
        free(x);
}

static size_t stats_len(const struct nlattr *a, size_t size) {
        size_t len = (size_t) nla_len(a);
        return len < size ? len : size;
}

/* One RTM_NEWLINK of the dump: its name, index, flags and error counters. */
static int link_cb(struct nl_msg *msg, void *arg) {
        struct netif_index *x = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct nlattr *tb[IFLA_MAX + 1];
        const struct ifinfomsg *ifi;
        struct netif_counters c = { 0 };

        if (h->nlmsg_type != RTM_NEWLINK || nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0 ||
            !tb[IFLA_IFNAME] || nla_len(tb[IFLA_IFNAME]) < 2)
                return NL_SKIP;
        ifi = nlmsg_data(h);
        if (tb[IFLA_STATS64]) {
                /* The struct grew over the years: what the kernel sent, the rest zero. */
                struct rtnl_link_stats64 st = { 0 };
                memcpy(&st, nla_data(tb[IFLA_STATS64]), stats_len(tb[IFLA_STATS64], sizeof(st)));
                c = (struct netif_counters) { st.rx_errors, st.tx_errors, st.rx_crc_errors, st.rx_frame_errors, true };
        } else if (tb[IFLA_STATS]) {
                struct rtnl_link_stats st = { 0 };
                memcpy(&st, nla_data(tb[IFLA_STATS]), stats_len(tb[IFLA_STATS], sizeof(st)));
                c = (struct netif_counters) { st.rx_errors, st.tx_errors, st.rx_crc_errors, st.rx_frame_errors, true };
        }
        x->ifs = xgrow(x->ifs, x->n, sizeof(*x->ifs));
        x->counters = xgrow(x->counters, x->n, sizeof(*x->counters));
        x->ifs[x->n] = (struct netif) { .ifindex = ifi->ifi_index, .flags = ifi->ifi_flags };
        snprintf(x->ifs[x->n].name, sizeof(x->ifs[x->n].name), "%.*s", nla_len(tb[IFLA_IFNAME]) - 1,
                 (const char *) nla_data(tb[IFLA_IFNAME]));
        x->counters[x->n++] = c;
        return NL_OK;
}

static void index_tables(struct netif_index *x) {
        size_t size = 16;

        while (size < 2 * x->n)
                size *= 2;
        x->mask = size - 1;
        x->by_name = xcalloc(size, sizeof(uint32_t));
        x->by_ifindex = xcalloc(size, sizeof(uint32_t));
        for (size_t i = 0; i < x->n; i++) {
                size_t h = hash_name(x->ifs[i].name) & x->mask;
                while (x->by_name[h])
                        h = (h + 1) & x->mask;
                x->by_name[h] = (uint32_t) i + 1;
                h = hash_ifindex(x->ifs[i].ifindex) & x->mask;
                while (x->by_ifindex[h])
                        h = (h + 1) & x->mask;
                x->by_ifindex[h] = (uint32_t) i + 1;
        }
}

static const struct netif *index_name(const struct netif_index *x, const char *name) {
        for (size_t h = hash_name(name) & x->mask; x->by_name[h]; h = (h + 1) & x->mask)
                if (streq(x->ifs[x->by_name[h] - 1].name, name))
                        return &x->ifs[x->by_name[h] - 1];
        return NULL;
}

static const struct netif *index_ifindex(const struct netif_index *x, int ifindex) {
        for (size_t h = hash_ifindex(ifindex) & x->mask; x->by_ifindex[h]; h = (h + 1) & x->mask)
                if (x->ifs[x->by_ifindex[h] - 1].ifindex == ifindex)
                        return &x->ifs[x->by_ifindex[h] - 1];
        return NULL;
}

struct netrun *netrun_new(void) {
        return xcalloc(1, sizeof(struct netrun));
}

void netrun_free(struct netrun *n) {
        if (!n)
                return;
        index_free(n->index);
        if (n->route)
                nl_socket_free(n->route);
        free(n->why);
        free(n);
}

const char *netrun_why(const struct netrun *n) {
        return n->why;
}

static void fail(struct netrun *n, const char *fmt, ...) _printf_(2, 3);
static void fail(struct netrun *n, const char *fmt, ...) {
        va_list ap;

        free(n->why);
        va_start(ap, fmt);
        n->why = xvasprintf(fmt, ap);
        va_end(ap);
}

int netrun_route(struct netrun *n, struct nl_sock **ret) {
        int r;

        if (n->route && n->route_stale) {
                nl_socket_free(n->route);
                n->route = NULL;
        }
        if (!n->route) {
                r = nlsock_open(NETLINK_ROUTE, &n->kerr, &n->route);
                if (r < 0) {
                        fail(n, "opening rtnetlink: %s", nlsock_strerror(r));
                        return r;
                }
                n->route_stale = false;
        }
        *ret = n->route;
        return 0;
}

void netrun_reset(struct netrun *n) {
        n->route_stale = true;
        n->epoch++;
}

int netrun_errno(struct netrun *n, int nlerr) {
        bool kernel = nlsock_kernel_error(&n->kerr);
        int r = nlsock_errno(&n->kerr, nlerr);

        if (!kernel)
                netrun_reset(n);
        return r;
}

/* One RTM_GETLINK dump into a new index, or a libnl error. */
static int dump_links(struct nl_sock *s, struct netif_index **ret) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        struct netif_index *x;
        struct nl_cb *cb;
        int r;

        /* No IFLA_EXT_MASK: no VF details, which medic does not read. */
        r = nlsock_send_simple(s, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
        if (r < 0)
                return r;
        cb = nlsock_cb_clone(s);
        if (!cb)
                return -NLE_NOMEM;
        x = xcalloc(1, sizeof(*x));
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, link_cb, x);
        r = nl_recvmsgs(s, cb);
        nl_cb_put(cb);
        if (r < 0) {
                index_free(x);
                return r;
        }
        index_tables(x);
        *ret = x;
        return 0;
}

int netif_links(struct netrun *n) {
        struct nl_sock *s;
        int r;

        if (n->index)
                return 0;
        r = netrun_route(n, &s);
        if (r < 0)
                return r;
        /* An interface added or removed during the dump marks it interrupted (libnl reads
         * on to its end and says so): the dump is taken again, as libnl's cache did. */
        for (unsigned attempt = 0; attempt < 8; attempt++) {
                r = dump_links(s, &n->index);
                if (r != -NLE_DUMP_INTR)
                        break;
        }
        if (r >= 0)
                return 0;
        r = netrun_errno(n, r);
        fail(n, "dumping interfaces: %s", nlsock_strerror(r));
        return r;
}

int netif_by_name(struct netrun *n, const char *name, struct netif *ret) {
        const struct netif *f;
        int r = netif_links(n);

        if (r < 0)
                return r;
        f = index_name(n->index, name);
        if (!f) {
                fail(n, "%s: no such interface", name);
                return -ENODEV;
        }
        *ret = *f;
        return 0;
}

int netif_counters(struct netrun *n, const char *name, struct netif_counters *ret) {
        const struct netif *f;
        int r = netif_links(n);

        if (r < 0)
                return r;
        if (!(f = index_name(n->index, name)))
                return -ENODEV;
        *ret = n->index->counters[f - n->index->ifs];
        return ret->known ? 0 : -ENODATA;
}

int netif_by_index(struct netrun *n, int ifindex, struct netif *ret) {
        const struct netif *f;
        int r = netif_links(n);

        if (r < 0)
                return r;
        f = index_ifindex(n->index, ifindex);
        if (!f) {
                fail(n, "interface %d is gone", ifindex);
                return -ENODEV;
        }
        *ret = *f;
        return 0;
}

struct route_pick {
        int ifindex;
        uint32_t metric;
        bool found;
};

/* Keep the main table's unicast default route with the lowest metric. A multipath default
 * route names its first next hop's interface. */
static int pick_default(struct nl_msg *msg, void *arg) {
        struct route_pick *p = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct rtmsg *rtm = nlmsg_data(h);
        struct nlattr *tb[RTA_MAX + 1];
        uint32_t table, metric = 0;
        int oif = 0;

        if (h->nlmsg_type != RTM_NEWROUTE || nlmsg_parse(h, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
                return NL_SKIP;
        table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
        if (rtm->rtm_dst_len != 0 || table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
                return NL_SKIP;
        if (tb[RTA_PRIORITY])
                metric = nla_get_u32(tb[RTA_PRIORITY]);
        if (tb[RTA_OIF])
                oif = (int) nla_get_u32(tb[RTA_OIF]);
        else if (tb[RTA_MULTIPATH] && nla_len(tb[RTA_MULTIPATH]) >= (int) sizeof(struct rtnexthop))
                oif = ((struct rtnexthop *) nla_data(tb[RTA_MULTIPATH]))->rtnh_ifindex;
        if (oif > 0 && (!p->found || metric < p->metric))
                *p = (struct route_pick) { .ifindex = oif, .metric = metric, .found = true };
        return NL_SKIP;
}

static int default_route_family(struct netrun *n, int family, struct route_pick *p) {
        struct rtmsg rtm = { .rtm_family = (unsigned char) family };
        struct nl_sock *s;
        struct nl_cb *cb;
        int r = netrun_route(n, &s);

        if (r < 0)
                return r;
        r = nlsock_send_simple(s, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
        if (r < 0)
                return netrun_errno(n, r);
        cb = nlsock_cb_clone(s);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, pick_default, p);
        r = nl_recvmsgs(s, cb);
        nl_cb_put(cb);
        return r < 0 ? netrun_errno(n, r) : 0;
}

int netif_default_route(struct netrun *n, int *ret_ifindex) {
        int r;

        if (n->default_ifindex == 0) {
                struct route_pick p = { 0 };
                r = default_route_family(n, AF_INET, &p);
                if (r >= 0 && !p.found)
                        r = default_route_family(n, AF_INET6, &p);
                if (r < 0) {
                        fail(n, "reading the routing table: %s", nlsock_strerror(r));
                        return r;
                }
                n->default_ifindex = p.found ? p.ifindex : -ENOENT;
        }
        if (n->default_ifindex < 0) {
                fail(n, "auto: this host has no default route");
                return n->default_ifindex;
        }
        *ret_ifindex = n->default_ifindex;
        return 0;
}

int netif_resolve(struct netrun *n, const char *spec, struct netif **ret, size_t *ret_n) {
        struct netif one, *v = NULL;
        size_t count = 0;
        int r;

        if (streq(spec, "all")) {
                const struct netif_index *x;
                r = netif_links(n);
                if (r < 0)
                        return r;
                x = n->index;
                v = xcalloc(x->n ? x->n : 1, sizeof(*v));
                for (size_t i = 0; i < x->n; i++)
                        if ((x->ifs[i].flags & IFF_UP) && !(x->ifs[i].flags & IFF_LOOPBACK))
                                v[count++] = x->ifs[i];
                *ret = v;
                *ret_n = count;
                return 0;
        }
        if (streq(spec, "auto")) {
                int ifindex;
                r = netif_default_route(n, &ifindex);
                if (r >= 0)
                        r = netif_by_index(n, ifindex, &one);
        } else
                r = netif_by_name(n, spec, &one);
        if (r < 0)
                return r;
        v = xmalloc(sizeof(*v));
        v[0] = one;
        *ret = v;
        *ret_n = 1;
        return 0;
}
