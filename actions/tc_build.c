/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's kernel side, writing: build medic's root, delete a root, rebuild a
 * previous one; and whether this kernel has sch_prio at all. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/prio.h>
#include <netlink/route/tc.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../agent/kernel/netif.h"
#include "../agent/kernel/nlroute.h"
#include "../agent/kernel/nlsock.h"
#include "action.h"
#include "tc.h"
#include "tc_dump.h"

/* ---- writing ------------------------------------------------------------------------ */

static int tc_fail(struct ctx *ctx, int nlerr, const char *ifname, const char *what) {
        int r = netrun_errno(ctx_net(ctx), nlerr);
        ctx_fail(ctx, "%s: %s: %s", ifname, what, nlsock_strerror(r));
        return r;
}

/* libnl-route-3 before anything is built, deleted or rebuilt: a load that fails changes
 * nothing. */
static int route_lib(struct ctx *ctx, const char *ifname) {
        return tc_route_lib(ctx, ifname, "medic builds tc objects with it");
}

static struct rtnl_qdisc *root_qdisc(int ifindex, uint32_t handle, const char *kind) {
        struct rtnl_qdisc *q = nlr.rtnl_qdisc_alloc();
        if (!q)
                return NULL;
        nlr.rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        nlr.rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
        nlr.rtnl_tc_set_handle(TC_CAST(q), handle);
        if (kind && nlr.rtnl_tc_set_kind(TC_CAST(q), kind) < 0) {
                nlr.rtnl_qdisc_put(q);
                return NULL;
        }
        return q;
}

int tc_delete_root(struct ctx *ctx, int ifindex, const char *ifname) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
        struct nl_sock *s;
        int r = route_lib(ctx, ifname);

        if (r < 0)
                return r;
        q = root_qdisc(ifindex, 0, NULL);
        r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
        if (r < 0)
                return r;
        if (!q)
                return -ENOMEM;
        r = nlr.rtnl_qdisc_delete(s, q);
        if (r < 0)
                r = netrun_errno(ctx_net(ctx), r);
        tc_wrote(ctx, ifindex, true);
        /* ENOENT: the root is already the kernel's default (handle 0). */
        if (r < 0 && r != -ENOENT) {
                ctx_fail(ctx, "%s: deleting the root qdisc: %s", ifname, nlsock_strerror(r));
                return r;
        }
        return 0;
}

/* Replacing a root by one with the same handle is a "change" to the kernel, which refuses a
 * different kind and would keep the old classes: delete such a root first. */
static int clear_same_handle(struct ctx *ctx, int ifindex, const char *ifname, uint32_t handle) {
        struct tc_view cur;
        int r = tc_read(ctx, ifindex, &cur);

        if (r < 0)
                return r;
        bool same = cur.handle == handle && cur.root != TC_ROOT_DEFAULT;
        tc_view_done(&cur);
        return same ? tc_delete_root(ctx, ifindex, ifname) : 0;
}

static int add_qdisc(struct ctx *ctx, struct rtnl_qdisc *q) {
        struct nl_sock *s;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0)
                return r;
        r = nlr.rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
        if (r < 0) {
                r = netrun_errno(ctx_net(ctx), r);
                /* The kernel loaded the qdisc's module and asks for the request again. */
                if (r == -EAGAIN) {
                        r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
                        if (r >= 0)
                                r = nlr.rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
                        if (r < 0)
                                r = netrun_errno(ctx_net(ctx), r);
                }
        }
        return r;
}

/* One request of medic's own (sent and acked); the message is taken. */
static int send_request(struct ctx *ctx, struct nl_msg *m) {
        struct nl_sock *s;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0) {
                nlmsg_free(m);
                return r;
        }
        r = nl_send_sync(s, m);
        return r < 0 ? netrun_errno(ctx_net(ctx), r) : 0;
}

int tc_prio_qdisc(int ifindex, unsigned n, struct rtnl_qdisc **ret) {
        uint8_t map[TC_PRIO_MAX + 1];
        struct rtnl_qdisc *q;

        if (nlroute_load(NULL) < 0)
                return -ENOSYS;
        q = root_qdisc(ifindex, TC_MEDIC_HANDLE, "prio");
        if (!q)
                return -ENOMEM;
        /* libnl checks the priomap against the band count: bands first. Every priority maps
         * to the last band, or unclassified traffic would share a policy band. */
        nlr.rtnl_qdisc_prio_set_bands(q, (int) n + 1);
        memset(map, (int) n, sizeof(map));
        if (nlr.rtnl_qdisc_prio_set_priomap(q, map, sizeof(map)) < 0) {
                nlr.rtnl_qdisc_put(q);
                return -EINVAL;
        }
        *ret = q;
        return 0;
}

