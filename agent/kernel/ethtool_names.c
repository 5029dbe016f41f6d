/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <string.h>

#include "../util.h"
#include "ethtool_names.h"

/* ethtool's off_flag_def (common.c), long names only: the short ones (tx, sg, tso) read like
 * typos in a policy. udp-fragmentation-offload covers nothing on kernels since 4.14; it is
 * kept so that a policy written for ethtool's list is not refused for it. */
const struct offload_name offload_names[] = {
        { "rx-checksumming", "rx-checksum" },
        { "tx-checksumming", "tx-checksum-*" },
        { "scatter-gather", "tx-scatter-gather*" },
        { "tcp-segmentation-offload", "tx-tcp*-segmentation" },
        { "udp-fragmentation-offload", "tx-udp-fragmentation" },
        { "generic-segmentation-offload", "tx-generic-segmentation" },
        { "generic-receive-offload", "rx-gro" },
        { "large-receive-offload", "rx-lro" },
        { "rx-vlan-offload", "rx-vlan-hw-parse" },
        { "tx-vlan-offload", "tx-vlan-hw-insert" },
        { "ntuple-filters", "rx-ntuple-filter" },
        { "receive-hashing", "rx-hashing" },
};
const size_t offload_names_n = ELEMENTSOF(offload_names);

/* The kernel's feature names (netdev_features_strings, net/ethtool/common.c) from 4.19 to
 * 6.18, including a few that newer kernels dropped. The running kernel's own list (read at run
 * time) is what medic sends; this one only lets the policy loader tell a typo from a
 * feature, so that `tx-checksuming: off` is an error with a position and not a silent no-op.
 * A feature newer than this list is refused until the list learns it. */
static const char *const kernel_names[] = {
        "tx-scatter-gather", "tx-checksum-ipv4", "tx-checksum-ip-generic", "tx-checksum-ipv6",
        "highdma", "tx-scatter-gather-fraglist", "tx-vlan-hw-insert", "rx-vlan-hw-parse",
        "rx-vlan-filter", "vlan-challenged", "tx-generic-segmentation", "tx-lockless",
        "netns-local", "rx-gro", "rx-lro", "tx-tcp-segmentation", "tx-gso-robust",
        "tx-tcp-ecn-segmentation", "tx-tcp-mangleid-segmentation", "tx-tcp6-segmentation",
        "tx-fcoe-segmentation", "tx-gre-segmentation", "tx-gre-csum-segmentation",
        "tx-ipxip4-segmentation", "tx-ipxip6-segmentation", "tx-udp_tnl-segmentation",
        "tx-udp_tnl-csum-segmentation", "tx-gso-partial", "tx-tunnel-remcsum-segmentation",
        "tx-sctp-segmentation", "tx-esp-segmentation", "tx-udp-segmentation", "tx-gso-list",
        "tx-tcp-accecn-segmentation", "tx-udp-fragmentation", "tx-checksum-fcoe-crc",
        "tx-checksum-sctp", "fcoe-mtu", "rx-ntuple-filter", "rx-hashing", "rx-checksum",
        "tx-nocache-copy", "loopback", "rx-fcs", "rx-all", "tx-vlan-stag-hw-insert",
        "rx-vlan-stag-hw-parse", "rx-vlan-stag-filter", "l2-fwd-offload", "hw-tc-offload",
        "esp-hw-offload", "esp-tx-csum-hw-offload", "rx-udp_tunnel-port-offload",
        "tls-hw-tx-offload", "tls-hw-rx-offload", "rx-gro-hw", "tls-hw-record", "rx-gro-list",
        "macsec-hw-offload", "rx-udp-gro-forwarding", "hsr-tag-ins-offload",
        "hsr-tag-rm-offload", "hsr-fwd-offload", "hsr-dup-offload",
};

/* The index of a user-facing name in offload_names, or -1: a length and first-letter check
 * before the comparison, as this is asked for every feature of every interface. */
static int user_index(const char *name, size_t len) {
        static size_t lens[ELEMENTSOF(offload_names)];

        if (!lens[0])
                for (size_t i = 0; i < offload_names_n; i++)
                        lens[i] = strlen(offload_names[i].name);
        for (size_t i = 0; i < offload_names_n; i++)
                if (lens[i] == len && offload_names[i].name[0] == name[0] && memcmp(offload_names[i].name, name, len) == 0)
                        return (int) i;
        return -1;
}

const char *offload_pattern(const char *name) {
        int i = name ? user_index(name, strlen(name)) : -1;
        return i < 0 ? NULL : offload_names[i].pattern;
}

