/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The ethtool generic netlink family (kernel 5.6+): STRSET_GET for the feature names,
 * FEATURES_GET (one dump for every interface), FEATURES_SET and its reply.
 *
 * Bitsets go out in the compact form (SIZE, VALUE, MASK: arrays of 32-bit words in host
 * order) and are asked back in it (ETHTOOL_FLAG_COMPACT_BITSETS); the parser also reads the
 * bit-by-bit form, which an older kernel or another client's capture may hold. */

#include <net/if.h>
#include <stdint.h>

#include "ethtool_bits.h"

struct ethnl;
struct nl_msg;
struct nl_sock;
struct nlattr;
struct nlmsghdr;

/* -ENOENT: this kernel has no ethtool family (the ioctl is the way). */
int ethnl_open(struct ethnl **ret);
/* ethnl_open's second half: an ethnl on a socket already connected to the family (taken
 * over). The fuzzers put a kernel of their own behind one. */
void ethnl_adopt(struct nl_sock *sock, int family, struct ethnl **ret);
void ethnl_close(struct ethnl *nl);

int ethnl_feature_names(struct ethnl *nl, char ***ret, unsigned *ret_n);
/* Called once per interface of the dump; fn takes over f. */
typedef void (*ethnl_dev_fn)(void *userdata, const char *ifname, struct eth_features *f);
int ethnl_features_dump(struct ethnl *nl, unsigned n_bits, ethnl_dev_fn fn, void *userdata);
int ethnl_features_get(struct ethnl *nl, const char *ifname, unsigned n_bits, struct eth_features *ret);
int ethnl_features_set(struct ethnl *nl, const char *ifname, unsigned n_bits, const uint32_t *mask,
                       const uint32_t *value, struct eth_set_result *ret);

/* ---- messages, without a kernel (unit tested) ---- */

/* FEATURES_SET for ifname: WANTED as a compact value/mask bitset of n_bits. */
struct nl_msg *ethnl_msg_features_set(int family, const char *ifname, unsigned n_bits,
                                      const uint32_t *mask, const uint32_t *value);
int ethnl_put_bitset(struct nl_msg *msg, int attr, unsigned n_bits, const uint32_t *value,
                     const uint32_t *mask);
/* value and mask: words for n_bits, zeroed by the caller. A bitset without a mask (NOMASK)
 * sets every mask bit. Bits past n_bits are ignored. -EBADMSG on a malformed bitset. */
int ethnl_parse_bitset(const struct nlattr *a, unsigned n_bits, uint32_t *value, uint32_t *mask);
/* A FEATURES_GET reply: the interface's name and its four bitmaps (f is initialised here). */
int ethnl_parse_features(struct nlmsghdr *h, unsigned n_bits, char ifname[IF_NAMESIZE],
                         struct eth_features *f);
/* A FEATURES_SET reply: WANTED's mask = requested bits not in force, ACTIVE's mask = the
 * bits that changed and its value their new state. r is initialised by the caller. */
int ethnl_parse_set_reply(struct nlmsghdr *h, unsigned n_bits, struct eth_set_result *r);
/* A STRSET_GET reply holding ETH_SS_FEATURES. */
int ethnl_parse_strset(struct nlmsghdr *h, char ***ret, unsigned *ret_n);
