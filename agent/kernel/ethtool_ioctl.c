/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "../util.h"
#include "ethtool_ioctl.h"

int ethioc_open(int *ret_fd) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* Returns the ioctl's own non-negative result (SFEATURES flags) or -errno. */
static int ethioc(int fd, const char *ifname, void *cmd) {
        struct ifreq ifr = { 0 };
        int r;

        if (strlen(ifname) >= sizeof(ifr.ifr_name))
                return -ENODEV;
        memcpy(ifr.ifr_name, ifname, strlen(ifname));
        ifr.ifr_data = cmd;
        r = ioctl(fd, SIOCETHTOOL, &ifr);
        return r < 0 ? -errno : r;
}

int ethioc_feature_names(int fd, const char *ifname, char ***ret, unsigned *ret_n) {
        struct {
                struct ethtool_sset_info info;
                uint32_t count;
        } si = { .info = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = UINT64_C(1) << ETH_SS_FEATURES } };
        _cleanup_free_ struct ethtool_gstrings *gs = NULL;
        char **names;
        int r;

        r = ethioc(fd, ifname, &si);
        if (r < 0)
                return r;
        /* The kernel clears the mask bit of a set it does not know. */
        if (!(si.info.sset_mask & (UINT64_C(1) << ETH_SS_FEATURES)) || si.count == 0 || si.count > 4096)
                return -EOPNOTSUPP;
        gs = xcalloc(1, sizeof(*gs) + (size_t) si.count * ETH_GSTRING_LEN);
        gs->cmd = ETHTOOL_GSTRINGS;
        gs->string_set = ETH_SS_FEATURES;
        gs->len = si.count;
        r = ethioc(fd, ifname, gs);
        if (r < 0)
                return r;
        names = xcalloc(gs->len + 1, sizeof(*names));
        for (uint32_t i = 0; i < gs->len; i++)
                names[i] = xstrndup((const char *) gs->data + (size_t) i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
        *ret = names;
        *ret_n = gs->len;
        return 0;
}

int ethioc_features_get(int fd, const char *ifname, unsigned n_bits, struct eth_features *ret) {
        unsigned words = bits_words(n_bits);
        _cleanup_free_ struct ethtool_gfeatures *g =
                xcalloc(1, sizeof(*g) + words * sizeof(struct ethtool_get_features_block));
        int r;

        g->cmd = ETHTOOL_GFEATURES;
        g->size = words;
        r = ethioc(fd, ifname, g);
        if (r < 0)
                return r;
        eth_features_init(ret, n_bits);
        for (unsigned i = 0; i < words && i < g->size; i++) {
                ret->hw[i] = g->features[i].available;
                ret->wanted[i] = g->features[i].requested;
                ret->active[i] = g->features[i].active;
                ret->nochange[i] = g->features[i].never_changed;
        }
        return 0;
}

int ethioc_features_set(int fd, const char *ifname, unsigned n_bits, const uint32_t *mask, const uint32_t *value,
                        struct eth_set_result *ret) {
        unsigned words = bits_words(n_bits);
        _cleanup_free_ struct ethtool_sfeatures *s =
                xcalloc(1, sizeof(*s) + words * sizeof(struct ethtool_set_features_block));
        struct eth_features before, after;
        int r;

        r = ethioc_features_get(fd, ifname, n_bits, &before);
        if (r < 0)
                return r;
        s->cmd = ETHTOOL_SFEATURES;
        s->size = words;
        for (unsigned i = 0; i < words; i++) {
                s->features[i].valid = mask[i];
                s->features[i].requested = value[i] & mask[i];
        }
        /* >= 0: ETHTOOL_F_WISH / F_UNSUPPORTED flag bits that did not take; the read after
         * says which. */
        r = ethioc(fd, ifname, s);
        if (r >= 0)
                r = ethioc_features_get(fd, ifname, n_bits, &after);
        if (r < 0) {
                eth_features_done(&before);
                return r;
        }
        for (unsigned i = 0; i < words; i++) {
                ret->not_taken[i] = mask[i] & (value[i] ^ after.active[i]);
                ret->changed[i] = before.active[i] ^ after.active[i];
                ret->active[i] = after.active[i];
        }
        eth_features_done(&before);
        eth_features_done(&after);
        return 1;
}

int ethioc_driver(int fd, const char *ifname, char **ret) {
        struct ethtool_drvinfo d = { .cmd = ETHTOOL_GDRVINFO };
        int r = ethioc(fd, ifname, &d);

        if (r < 0)
                return r;
        *ret = xstrndup(d.driver, sizeof(d.driver));
        return 0;
}
