/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What both ethtool paths (the netlink family, ethtool_nl.h; the ioctl, ethtool_ioctl.h)
 * fill: the four feature bitmaps of one interface, and the outcome of a write. ethtool.h,
 * the front that picks a path, hands them on; the paths never include it.
 *
 *   hw        the bits the driver lets user space change
 *   wanted    what was asked for (only meaningful for hw bits)
 *   active    what is in force: wanted, minus what the kernel's dependency rules drop
 *             (no TSO without tx checksumming and scatter-gather, ...)
 *   nochange  bits the kernel never lets change
 *
 * A feature is fixed ("[fixed]" in `ethtool -k`) when it is not in hw or in nochange. */

#include <stdbool.h>
#include <stdint.h>

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
