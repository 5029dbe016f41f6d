/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc.h"

/* The proc connector (NETLINK_CONNECTOR, CN_IDX_PROC): the kernel's announcement that a
 * process exec'd or changed its comm, which is when a process can start to match a comm:
 * or exe: rule. */

/* Subscribes (PROC_CN_MCAST_LISTEN) and waits up to 0.25 s for the kernel's ack: a
 * non-blocking socket, or -errno and *ret_why (for the operator) when the connector does
 * not serve this process. */
int proc_events_open(char **ret_why);

/* Called with the tgid of each exec or comm event, or with 0 when the kernel dropped
 * events (ENOBUFS): every process should be looked at again. */
typedef void (*proc_event_fn)(pid_t pid, void *u);

/* Reads until nothing is queued. Returns 0, or -errno of a receive that failed otherwise
 * than with EAGAIN or ENOBUFS. */
int proc_events_drain(int fd, proc_event_fn fn, void *u);
/* The exec and comm events in one receive's buffer (for the tests). */
void proc_events_parse(const void *buf, size_t len, proc_event_fn fn, void *u);
