/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "../util.h"
#include "ethtool_bits.h"

void eth_features_init(struct eth_features *f, unsigned n_bits) {
        unsigned w = bits_words(n_bits);
        uint32_t *m = xcalloc(4 * (size_t) (w ? w : 1), sizeof(uint32_t));
        *f = (struct eth_features) { .n_bits = n_bits, .words = w, .hw = m, .wanted = m + w,
                                     .active = m + 2 * w, .nochange = m + 3 * w };
}

void eth_features_done(struct eth_features *f) {
        free(f->hw);
        *f = (struct eth_features) { 0 };
}

void eth_features_copy(struct eth_features *dst, const struct eth_features *src) {
        eth_features_init(dst, src->n_bits);
        memcpy(dst->hw, src->hw, 4 * (size_t) src->words * sizeof(uint32_t));
}

void eth_set_result_init(struct eth_set_result *r, unsigned n_bits) {
        unsigned w = bits_words(n_bits);
        uint32_t *m = xcalloc(3 * (size_t) (w ? w : 1), sizeof(uint32_t));
        *r = (struct eth_set_result) { .words = w, .not_taken = m, .changed = m + w, .active = m + 2 * w };
}

void eth_set_result_done(struct eth_set_result *r) {
        free(r->not_taken);
        *r = (struct eth_set_result) { 0 };
}
