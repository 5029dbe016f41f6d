/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <linux/capability.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "../actions/checks/check.h"
#include "caps.h"
#include "policy.h"
#include "util.h"

static void cap_freep(cap_t *c) {
        if (*c)
                cap_free(*c);
}

static uint64_t caps_get(cap_flag_t flag) {
        _cleanup_(cap_freep) cap_t c = cap_get_proc();
        uint64_t mask = 0;

        if (!c)
                return 0;
        for (cap_value_t v = 0; v < 64 && v <= CAP_LAST_CAP; v++) {
                cap_flag_value_t f;
                if (cap_get_flag(c, v, flag, &f) == 0 && f == CAP_SET)
                        mask |= 1ULL << v;
        }
        return mask;
}

uint64_t caps_effective(void) {
        return caps_get(CAP_EFFECTIVE);
}

static int set_caps(uint64_t permitted, uint64_t effective) {
        _cleanup_(cap_freep) cap_t c = cap_init();
        cap_value_t p[64], e[64];
        int np = 0, ne = 0;

        if (!c)
                return -errno;
        for (cap_value_t v = 0; v < 64 && v <= CAP_LAST_CAP; v++) {
                if (permitted & (1ULL << v))
                        p[np++] = v;
                if (effective & permitted & (1ULL << v))
                        e[ne++] = v;
        }
        if ((np > 0 && cap_set_flag(c, CAP_PERMITTED, np, p, CAP_SET) < 0) ||
            (ne > 0 && cap_set_flag(c, CAP_EFFECTIVE, ne, e, CAP_SET) < 0))
                return -errno;
        if (cap_set_proc(c) < 0)
                return -errno;
        return 0;
}

/* Permitted = permitted ∩ what we have, effective = effective ∩ that; the bounding set
 * cleared of everything else (while CAP_SETPCAP is still ours) and no_new_privs set, so
 * that nothing this process runs could get a capability back. */
static int limit(uint64_t permitted, uint64_t effective) {
        uint64_t have = caps_get(CAP_PERMITTED);
        int r;

        permitted &= have;
        if (caps_effective() & (1ULL << CAP_SETPCAP))
                for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
                        if (!(permitted & (1ULL << v)) && CAP_IS_SUPPORTED(v))
                                (void) cap_drop_bound(v);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        r = set_caps(permitted, effective);
        /* Only a process without capabilities may fail here, and it has nothing to drop. */
        if (r == -EPERM && have == 0)
                return 0;
        return r;
}

int caps_limit(uint64_t keep) {
        return limit(keep, keep);
}

int caps_drop_all(void) {
        return caps_limit(0);
}

int caps_hold(uint64_t keep) {
        return limit(keep, 0);
}

uint64_t caps_for_reading(const struct policy *pol) {
        uint64_t caps = CAP_TO_MASK(CAP_SYS_PTRACE);

        for (size_t i = 0; pol && i < pol->n_targets; i++)
                for (size_t k = 0; k < pol->targets[i].n_rules; k++)
                        if (pol->targets[i].rules[k].kind == RULE_PIDFILE)
                                caps |= CAP_TO_MASK(CAP_DAC_READ_SEARCH);
        for (size_t i = 0; pol && i < pol->n_checks; i++)
                if (streq(pol->checks[i].ops->kind, "nic"))
                        caps |= (1ULL << CAP_SYSLOG);
        return caps;
}

char *caps_describe(uint64_t mask) {
        char *s = xstrdup("");

        for (cap_value_t v = 0; v < 64; v++) {
                if (!(mask & (1ULL << v)))
                        continue;
                char *name = cap_to_name(v), *n;
                for (char *c = name; *c; c++)
                        *c = (char) (*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
                n = xasprintf("%s%s%s", s, *s ? ", " : "", name);
                cap_free(name);
                free(s);
                s = n;
        }
        return s;
}
