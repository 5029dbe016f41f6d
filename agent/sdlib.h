/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

/* libsystemd, loaded on first use. It brings libgcrypt, liblzma, libzstd and liblz4 with
 * it: ~0.5 ms and ~1.2 MiB on every start, for an audit that usually needs none of it.
 * Only journald events and the unit check of a unit target use it. */

/* sd_journal_sendv(); -ENOSYS when libsystemd cannot be loaded. */
int sdlib_journal_sendv(const struct iovec *iov, int n);
/* sd_pid_get_unit(); -ENOSYS when libsystemd cannot be loaded. */
int sdlib_pid_get_unit(pid_t pid, char **ret_unit);
