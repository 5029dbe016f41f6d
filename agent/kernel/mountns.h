/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The host's mount namespace as medic sees it: PID 1's (or MEDIC_HOST_MNTNS_PID's) mount
 * table, whether medic runs in that namespace, and path lookups done the way the host does
 * them. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mountinfo.h"

struct host_view {
        pid_t host_pid;    /* whose mount namespace is the host's: 1, or MEDIC_HOST_MNTNS_PID */
        bool other_ns;     /* medic runs in another mount namespace than host_pid */
        const char *table; /* the mountinfo text of the namespace medic reads and changes */
        char *own;         /* the table, when it is medic's own (host's unreadable) */
        char *problem;     /* why medic reads its own namespace without knowing, or NULL */
};

/* On failure *ret_why says why, for the operator. The table is cached for the process and
 * read again when the kernel says the namespace's mounts changed (POLLPRI on mountinfo). */
int host_view_open(struct host_view *v, char **ret_why);
void host_view_done(struct host_view *v);
/* The next host_view_open() reads the table again: after medic changed a mount. */
void host_view_invalidate(void);

/* Opens path (O_PATH) as the host's path lookup resolves it. -EACCES/-EPERM when medic
 * runs in another namespace and cannot reach the host's root (no ptrace access to it). */
int host_open(const struct host_view *v, const char *path);
/* The mount id mountinfo shows and, on Linux 6.8+, the one the kernel never reuses (else 0). */
int fd_mount_ids(int fd, uint64_t *ret_id, uint64_t *ret_unique);
/* The mount the host's lookup of path ends on. -ENOENT: no such path; -ESTALE: its mount is
 * not in the table. *ret_by_prefix: the host's root could not be opened, so the path was
 * matched against mount points as a string (symlinks not followed). */
int host_path_mount(const struct host_view *v, const char *path, struct mount_entry *ret, uint64_t *ret_unique,
                    bool *ret_by_prefix);
