/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

/* The disks under a block device and their I/O schedulers, from sysfs: partitions lead to
 * their disk, dm and md devices to their members (slaves/). */

struct disk_sched {
        char *disk;  /* "vda" */
        char *sched; /* the active one: "mq-deadline", "none", ... */
};

/* sysfs_root is "/sys" except in tests. */
int block_schedulers(const char *sysfs_root, dev_t dev, struct disk_sched **ret, size_t *ret_n);
void disk_sched_free(struct disk_sched *d, size_t n);
/* The kernel's name of the block device dev ("vda1", "dm-0", "loop0"), as in
 * /sys/class/block and in the names of its kernel threads. -ENODEV for major 0. */
int block_dev_name(const char *sysfs_root, dev_t dev, char **ret);
/* True for schedulers that ignore I/O priorities. */
int sched_ignores_ioprio(const char *sched);
/* What of an I/O priority the scheduler orders by: "class and level" (bfq), "the class
 * only" (mq-deadline), "nothing" (none, kyber); NULL for a scheduler medic does not know. */
const char *sched_ioprio_honours(const char *sched);