static int build_htb(struct ctx *ctx, int ifindex, const char *ifname, unsigned n, uint64_t rate, double tpu) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = root_qdisc(ifindex, TC_MEDIC_HANDLE, "htb");
        int r;

        if (!q || nlr.rtnl_htb_set_defcls(q, n + 1) < 0)
                return -ENOMEM;
        r = add_qdisc(ctx, q);
        tc_wrote(ctx, ifindex, true);
        if (r < 0) {
                ctx_fail(ctx, "%s: adding the htb qdisc: %s", ifname, nlsock_strerror(r));
                return r;
        }
        for (unsigned i = 0; i <= n + 1; i++) {
                struct tc_class k;
                struct nl_msg *m;
                tc_htb_medic_class(i, n, rate, &k);
                r = tc_htb_class_request(ifindex, &k, tpu, &m);
                if (r >= 0)
                        r = send_request(ctx, m);
                tc_wrote(ctx, ifindex, false);
                if (r < 0) {
                        ctx_fail(ctx, "%s: adding htb class 1:%x: %s", ifname, TC_H_MIN(k.handle), nlsock_strerror(r));
                        return r;
                }
        }
        return 0;
}

int tc_build(struct ctx *ctx, int ifindex, const char *ifname, enum tc_backend backend,
             const struct tc_band *bands, unsigned n, uint64_t rate, enum tc_backend *ret_used) {
        double tpu = 0;
        int r;

        /* Everything HTB needs is known before the first change, or nothing changes. */
        r = route_lib(ctx, ifname);
        if (r < 0)
                return r;
        if (backend != TC_BACKEND_PRIO) {
                r = tc_clock(ctx, &tpu);
                if (r < 0)
                        return r;
        }
        r = clear_same_handle(ctx, ifindex, ifname, TC_MEDIC_HANDLE);
        if (r < 0)
                return r;

        if (backend == TC_BACKEND_PRIO || backend == TC_BACKEND_AUTO) {
                _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
                r = tc_prio_qdisc(ifindex, n, &q);
                if (r < 0)
                        return r;
                if (tc_cache_get(ctx)->no_prio && backend == TC_BACKEND_AUTO)
                        r = -ENOENT; /* one refusal per run is enough to know */
                else {
                        r = add_qdisc(ctx, q);
                        tc_wrote(ctx, ifindex, true);
                        if (r == -ENOENT)
                                tc_cache_get(ctx)->no_prio = true;
                }
                if (r == -ENOENT && backend == TC_BACKEND_AUTO) {
                        ctx_note(ctx, "backend auto: used htb, because this kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set)");
                        backend = TC_BACKEND_HTB;
                } else if (r == -ENOENT) {
                        ctx_fail(ctx, "%s: kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set); use backend: htb or auto", ifname);
                        return r;
                } else if (r < 0) {
                        ctx_fail(ctx, "%s: adding the prio qdisc: %s", ifname, nlsock_strerror(r));
                        return r;
                } else
                        backend = TC_BACKEND_PRIO;
        }
        if (backend == TC_BACKEND_HTB) {
                r = build_htb(ctx, ifindex, ifname, n, rate, tpu);
                if (r < 0)
                        return r;
        }

        struct rtnl_cls **v;
        unsigned nv;
        struct nl_sock *s;
        r = tc_filters_build(ifindex, bands, n, &v, &nv);
        if (r < 0)
                return r;
        for (unsigned i = 0; r >= 0 && i < nv; i++) {
                r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
                if (r >= 0 && (r = nlr.rtnl_cls_add(s, v[i], NLM_F_CREATE | NLM_F_EXCL)) < 0)
                        r = tc_fail(ctx, r, ifname, "adding a u32 filter");
        }
        tc_filters_free(v, nv);
        tc_wrote(ctx, ifindex, false);
        if (r < 0)
                return r;
        *ret_used = backend;
        return 0;
}

