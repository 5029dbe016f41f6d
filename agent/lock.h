/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

/* One exclusive flock(2) on STATE/lock for anything that changes state. The holder writes
 * its pid into the file so that a second medic can name it. Waits up to wait_ms; on
 * timeout returns -EWOULDBLOCK with the holder's pid (0 if unknown). */
int lock_take(const char *state_dir, long wait_ms, int *ret_fd, pid_t *ret_holder);
void lock_release(int *fd);
