/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The netlink fuzzers' drivers, shared with the seed capture (capture.c), which runs them
 * on a real kernel's socket and records its replies. */

struct nl_sock;

/* traffic-priority's read of eth0 on a NETLINK_ROUTE socket (taken over). */
void fuzz_tc(struct nl_sock *route);
/* nic-offload's ethtool exchanges on a socket connected to the ethtool family (taken over). */
void fuzz_ethtool(struct nl_sock *genl, int family);
