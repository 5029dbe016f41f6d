/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The SIOCETHTOOL ioctl: the way to the same features on kernels without the ethtool
 * netlink family. ETHTOOL_GSSET_INFO + GSTRINGS for the names, GFEATURES and SFEATURES for
 * the bits. The ioctl works on any socket; medic uses an AF_NETLINK one, the only family
 * besides AF_UNIX that a unit with RestrictAddressFamilies=AF_UNIX AF_NETLINK may open.
 *
 * SFEATURES has no reply like FEATURES_SET's: its return value only flags that something
 * did not take (ETHTOOL_F_WISH), so ethioc_features_set() reads before and after and works
 * out the same answer. */

#include "ethtool_bits.h"

int ethioc_open(int *ret_fd);
int ethioc_feature_names(int fd, const char *ifname, char ***ret, unsigned *ret_n);
int ethioc_features_get(int fd, const char *ifname, unsigned n_bits, struct eth_features *ret);
int ethioc_features_set(int fd, const char *ifname, unsigned n_bits, const uint32_t *mask,
                        const uint32_t *value, struct eth_set_result *ret);
int ethioc_driver(int fd, const char *ifname, char **ret);
