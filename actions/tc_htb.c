/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's HTB classes, without libnl's HTB module.
 *
 * HTB keeps a class's burst as the time to send it at the class's rate, in packet
 * scheduler ticks, and the tick length is in /proc/net/psched. libnl reads that file
 * lazily the first time it converts: if it cannot open it, it silently uses one tick per
 * microsecond (bursts 15.6 times too small, and its own read-back agrees with itself); if
 * it opens the file but cannot read it, it calls exit(1) — between the qdisc and its
 * classes. It also takes TICKS_PER_USEC and PROC_NET_PSCHED from the environment of a root
 * process. So medic reads the clock itself before the first change, builds the class
 * requests itself, and parses the class dump itself. No kernel needed: unit-tested. */
#include <errno.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "tc.h"

int tc_psched_parse(const char *text, double *ret_ticks_per_usec) {
        unsigned t2us, us2t, clock_res;

        if (!text || sscanf(text, "%8x %8x %8x", &t2us, &us2t, &clock_res) != 3 || !t2us || !us2t || !clock_res)
                return -EBADMSG;
        /* The kernel says 1000 ns per "usec" and 64 ns per tick: 15.625 ticks per
         * microsecond. With a nanosecond clock an old compatibility rule makes the first
         * field a plain 1000 that must be read as the second (iproute2 does the same). */
        if (clock_res == 1000000000)
                t2us = us2t;
        *ret_ticks_per_usec = (double) t2us / us2t * ((double) clock_res / 1000000.0);
        return 0;
}

uint32_t tc_htb_burst(uint64_t rate) {
        /* tc's default: one timer tick (1 ms) at the rate plus a frame. */
        uint64_t b = rate / 1000 + TC_HTB_QUANTUM;
        return b > UINT32_MAX ? UINT32_MAX : (uint32_t) b;
}

uint32_t tc_htb_ticks(uint32_t bytes, uint64_t rate, double ticks_per_usec) {
        /* Whole microseconds first, then ticks: the steps libnl took, so that roots an
         * earlier medic built compare equal. */
        double us = rate ? (double) bytes / (double) rate * 1000000.0 : 0;
        uint32_t whole = us >= 4294967295.0 ? UINT32_MAX : (uint32_t) us;
        double t = whole * ticks_per_usec;
        return t >= 4294967295.0 ? UINT32_MAX : (uint32_t) t;
}

static void put_rate(struct tc_ratespec *r, uint64_t rate) {
        r->rate = rate >= UINT32_MAX ? UINT32_MAX : (uint32_t) rate;
        r->linklayer = TC_LINKLAYER_ETHERNET;
}

int tc_htb_class_request(int ifindex, const struct tc_class *k, double ticks_per_usec, struct nl_msg **ret) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = k->parent,
                           .tcm_handle = k->handle };
        struct tc_htb_opt o = { .quantum = k->quantum, .prio = k->prio };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWTCLASS, NLM_F_CREATE | NLM_F_EXCL);
        struct nlattr *opts;

        if (!m)
                return -ENOMEM;
        put_rate(&o.rate, k->rate);
        put_rate(&o.ceil, k->ceil);
        o.buffer = tc_htb_ticks(k->burst, k->rate, ticks_per_usec);
        o.cbuffer = tc_htb_ticks(k->cburst, k->ceil, ticks_per_usec);
        if (nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO) < 0 || nla_put_string(m, TCA_KIND, "htb") < 0 ||
            !(opts = nla_nest_start(m, TCA_OPTIONS)) || nla_put(m, TCA_HTB_PARMS, sizeof(o), &o) < 0 ||
            (k->rate >= UINT32_MAX && nla_put_u64(m, TCA_HTB_RATE64, k->rate) < 0) ||
            (k->ceil >= UINT32_MAX && nla_put_u64(m, TCA_HTB_CEIL64, k->ceil) < 0)) {
                nlmsg_free(m);
                return -ENOMEM;
        }
        nla_nest_end(m, opts);
        *ret = m;
        return 0;
}

static struct nla_policy htb_policy[TCA_HTB_MAX + 1] = {
        [TCA_HTB_RATE64] = { .type = NLA_U64 },
        [TCA_HTB_CEIL64] = { .type = NLA_U64 },
};

