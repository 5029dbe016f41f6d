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

const char *offload_pattern(const char *name) {
        for (size_t i = 0; i < offload_names_n; i++)
                if (streq(offload_names[i].name, name))
                        return offload_names[i].pattern;
        return NULL;
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

static const char *group_scan(const char *kernel_name) {
        for (size_t i = 0; i < offload_names_n; i++)
                if (offload_pattern_match(kernel_name, offload_names[i].pattern))
                        return offload_names[i].name;
        return NULL;
}

/* The same ~65 kernel names are asked about for every interface, several times per item
 * (describe, compare, notes): over 1,000 interfaces the pattern scan was most of an audit.
 * A name's group never changes, so remember it. */
#define GROUP_MEMO 256
static struct { char name[32]; const char *group; bool used; } group_memo[GROUP_MEMO];

const char *offload_group_of(const char *kernel_name) {
        size_t len, i;
        uint32_t h = 2166136261u;

        if (!kernel_name || (len = strlen(kernel_name)) >= sizeof(group_memo[0].name))
                return group_scan(kernel_name);
        for (const char *c = kernel_name; *c; c++)
                h = (h ^ (unsigned char) *c) * 16777619u;
        for (size_t probe = 0; probe < GROUP_MEMO; probe++) {
                i = (h + probe) % GROUP_MEMO;
                if (!group_memo[i].used) {
                        memcpy(group_memo[i].name, kernel_name, len + 1);
                        group_memo[i].group = group_scan(kernel_name);
                        group_memo[i].used = true;
                        return group_memo[i].group;
                }
                if (streq(group_memo[i].name, kernel_name))
                        return group_memo[i].group;
        }
        return group_scan(kernel_name); /* full: more names than any kernel has */
}

bool offload_covers(const char *name, const char *kernel_name) {
        const char *pattern = offload_pattern(name);

        if (!pattern)
                return streq(name, kernel_name);
        /* ethtool gives a kernel name to the first user name that matches it. */
        return streq(offload_group_of(kernel_name), name);
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
