/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <linux/capability.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "caps.h"
#include "util.h"

static void cap_freep(cap_t *c) {
        if (*c)
                cap_free(*c);
}

uint64_t caps_effective(void) {
        _cleanup_(cap_freep) cap_t c = cap_get_proc();
        uint64_t mask = 0;

        if (!c)
                return 0;
        for (cap_value_t v = 0; v < 64 && v <= CAP_LAST_CAP; v++) {
                cap_flag_value_t f;
                if (cap_get_flag(c, v, CAP_EFFECTIVE, &f) == 0 && f == CAP_SET)
                        mask |= 1ULL << v;
        }
        return mask;
}

static int set_caps(uint64_t keep) {
        _cleanup_(cap_freep) cap_t c = cap_init();
        cap_value_t list[64];
        int n = 0;

        if (!c)
                return -errno;
        for (cap_value_t v = 0; v < 64 && v <= CAP_LAST_CAP; v++)
                if (keep & (1ULL << v))
                        list[n++] = v;
        if (n > 0 && (cap_set_flag(c, CAP_EFFECTIVE, n, list, CAP_SET) < 0 ||
                      cap_set_flag(c, CAP_PERMITTED, n, list, CAP_SET) < 0))
                return -errno;
        if (cap_set_proc(c) < 0)
                return -errno;
        return 0;
}

int caps_drop_all(void) {
        int r = set_caps(0);
        /* Only a process without capabilities may fail here, and it has nothing to drop. */
        if (r == -EPERM)
                return 0;
        return r;
}

int caps_limit(uint64_t keep) {
        uint64_t have = caps_effective();
        int r;

        keep &= have;
        /* Clear the bounding set while CAP_SETPCAP is still ours. */
        if (have & (1ULL << CAP_SETPCAP))
                for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
                        if (!(keep & (1ULL << v)) && CAP_IS_SUPPORTED(v))
                                (void) cap_drop_bound(v);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        r = set_caps(keep);
        if (r == -EPERM && have == 0)
                return 0;
        return r;
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
