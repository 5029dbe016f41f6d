/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The kernel log, read from /dev/kmsg (what dmesg reads): one record per read(2),
 * "PRIO,SEQ,USEC,FLAGS;message" then dictionary lines (" DEVICE=n2"). Reading it needs
 * CAP_SYSLOG while kernel.dmesg_restrict is 1. */

#include <stddef.h>
#include <stdint.h>

struct kmsg_record {
        int level;        /* syslog level: prio & 7 */
        uint64_t usec;    /* since boot */
        char *message;
        char *device;     /* DEVICE=n<ifindex> etc. from the dictionary, or NULL */
};

int kmsg_parse_record(const char *rec, size_t len, struct kmsg_record *ret);
void kmsg_record_done(struct kmsg_record *r);

/* Every record of the log now in the buffer (path: "/dev/kmsg"), at most max; calls fn
 * for each. Non-blocking: returns when the buffer is read. */
int kmsg_read_all(const char *path, size_t max, void (*fn)(const struct kmsg_record *r, void *userdata), void *userdata);
