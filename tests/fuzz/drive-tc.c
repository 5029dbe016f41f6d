/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tc fuzzer's driver (also run by capture.c on a real kernel): traffic-priority's
 * read of an interface from the kernel's dump messages: the link dump (to find the
 * interface), the qdisc dump of every interface, then, for a classful root, the
 * interface's class dump (libnl's HTB parser) and u32 filter dump (medic's canonical lines
 * and port nodes). The resulting state goes where a read state goes: compared, described,
 * written to the journal and read back, and, for a previous root medic can rebuild, into
 * the request that re-creates it. Last, the route dumps that `interface: auto` reads. */
#include <json-c/json.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../actions/action.h"
#include "../../actions/tc.h"
#include "../../agent/kernel/netif.h"
#include "../../agent/kernel/nlsock.h"
#include "fuzz.h"

#define IFNAME "eth0"

static void die(const char *what) {
        fprintf(stderr, "traffic-priority: %s\n", what);
        abort();
}

/* What medic makes of a read root. */
static void use_state(struct ctx *ctx, void *have) {
        const struct action_ops *ops = &traffic_priority_ops;
        struct json_object *j = NULL;
        void *again = NULL;
        char *d;

        d = ops->describe(have);
        if (!d)
                die("a read state has no description");
        free(d);
        if (!ops->same(have, have))
                die("a read state differs from itself");
        if (ops->to_json(have, &j) < 0)
                die("a read state cannot be journaled");
        (void) json_object_to_json_string(j);
        if (ops->from_json(j, &again) < 0) {
                fprintf(stderr, "%s\n", json_object_to_json_string(j));
                die("a journaled state does not read back");
        }
        if (!ops->same(have, again) || !ops->same(again, have))
                die("a journaled state reads back different");
        ops->free(again);
        json_object_put(j);
        (void) ctx;
}

/* The same root as tc's own view (from the run's dumps, no new request), and what
 * rollback makes of a previous root it can rebuild. */
static void rebuild(struct ctx *ctx) {
        struct netif ifc;
        struct tc_view v;
        struct nl_msg *m = NULL;

        if (netif_by_name(ctx_net(ctx), IFNAME, &ifc) < 0 || tc_read(ctx, ifc.ifindex, &v) < 0)
                die("a root read once does not read again from the run's dumps");
        if (v.rebuildable) {
                free(tc_describe_opts(v.kind, v.opts, v.opts_len));
                if (tc_rebuild_request(ifc.ifindex, &v, &m) < 0)
                        die("a rebuildable root has no rebuild request");
                nlmsg_free(m);
        }
        tc_view_done(&v);
}

void fuzz_tc(struct nl_sock *route) {
        struct ctx ctx = { .root = "" };
        struct netrun *net = ctx_net(&ctx);
        struct json_object *wj;
        void *want = NULL, *have = NULL;
        int ifindex;

        net->route = route;
        nlsock_keep_errno(route, &net->kerr);
        /* Any state naming the interface will do: read() only takes the name from it. */
        wj = json_tokener_parse("{\"interface\":\"" IFNAME "\",\"root\":\"default\",\"handle\":0}");
        if (!wj || traffic_priority_ops.from_json(wj, &want) < 0)
                die("the fuzzer's own state does not parse");
        if (traffic_priority_ops.read(&ctx, want, &have) >= 0) {
                use_state(&ctx, have);
                traffic_priority_ops.free(have);
                rebuild(&ctx);
        }
        /* `interface: auto`: the default route's interface, from the route dumps. */
        (void) netif_default_route(net, &ifindex);
        traffic_priority_ops.free(want);
        json_object_put(wj);
        ctx_done(&ctx);
}
