/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Offload features of network interfaces, through the kernel's ethtool generic netlink
 * family, or the SIOCETHTOOL ioctl where the family is missing (kernels before 5.6, or
 * MEDIC_ETHTOOL=ioctl for tests). This is the front that picks the path; both give the same
 * four bitmaps per interface (ethtool_bits.h).
 *
 * A struct ethtool reads the features once: a FEATURES_GET dump of every interface on first
 * use, kept until it is freed, and after a write only that interface is read again. Its
 * holder decides how long that is (nic-offload: one run). */

#include "ethtool_bits.h"

struct ethtool;

/* No I/O: the path is picked, and its socket opened, on first use. */
struct ethtool *ethtool_new(void);
void ethtool_free(struct ethtool *e);
/* What the last failed call below could not do, for the operator ("eth9: no such
 * interface", "eth0: changing offload features needs CAP_NET_ADMIN"); valid until the
 * next call on e. */
const char *ethtool_why(const struct ethtool *e);

/* "netlink" or "ioctl": the path e uses (chosen on first use); "?" when neither opens. */
const char *ethtool_backend(struct ethtool *e);
/* The kernel's feature names, index = bit (some are ""). Borrowed from e. */
int ethtool_names(struct ethtool *e, const char *ifname, char ***ret, unsigned *ret_n);
/* For the names ethtool_names() gave: each one's process-long copy (NULL where the memo has
 * none) and the user-facing name that owns it (offload_group()), worked out once a run. */
void ethtool_names_interned(struct ethtool *e, const char *const **ret_interned, const int8_t **ret_groups);
/* The features of one interface, from e's dump. Borrowed from e; valid until the next
 * ethtool_set() on that interface. -ENODEV when there is no such one. */
int ethtool_features(struct ethtool *e, const char *ifname, const struct eth_features **ret);
/* Changes the bits in mask to value (CAP_NET_ADMIN), and says what happened. */
int ethtool_set(struct ethtool *e, const char *ifname, const uint32_t *mask, const uint32_t *value,
                struct eth_set_result *ret);
/* What the last ethtool_set() through e changed on ifname ("tx-tcp-segmentation off", ...),
 * or NULL: the change record names the dependents the kernel switched too. */
char *const *ethtool_last_changes(const struct ethtool *e, const char *ifname);
/* The interface's driver (ETHTOOL_GDRVINFO: netlink has no driver message). */
int ethtool_driver(struct ethtool *e, const char *ifname, char **ret);
