/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <string.h>

#include <stdarg.h>

#include "../util.h"
#include "netif.h"
#include "nlsock.h"

/* The link dump as an array, with two open-addressing tables (slot = array index + 1) so
 * that each of a thousand interfaces is found in constant time, not by a scan of the
 * dump (libnl's rtnl_link_get_by_name() walks its list). */
struct netif_index {
        struct netif *ifs;
        struct rtnl_link **links; /* borrowed from the run's link cache, by the same index */
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
        free(x->links);
        free(x->by_name);
        free(x->by_ifindex);
        free(x);
}

static struct netif_index *index_build(struct nl_cache *links) {
        struct netif_index *x = xcalloc(1, sizeof(*x));
        size_t size = 16;
        int n = nl_cache_nitems(links);

        x->ifs = xcalloc(n > 0 ? (size_t) n : 1, sizeof(*x->ifs));
        x->links = xcalloc(n > 0 ? (size_t) n : 1, sizeof(*x->links));
        for (struct nl_object *o = nl_cache_get_first(links); o && x->n < (size_t) n; o = nl_cache_get_next(o)) {
                struct rtnl_link *l = (struct rtnl_link *) o;
                x->links[x->n] = l;
                struct netif *f = &x->ifs[x->n++];
                *f = (struct netif) { .ifindex = rtnl_link_get_ifindex(l), .flags = rtnl_link_get_flags(l) };
                snprintf(f->name, sizeof(f->name), "%s", rtnl_link_get_name(l) ?: "");
        }
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
        return x;
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
        if (n->links)
                nl_cache_free(n->links);
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

int netif_links(struct netrun *n, struct nl_cache **ret) {
        struct nl_sock *s;
        int r;

        if (!n->links) {
                r = netrun_route(n, &s);
                if (r < 0)
                        return r;
                r = rtnl_link_alloc_cache(s, AF_UNSPEC, &n->links);
                if (r < 0) {
                        n->links = NULL;
                        r = netrun_errno(n, r);
                        fail(n, "dumping interfaces: %s", nlsock_strerror(r));
                        return r;
                }
                n->index = index_build(n->links);
        }
        *ret = n->links;
        return 0;
}

int netif_by_name(struct netrun *n, const char *name, struct netif *ret) {
        struct nl_cache *c;
        const struct netif *f;
        int r = netif_links(n, &c);

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

struct rtnl_link *netif_link(struct netrun *n, const char *name) {
        struct nl_cache *c;
        const struct netif *f;

        if (netif_links(n, &c) < 0 || !(f = index_name(n->index, name)))
                return NULL;
        return n->index->links[f - n->index->ifs];
}

int netif_by_index(struct netrun *n, int ifindex, struct netif *ret) {
        struct nl_cache *c;
        const struct netif *f;
        int r = netif_links(n, &c);

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
        r = nl_send_simple(s, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
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
                struct nl_cache *c;
                const struct netif_index *x;
                r = netif_links(n, &c);
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