int tc_rebuild_request(int ifindex, const struct tc_view *prev, struct nl_msg **ret) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_ROOT,
                           .tcm_handle = prev->handle };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);

        if (!m)
                return -ENOMEM;
        if (nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO) < 0 || nla_put_string(m, TCA_KIND, prev->kind) < 0 ||
            nla_put(m, TCA_OPTIONS, (int) prev->opts_len, prev->opts) < 0) {
                nlmsg_free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int tc_rebuild(struct ctx *ctx, int ifindex, const char *ifname, const struct tc_view *prev) {
        _cleanup_(nlmsg_freep) struct nl_msg *m = NULL;
        struct nl_sock *s;
        int r;

        if (!prev->rebuildable || !tc_kind_rebuildable(prev->kind) || !prev->opts_len) {
                ctx_fail(ctx, "%s: medic cannot rebuild a '%s' root", ifname, prev->kind);
                return -EOPNOTSUPP;
        }
        r = route_lib(ctx, ifname);
        if (r < 0)
                return r;
        r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
        if (r < 0)
                return r;
        r = clear_same_handle(ctx, ifindex, ifname, prev->handle);
        if (r < 0)
                return r;
        r = tc_rebuild_request(ifindex, prev, &m);
        if (r < 0)
                return r;
        r = nl_send_auto(s, m);
        if (r >= 0)
                r = nl_wait_for_ack(s);
        tc_wrote(ctx, ifindex, true);
        if (r < 0) {
                r = netrun_errno(ctx_net(ctx), r);
                ctx_fail(ctx, "%s: re-creating the previous %s root: %s", ifname, prev->kind, nlsock_strerror(r));
                return r;
        }
        return 0;
}

/* modprobe runs an "install sch_prio COMMAND" line of modprobe.d instead of loading the
 * module. Looks in modprobe's own order (a file name found earlier hides the same name
 * later) and returns the command of the first such line, or NULL. */
static char *modprobe_install_rule(const char *module) {
        static const char *const dirs[] = { "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                            "/lib/modprobe.d", "/usr/lib/modprobe.d" };
        _cleanup_strv_ char **seen = NULL;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                _cleanup_strv_ char **names = NULL;
                DIR *d = opendir(dirs[i]);
                struct dirent *e;

                if (!d)
                        continue;
                while ((e = readdir(d))) {
                        size_t l = strlen(e->d_name);
                        if (l > 5 && streq(e->d_name + l - 5, ".conf") && !strv_contains(seen, e->d_name))
                                strv_push(&names, xstrdup(e->d_name));
                }
                closedir(d);
                strv_sort(names);
                for (size_t k = 0; names && names[k]; k++) {
                        _cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], names[k]), *text = NULL;
                        strv_push(&seen, xstrdup(names[k]));
                        if (read_file(path, &text, NULL) < 0)
                                continue;
                        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                                char word[16], mod[64];
                                int at = 0;
                                if (sscanf(line, " %15s %63s %n", word, mod, &at) == 2 && streq(word, "install") &&
                                    streq(mod, module) && at > 0) {
                                        line += at;
                                        line[strcspn(line, "#")] = '\0';
                                        for (size_t t = strlen(line); t > 0 && (line[t - 1] == ' ' || line[t - 1] == '\t'); t--)
                                                line[t - 1] = '\0';
                                        return xstrdup(line);
                                }
                        }
                }
        }
        return NULL;
}

/* Read-only: whether the kernel can create a prio qdisc, without creating one and without
 * loading a module (audit changes nothing). An installed module is not enough: the kernel
 * must also be allowed to load it, or apply meets the same ENOENT as on a kernel built
 * without it — and the operator must hear which of the two it is. */
static int probe_prio(const char **how) {
        static char why[512];
        struct utsname u;
        char path[256];
        _cleanup_free_ char *builtin = NULL, *dep = NULL, *disabled = NULL, *modprobe = NULL, *rule = NULL;

        if (access("/sys/module/sch_prio", F_OK) == 0) {
                *how = "module sch_prio is loaded";
                return 1;
        }
        *how = "no /lib/modules for this kernel to tell";
        if (uname(&u) < 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
        if (read_file(path, &builtin, NULL) >= 0 && strstr(builtin, "/sch_prio.ko")) {
                *how = "sch_prio is built into the kernel";
                return 1;
        }
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
        if (read_file(path, &dep, NULL) >= 0) {
                if (!strstr(dep, "/sch_prio.ko")) {
                        if (builtin) {
                                *how = "CONFIG_NET_SCH_PRIO is not set: no sch_prio module or built-in";
                                return 0;
                        }
                        *how = "no /lib/modules for this kernel to tell";
                        return -ENOENT;
                }
                if (read_line_file("/proc/sys/kernel/modules_disabled", &disabled) >= 0 && streq(disabled, "1")) {
                        *how = "module sch_prio is installed but the kernel refuses to load it: kernel.modules_disabled=1 (until reboot)";
                        return 0;
                }
                /* The kernel loads a qdisc's module by running kernel.modprobe; empty means never. */
                if (read_line_file("/proc/sys/kernel/modprobe", &modprobe) >= 0 && !modprobe[0]) {
                        *how = "module sch_prio is installed but the kernel cannot load it: kernel.modprobe is empty";
                        return 0;
                }
                rule = modprobe_install_rule("sch_prio");
                if (rule) {
                        const char *cmd = strrchr(rule, '/') ? strrchr(rule, '/') + 1 : rule;
                        bool refuses = streq(cmd, "false") || streq(cmd, "true");
                        snprintf(why, sizeof(why), "module sch_prio is installed but modprobe.d says 'install sch_prio %s'%s",
                                 rule, refuses ? ", so it is never loaded" : " instead of loading it");
                        *how = why;
                        /* /bin/false and /bin/true load nothing; another command may or may not. */
                        return refuses ? 0 : -ENOENT;
                }
                *how = "module sch_prio is installed";
                return 1;
        }
        return -ENOENT;
}

/* modules.dep is a megabyte on a distribution kernel, and the audit asks once per
 * interface: the answer cannot change while medic runs. */
int tc_kernel_has_prio(const char **how) {
        static int known = 0, answer;
        static const char *said;

        if (!known) {
                answer = probe_prio(&said);
                known = 1;
        }
        *how = said;
        return answer;
}
