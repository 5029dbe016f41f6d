/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>

/* One exclusive flock(2) on STATE/lock for anything that changes state, plus an OFD write
 * lock (fcntl F_OFD_SETLK) on the same open file so that readers can see it is held without
 * taking it. The holder writes its pid into the file so that a second medic can name it.
 * Waits up to wait_ms; on timeout returns -EWOULDBLOCK with the holder's pid (0 if
 * unknown). An operator's flock(1) on the file keeps medic out as before. */
int lock_take(const char *state_dir, long wait_ms, int *ret_fd, pid_t *ret_holder);
void lock_release(int *fd);
/* Is a medic holding the lock now? Never takes it, not even for a moment (read-only
 * commands run alongside apply): 1 held (ret_holder: its pid, 0 if unknown), 0 free or
 * no lock file, negative errno when it cannot tell (an unreadable lock file). */
int lock_probe(const char *state_dir, pid_t *ret_holder);
