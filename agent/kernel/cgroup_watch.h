/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Where the proc connector does not serve medic (another pid or user namespace than the
 * initial one, another network namespace, or EPERM), the agent learns of etcd (re)starts
 * from the cgroups etcd runs in. cgroup v2 only: its cgroup.events file changes
 * (`populated 0/1`, an inotify IN_MODIFY) when the first process enters a cgroup and when
 * the last one leaves; cgroup.procs itself sends no inotify event. A cgroup directory that
 * is not there (a systemd unit that is stopped) is waited for in its parent directory
 * (IN_CREATE), since systemd removes the unit's cgroup when it stops. */

/* The cgroup v2 hierarchy that systemd tracks units in: /sys/fs/cgroup (unified), or
 * /sys/fs/cgroup/unified (hybrid); NULL where no cgroup v2 is mounted there. */
const char *cgroup2_root(void);
/* root + the "0::" line of /proc/PID/cgroup; NULL for the root cgroup (nothing to watch
 * there: it has no cgroup.events) or when pid is gone. */
char *cgroup_of_pid(const char *root, pid_t pid);

struct cgroup_watch;
int cgroup_watch_new(struct cgroup_watch **ret);
void cgroup_watch_free(struct cgroup_watch *w);
int cgroup_watch_fd(const struct cgroup_watch *w);
/* Watches exactly these directories (NULL-terminated): adds new ones, drops the rest,
 * and tries again where a watch could not be had before. Returns how many directories
 * are watched ("for its cgroup.events" or "for it to appear"). */
size_t cgroup_watch_set(struct cgroup_watch *w, char *const *dirs);
/* One line for the log and STATUS=: "DIR, DIR (waited for)". */
char *cgroup_watch_describe(const struct cgroup_watch *w);
/* Reads what inotify has: 1 and *ret_cause ("DIR: populated 1") when a watched cgroup
 * changed, 0 when nothing that matters did. *ret_filled: a process entered one. */
int cgroup_watch_read(struct cgroup_watch *w, char **ret_cause, bool *ret_filled);
