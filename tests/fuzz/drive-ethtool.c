/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ethtool fuzzer's driver (also run by capture.c on a real kernel): nic-offload's
 * ethtool netlink exchanges: the feature names (STRSET_GET), the features of every
 * interface (a FEATURES_GET dump), of one interface (FEATURES_GET), and the outcome of a
 * change (FEATURES_SET's reply), in the order a run asks for them, with bitsets compact or
 * bit by bit. The kernel's names then go through the matching of the names operators
 * write. */
#include <linux/ethtool_netlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/kernel/ethtool.h"
#include "../../agent/kernel/ethtool_names.h"
#include "../../agent/kernel/ethtool_nl.h"
#include "../../agent/util.h"
#include "fuzz.h"

#define IFNAME "eth0"

static void die(const char *what) {
        fprintf(stderr, "nic-offload: %s\n", what);
        abort();
}

static void check_features(const struct eth_features *f, unsigned n_bits) {
        if (f->n_bits != n_bits || f->words != bits_words(n_bits))
                die("features parsed for another number of bits");
        /* Bits past the kernel's count stay clear: medic never reports a feature it has no name for. */
        if (n_bits % 32)
                for (unsigned w = 0; w < 4; w++) {
                        const uint32_t *map = w == 0 ? f->hw : w == 1 ? f->wanted : w == 2 ? f->active : f->nochange;
                        if (map[f->words - 1] >> (n_bits % 32))
                                die("a bit past the kernel's feature count is set");
                }
}

struct dump {
        unsigned n_bits;
        unsigned devs;
};

static void dump_one(void *userdata, const char *ifname, struct eth_features *f) {
        struct dump *d = userdata;

        if (strnlen(ifname, IF_NAMESIZE) >= IF_NAMESIZE)
                die("an interface name longer than the kernel's");
        check_features(f, d->n_bits);
        d->devs++;
        eth_features_done(f);
}

static void names(char *const *v, unsigned n) {
        for (unsigned i = 0; i < n; i++) {
                if (!v[i])
                        die("a feature without a name");
                (void) offload_group_of(v[i]);
                (void) offload_covers("tx-checksumming", v[i]);
                (void) offload_covers(v[i], v[i]);
        }
        if (v[n])
                die("the names do not end where their count says");
}

void fuzz_ethtool(struct nl_sock *genl, int family) {
        struct ethnl *nl;
        char **v = NULL;
        unsigned n = 0;

        ethnl_adopt(genl, family, &nl);
        if (ethnl_feature_names(nl, &v, &n) >= 0) {
                struct dump d = { .n_bits = n };
                struct eth_features f;

                names(v, n);
                (void) ethnl_features_dump(nl, n, dump_one, &d);
                if (ethnl_features_get(nl, IFNAME, n, &f) >= 0) {
                        struct eth_set_result res;
                        uint32_t *mask = xcalloc(f.words, sizeof(uint32_t)), *value = xcalloc(f.words, sizeof(uint32_t));

                        check_features(&f, n);
                        /* Flip every feature the driver lets change. */
                        for (unsigned i = 0; i < n; i++)
                                if (!eth_feature_fixed(&f, i)) {
                                        bit_put(mask, i, true);
                                        bit_put(value, i, !bit_on(f.active, i));
                                }
                        eth_set_result_init(&res, n);
                        (void) ethnl_features_set(nl, IFNAME, n, mask, value, &res);
                        eth_set_result_done(&res);
                        free(mask);
                        free(value);
                        eth_features_done(&f);
                }
                strv_free(v);
        }
        ethnl_close(nl);
}
