/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* libnl-route-3, loaded on first use. Mapping it costs every start ~0.1 ms (its ~60 tc
 * modules and caches register themselves as it loads: a twentieth of an audit), and only
 * building medic's tc structure, deleting or rebuilding a root, or comparing a root with
 * medic's own filters needs it: an audit of a host without medic's roots does not. The
 * calls go through nlr, whose members have the library's own names and types. */

#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/prio.h>
#include <netlink/route/tc.h>

#define NLROUTE_FN(name) typeof(&name) name
struct nlroute {
        NLROUTE_FN(rtnl_qdisc_alloc);
        NLROUTE_FN(rtnl_qdisc_put);
        NLROUTE_FN(rtnl_qdisc_add);
        NLROUTE_FN(rtnl_qdisc_delete);
        NLROUTE_FN(rtnl_qdisc_prio_set_bands);
        NLROUTE_FN(rtnl_qdisc_prio_set_priomap);
        NLROUTE_FN(rtnl_htb_set_defcls);
        NLROUTE_FN(rtnl_tc_set_ifindex);
        NLROUTE_FN(rtnl_tc_set_parent);
        NLROUTE_FN(rtnl_tc_set_handle);
        NLROUTE_FN(rtnl_tc_set_kind);
        NLROUTE_FN(rtnl_cls_alloc);
        NLROUTE_FN(rtnl_cls_put);
        NLROUTE_FN(rtnl_cls_add);
        NLROUTE_FN(rtnl_cls_build_add_request);
        NLROUTE_FN(rtnl_cls_set_prio);
        NLROUTE_FN(rtnl_cls_set_protocol);
        NLROUTE_FN(rtnl_u32_add_key);
        NLROUTE_FN(rtnl_u32_set_classid);
        NLROUTE_FN(rtnl_u32_set_cls_terminal);
        NLROUTE_FN(rtnl_u32_set_divisor);
        NLROUTE_FN(rtnl_u32_set_hashtable);
        NLROUTE_FN(rtnl_u32_set_link);
        NLROUTE_FN(rtnl_u32_set_selector);
};
#undef NLROUTE_FN
extern struct nlroute nlr;

/* Loads the library and fills nlr, once a process: 0, or -ENOSYS with what the dynamic
 * loader said (a file descriptor it could not open, the package not installed) in *why.
 * A failed load is tried again on the next call. */
int nlroute_load(const char **why);