int tc_class_parse(struct nlmsghdr *h, struct tc_class *ret) {
        struct tcmsg *t = nlmsg_data(h);
        struct nlattr *tb[TCA_MAX + 1], *o[TCA_HTB_MAX + 1];
        struct tc_class k;

        if (!nlmsg_valid_hdr(h, sizeof(*t)))
                return -EBADMSG;
        if (h->nlmsg_type != RTM_NEWTCLASS || nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, tc_msg_policy) < 0 || !tb[TCA_KIND])
                return -EBADMSG;
        k = (struct tc_class) { .handle = t->tcm_handle, .parent = t->tcm_parent };
        str_copy(k.kind, nla_get_string(tb[TCA_KIND]), sizeof(k.kind));
        if (streq(k.kind, "htb") && tb[TCA_OPTIONS] &&
            nla_parse_nested(o, TCA_HTB_MAX, tb[TCA_OPTIONS], htb_policy) >= 0 && o[TCA_HTB_PARMS] &&
            nla_len(o[TCA_HTB_PARMS]) >= (int) sizeof(struct tc_htb_opt)) {
                const struct tc_htb_opt *p = nla_data(o[TCA_HTB_PARMS]);
                k.rate = o[TCA_HTB_RATE64] ? nla_get_u64(o[TCA_HTB_RATE64]) : p->rate.rate;
                k.ceil = o[TCA_HTB_CEIL64] ? nla_get_u64(o[TCA_HTB_CEIL64]) : p->ceil.rate;
                k.buffer = p->buffer;
                k.cbuffer = p->cbuffer;
                k.quantum = p->quantum;
                k.prio = p->prio;
                k.htb = true;
        }
        *ret = k;
        return 0;
}

void tc_htb_medic_class(unsigned i, unsigned n, uint64_t rate, struct tc_class *ret) {
        /* Each band is guaranteed an equal share and may borrow up to the link rate; HTB
         * lends spare bandwidth to the lowest priority value first. */
        uint64_t r = i == 0 ? rate : rate / (n + 1);
        *ret = (struct tc_class) {
                .handle = i == 0 ? TC_HTB_PARENT : TC_H_MAKE(TC_MEDIC_HANDLE, i),
                .parent = i == 0 ? TC_MEDIC_HANDLE : TC_HTB_PARENT,
                .htb = true,
                .rate = r,
                .ceil = rate,
                .burst = tc_htb_burst(r),
                .cburst = tc_htb_burst(rate),
                .quantum = TC_HTB_QUANTUM,
                .prio = i == 0 ? 0 : i - 1,
        };
        snprintf(ret->kind, sizeof(ret->kind), "htb");
}

char *tc_htb_class_diff(const struct tc_class *have, const struct tc_class *want, double ticks_per_usec) {
        uint32_t buffer = tc_htb_ticks(want->burst, want->rate, ticks_per_usec);
        uint32_t cbuffer = tc_htb_ticks(want->cburst, want->ceil, ticks_per_usec);
        unsigned maj = TC_H_MAJ(have->handle) >> 16, min = TC_H_MIN(have->handle);

        if (!have->htb)
                return xasprintf("class %x:%x is a %s class", maj, min, have->kind);
        /* The parent class hangs from the root; the kernel reports it as 1: or as root. */
        if (have->parent != want->parent && !(want->parent == TC_MEDIC_HANDLE && have->parent == TC_H_ROOT))
                return xasprintf("class %x:%x has parent %x:%x", maj, min, TC_H_MAJ(have->parent) >> 16,
                                 TC_H_MIN(have->parent));
        if (have->rate != want->rate)
                return xasprintf("class %x:%x rate %llu B/s, medic sets %llu", maj, min,
                                 (unsigned long long) have->rate, (unsigned long long) want->rate);
        if (have->ceil != want->ceil)
                return xasprintf("class %x:%x ceil %llu B/s, medic sets %llu", maj, min,
                                 (unsigned long long) have->ceil, (unsigned long long) want->ceil);
        if (have->prio != want->prio)
                return xasprintf("class %x:%x prio %u, medic sets %u", maj, min, have->prio, want->prio);
        if (have->quantum != want->quantum)
                return xasprintf("class %x:%x quantum %u, medic sets %u", maj, min, have->quantum, want->quantum);
        if (have->buffer != buffer)
                return xasprintf("class %x:%x burst of %u scheduler ticks, medic sets %u (%u bytes)", maj, min,
                                 have->buffer, buffer, want->burst);
        if (have->cbuffer != cbuffer)
                return xasprintf("class %x:%x cburst of %u scheduler ticks, medic sets %u (%u bytes)", maj, min,
                                 have->cbuffer, cbuffer, want->cburst);
        return NULL;
}