bool offload_pattern_match(const char *kernel_name, const char *pattern) {
        const char *star = strchr(pattern, '*');
        size_t n, head, tail;

        if (!kernel_name || !*kernel_name)
                return false;
        if (!star)
                return streq(kernel_name, pattern);
        n = strlen(kernel_name);
        head = (size_t) (star - pattern);
        tail = strlen(star + 1);
        if (n < head + tail)
                return false;
        return strncmp(kernel_name, pattern, head) == 0 && streq(kernel_name + n - tail, star + 1);
}

static int group_scan(const char *kernel_name) {
        for (size_t i = 0; i < offload_names_n; i++)
                if (offload_pattern_match(kernel_name, offload_names[i].pattern))
                        return (int) i;
        return -1;
}

/* The same ~65 kernel names are asked about for every interface, several times per item
 * (describe, compare, notes): over 1,000 interfaces the pattern scan was most of an audit.
 * A name's group never changes, so remember it, and whether the name is itself a
 * user-facing one. The key is read a word at a time (the first and last 8 bytes): a
 * byte-by-byte hash of every name was still a tenth of such an audit. */
#define GROUP_MEMO 256
static struct {
        char name[32];
        size_t len;
        int8_t group; /* offload_names index of the group that owns it, or -1 */
        int8_t user;  /* offload_names index when it is a user-facing name, or -1 */
        bool used;
} group_memo[GROUP_MEMO];

static uint64_t name_key(const char *s, size_t len) {
        uint64_t a = 0, b = 0;

        if (len >= 8) {
                memcpy(&a, s, 8);
                memcpy(&b, s + len - 8, 8);
        } else
                memcpy(&a, s, len);
        return (a * 0x9e3779b97f4a7c15ull) ^ ((b + len) * 0xc2b2ae3d27d4eb4full);
}

/* The memo's entry for name (len < 32), filled on first use; NULL when the memo is full. */
static const typeof(group_memo[0]) *memo_get(const char *name, size_t len) {
        /* The top bits of the products depend on every bit of the key. */
        size_t h = (size_t) (name_key(name, len) >> 56);

        for (size_t probe = 0; probe < GROUP_MEMO; probe++) {
                size_t i = (h + probe) % GROUP_MEMO;
                if (!group_memo[i].used) {
                        memcpy(group_memo[i].name, name, len + 1);
                        group_memo[i].len = len;
                        group_memo[i].group = (int8_t) group_scan(name);
                        group_memo[i].user = (int8_t) user_index(name, len);
                        group_memo[i].used = true;
                        return &group_memo[i];
                }
                if (group_memo[i].len == len && memcmp(group_memo[i].name, name, len) == 0)
                        return &group_memo[i];
        }
        return NULL; /* full: more names than any kernel has */
}

static int group_index(const char *kernel_name) {
        size_t len;
        const typeof(group_memo[0]) *m;

        if (!kernel_name || (len = strlen(kernel_name)) >= sizeof(group_memo[0].name) || !(m = memo_get(kernel_name, len)))
                return kernel_name ? group_scan(kernel_name) : -1;
        return m->group;
}

int offload_user(const char *name) {
        size_t len = name ? strlen(name) : 0;
        const typeof(group_memo[0]) *m = name && len < sizeof(group_memo[0].name) ? memo_get(name, len) : NULL;

        return m ? m->user : name ? user_index(name, len) : -1;
}

int offload_group(const char *kernel_name) {
        return group_index(kernel_name);
}

bool offload_covers_idx(const char *name, int user, const char *kernel_name, int group) {
        if (user < 0)
                return streq(name, kernel_name);
        return group == user;
}

const char *offload_intern(const char *kernel_name, int *ret_group) {
        size_t len = kernel_name ? strlen(kernel_name) : 0;
        const typeof(group_memo[0]) *m = kernel_name && len < sizeof(group_memo[0].name) ? memo_get(kernel_name, len) : NULL;

        if (!m)
                return NULL;
        *ret_group = m->group;
        return m->name;
}

const char *offload_group_of(const char *kernel_name) {
        int i = group_index(kernel_name);
        return i < 0 ? NULL : offload_names[i].name;
}

bool offload_covers(const char *name, const char *kernel_name) {
        int user = offload_user(name);
        /* ethtool gives a kernel name to the first user name that matches it. */
        return offload_covers_idx(name, user, kernel_name, user < 0 ? -1 : group_index(kernel_name));
}

bool offload_known_name(const char *name) {
        if (offload_pattern(name))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(kernel_names); i++)
                if (streq(kernel_names[i], name))
                        return true;
        return false;
}

const char *offload_canonical(const char *name) {
        const char *group = offload_group_of(name);

        if (group && !strchr(offload_pattern(group), '*'))
                return group;
        return name;
}
