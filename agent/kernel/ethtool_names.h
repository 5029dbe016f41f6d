/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The names of offload features, as operators write them.
 *
 * The kernel knows ~60 feature bits by name (tx-checksum-ip-generic, rx-gro, ...). `ethtool
 * -k` shows a dozen user-facing names on top of those, each covering a pattern of kernel
 * names: tx-checksumming is every tx-checksum-* bit, tcp-segmentation-offload every
 * tx-tcp*-segmentation bit. medic accepts both, maps them as ethtool does (the first user
 * name whose pattern matches owns a kernel name), and calls a user name "on" when any of
 * its kernel features is active, as `ethtool -k` prints it. */

#include <stdbool.h>
#include <stddef.h>

struct offload_name {
        const char *name;    /* "tx-checksumming" */
        const char *pattern; /* kernel names it covers: at most one '*' ("tx-checksum-*") */
};

/* ethtool's table (off_flag_def), in its order. */
extern const struct offload_name offload_names[];
extern const size_t offload_names_n;

/* The pattern of a user-facing name, or NULL when it is not one. */
const char *offload_pattern(const char *name);
/* ethtool's matching: at most one '*', which stands for any (possibly empty) middle. */
bool offload_pattern_match(const char *kernel_name, const char *pattern);
/* Does a policy name (user-facing or kernel) cover this kernel feature? */
bool offload_covers(const char *name, const char *kernel_name);
/* offload_covers() in two halves, for a caller that asks about one name and many features
 * (every feature of a thousand interfaces): the name's index in offload_names or -1, once;
 * the index of the user-facing name that owns a kernel feature or -1, kept with the
 * feature. offload_covers(n, k) == offload_covers_idx(n, offload_user(n), k, offload_group(k)). */
int offload_user(const char *name);
int offload_group(const char *kernel_name);
bool offload_covers_idx(const char *name, int user, const char *kernel_name, int group);
/* The memo's own copy of a kernel feature name, alive as long as the process, with its
 * group: feature snapshots of many interfaces share it. NULL when the name is too long for
 * the memo or the memo is full (more names than any kernel has). */
const char *offload_intern(const char *kernel_name, int *ret_group);
/* The user-facing name that owns a kernel feature in `ethtool -k`, or NULL. */
const char *offload_group_of(const char *kernel_name);
/* A name medic accepts in a policy: a user-facing name, or a kernel feature name it knows. */
bool offload_known_name(const char *name);
/* The one name claims use, so that `rx-gro: off` and `generic-receive-offload: on` in two
 * actions conflict: a kernel name that is the only member of a user name's pattern becomes
 * that user name. */
const char *offload_canonical(const char *name);
