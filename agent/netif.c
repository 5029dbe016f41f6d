/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <string.h>

#include "../actions/action.h"
#include "netif.h"
#include "nlsock.h"

struct netrun *netrun_get(struct ctx *ctx) {
        if (!ctx->net)
                ctx->net = xcalloc(1, sizeof(*ctx->net));
        return ctx->net;
}

void netrun_free(struct netrun *n) {
        if (!n)
                return;
        if (n->tc_free)
                n->tc_free(n->tc);
        if (n->ethtool_free)
                n->ethtool_free(n->ethtool);
        if (n->links)
                nl_cache_free(n->links);
        if (n->route)
                nl_socket_free(n->route);
        free(n);
}

int netrun_route(struct ctx *ctx, struct nl_sock **ret) {
        struct netrun *n = netrun_get(ctx);
        int r;

        if (!n->route) {
                struct nl_sock *s = nl_socket_alloc();
                if (!s)
                        return -ENOMEM;
                r = nl_connect(s, NETLINK_ROUTE);
                if (r < 0) {
                        nl_socket_free(s);
                        ctx_fail(ctx, "opening rtnetlink: %s", nl_geterror(r));
                        return -EIO;
                }
                nlsock_keep_errno(s, &n->kerr);
                n->route = s;
        }
        *ret = n->route;
        return 0;
}

int netrun_errno(struct ctx *ctx, int nlerr) {
        return nlsock_errno(&netrun_get(ctx)->kerr, nlerr);
}

int netif_links(struct ctx *ctx, struct nl_cache **ret) {
        struct netrun *n = netrun_get(ctx);
        struct nl_sock *s;
        int r;

        if (!n->links) {
                r = netrun_route(ctx, &s);
                if (r < 0)
                        return r;
                r = rtnl_link_alloc_cache(s, AF_UNSPEC, &n->links);
                if (r < 0) {
                        r = netrun_errno(ctx, r);
                        ctx_fail(ctx, "dumping interfaces: %s", strerror(-r));
                        return r;
                }
        }
        *ret = n->links;
        return 0;
}

static void netif_from_link(struct rtnl_link *l, struct netif *ret) {
        *ret = (struct netif) { .ifindex = rtnl_link_get_ifindex(l), .flags = rtnl_link_get_flags(l) };
        snprintf(ret->name, sizeof(ret->name), "%s", rtnl_link_get_name(l) ?: "");
}

int netif_by_name(struct ctx *ctx, const char *name, struct netif *ret) {
        struct nl_cache *c;
        struct rtnl_link *l;
        int r = netif_links(ctx, &c);

        if (r < 0)
                return r;
        l = rtnl_link_get_by_name(c, name);
        if (!l) {
                ctx_fail(ctx, "%s: no such interface", name);
                return -ENODEV;
        }
        netif_from_link(l, ret);
        rtnl_link_put(l);
        return 0;
}

int netif_by_index(struct ctx *ctx, int ifindex, struct netif *ret) {
        struct nl_cache *c;
        struct rtnl_link *l;
        int r = netif_links(ctx, &c);

        if (r < 0)
                return r;
        l = rtnl_link_get(c, ifindex);
        if (!l) {
                ctx_fail(ctx, "interface %d is gone", ifindex);
                return -ENODEV;
        }
        netif_from_link(l, ret);
        rtnl_link_put(l);
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

static int default_route_family(struct ctx *ctx, int family, struct route_pick *p) {
        struct rtmsg rtm = { .rtm_family = (unsigned char) family };
        struct nl_sock *s;
        struct nl_cb *cb;
        int r = netrun_route(ctx, &s);

        if (r < 0)
                return r;
        r = nl_send_simple(s, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
        if (r < 0)
                return netrun_errno(ctx, r);
        cb = nlsock_cb_clone(s);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, pick_default, p);
        r = nl_recvmsgs(s, cb);
        nl_cb_put(cb);
        return r < 0 ? netrun_errno(ctx, r) : 0;
}

int netif_default_route(struct ctx *ctx, int *ret_ifindex) {
        struct netrun *n = netrun_get(ctx);
        int r;

        if (n->default_ifindex == 0) {
                struct route_pick p = { 0 };
                r = default_route_family(ctx, AF_INET, &p);
                if (r >= 0 && !p.found)
                        r = default_route_family(ctx, AF_INET6, &p);
                if (r < 0) {
                        ctx_fail(ctx, "reading the routing table: %s", strerror(-r));
                        return r;
                }
                n->default_ifindex = p.found ? p.ifindex : -ENOENT;
        }
        if (n->default_ifindex < 0) {
                ctx_fail(ctx, "auto: this host has no default route");
                return n->default_ifindex;
        }
        *ret_ifindex = n->default_ifindex;
        return 0;
}

int netif_resolve(struct ctx *ctx, const char *spec, struct netif **ret, size_t *ret_n) {
        struct netif one, *v = NULL;
        size_t n = 0;
        int r;

        if (streq(spec, "all")) {
                struct nl_cache *c;
                r = netif_links(ctx, &c);
                if (r < 0)
                        return r;
                for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
                        struct netif x;
                        netif_from_link((struct rtnl_link *) o, &x);
                        if (!(x.flags & IFF_UP) || (x.flags & IFF_LOOPBACK))
                                continue;
                        v = xrealloc(v, (n + 1) * sizeof(*v));
                        v[n++] = x;
                }
                *ret = v;
                *ret_n = n;
                return 0;
        }
        if (streq(spec, "auto")) {
                int ifindex;
                r = netif_default_route(ctx, &ifindex);
                if (r >= 0)
                        r = netif_by_index(ctx, ifindex, &one);
        } else
                r = netif_by_name(ctx, spec, &one);
        if (r < 0)
                return r;
        v = xmalloc(sizeof(*v));
        v[0] = one;
        *ret = v;
        *ret_n = 1;
        return 0;
}
