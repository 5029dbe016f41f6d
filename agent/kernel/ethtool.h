/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Offload features of network interfaces, through the kernel's ethtool generic netlink
 * family, or the SIOCETHTOOL ioctl where the family is missing (kernels before 5.6, or
 * MEDIC_ETHTOOL=ioctl for tests). Both give the same four bitmaps per interface:
 *
 *   hw        the bits the driver lets user space change
 *   wanted    what was asked for (only meaningful for hw bits)
 *   active    what is in force: wanted, minus what the kernel's dependency rules drop
 *             (no TSO without tx checksumming and scatter-gather, ...)
 *   nochange  bits the kernel never lets change
 *
 * A feature is fixed ("[fixed]" in `ethtool -k`) when it is not in hw or in nochange.
 *
 * One run reads the features once: a FEATURES_GET dump of every interface on first use,
 * kept in the run's netrun (its `ethtool` slot), and after a write only that interface is
 * read again. */

#include <stdbool.h>
#include <stdint.h>

struct ctx;

struct eth_features {
        unsigned n_bits; /* the kernel's feature count (ETH_SS_FEATURES) */
        unsigned words;  /* 32-bit words per bitmap */
        uint32_t *hw, *wanted, *active, *nochange; /* one allocation, hw first */
};

/* The outcome of a write, as the FEATURES_SET reply states it (the ioctl path computes the
 * same from a read before and after). */
struct eth_set_result {
        unsigned words;
        uint32_t *not_taken;  /* requested bits whose active value is not what was asked */
        uint32_t *changed;    /* active bits that changed, dependents included */
        uint32_t *active;     /* the new active values (of the changed bits at least) */
};

void eth_features_init(struct eth_features *f, unsigned n_bits);
void eth_features_done(struct eth_features *f);
void eth_features_copy(struct eth_features *dst, const struct eth_features *src);
void eth_set_result_init(struct eth_set_result *r, unsigned n_bits);
void eth_set_result_done(struct eth_set_result *r);

static inline unsigned bits_words(unsigned n_bits) {
        return (n_bits + 31) / 32;
}
static inline bool bit_on(const uint32_t *map, unsigned i) {
        return (map[i / 32] >> (i % 32)) & 1;
}
static inline void bit_put(uint32_t *map, unsigned i, bool on) {
        if (on)
                map[i / 32] |= UINT32_C(1) << (i % 32);
        else
                map[i / 32] &= ~(UINT32_C(1) << (i % 32));
}
static inline bool eth_feature_fixed(const struct eth_features *f, unsigned i) {
        return !bit_on(f->hw, i) || bit_on(f->nochange, i);
}

/* "netlink" or "ioctl": the path this run uses (chosen on first use). */
const char *ethtool_backend(struct ctx *ctx);
/* The kernel's feature names, index = bit (some are ""). Borrowed from the run. */
int ethtool_names(struct ctx *ctx, const char *ifname, char ***ret, unsigned *ret_n);
/* The features of one interface, from the run's dump. Borrowed from the run; valid until the
 * next ethtool_set() on that interface. -ENODEV with ctx_fail() when there is no such one. */
int ethtool_features(struct ctx *ctx, const char *ifname, const struct eth_features **ret);
/* Changes the bits in mask to value (CAP_NET_ADMIN), and says what happened. */
int ethtool_set(struct ctx *ctx, const char *ifname, const uint32_t *mask, const uint32_t *value,
                struct eth_set_result *ret);
/* What the last ethtool_set() of this run changed on ifname ("tx-tcp-segmentation off", ...),
 * or NULL: the change record names the dependents the kernel switched too. */
char *const *ethtool_last_changes(struct ctx *ctx, const char *ifname);
/* The interface's driver (ETHTOOL_GDRVINFO: netlink has no driver message). */
int ethtool_driver(struct ctx *ctx, const char *ifname, char **ret);
