/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "../util.h"
#include "nlroute.h"

struct nlroute nlr;

int nlroute_load(const char **why) {
#define SYM(name) { (void **) &nlr.name, #name }
        const struct {
                void **slot;
                const char *name;
        } syms[] = {
                SYM(rtnl_qdisc_alloc),     SYM(rtnl_qdisc_put),          SYM(rtnl_qdisc_add),
                SYM(rtnl_qdisc_delete),    SYM(rtnl_qdisc_prio_set_bands), SYM(rtnl_qdisc_prio_set_priomap),
                SYM(rtnl_htb_set_defcls),  SYM(rtnl_tc_set_ifindex),     SYM(rtnl_tc_set_parent),
                SYM(rtnl_tc_set_handle),   SYM(rtnl_tc_set_kind),        SYM(rtnl_cls_alloc),
                SYM(rtnl_cls_put),         SYM(rtnl_cls_add),            SYM(rtnl_cls_build_add_request),
                SYM(rtnl_cls_set_prio),    SYM(rtnl_cls_set_protocol),   SYM(rtnl_u32_add_key),
                SYM(rtnl_u32_set_classid), SYM(rtnl_u32_set_cls_terminal), SYM(rtnl_u32_set_divisor),
                SYM(rtnl_u32_set_hashtable), SYM(rtnl_u32_set_link),     SYM(rtnl_u32_set_selector),
        };
#undef SYM
        /* Test builds may name another file, to see a load fail. */
        const char *file = test_hook("MEDIC_TEST_NLROUTE");
        static bool loaded;
        void *h;

        if (loaded)
                return 0;
        /* RTLD_LOCAL: its symbols are reached through nlr only. It needs libnl-3, which medic
         * links, so the library state the two share is the one medic already uses. */
        h = dlopen(file ? file : "libnl-route-3.so.200", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                if (why)
                        *why = dlerror();
                return -ENOSYS;
        }
        for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
                *syms[i].slot = dlsym(h, syms[i].name);
                if (!*syms[i].slot) {
                        if (why)
                                *why = "a libnl-route-3 without the functions medic calls";
                        /* Not half a table: the next call loads it again from the start. */
                        dlclose(h);
                        return -ENOSYS;
                }
        }
        loaded = true;
        return 0;
}
