/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

/* Finding the processes a process target names. */

struct proc_match {
        pid_t pid;
        uint64_t starttime; /* /proc/PID/stat field 22: with the pid, names one process for good */
        char comm[16];
};

struct proc_found {
        struct proc_match *procs;
        size_t n;
        char *rule;     /* the rule that found them: "unit etcd.service" */
        char *problems; /* why rules found nothing, when something is wrong (stale pidfile) */
        int error;      /* a rule could not look (EMFILE, EIO): not "nothing found" */
};

/* Tries the target's rules in order; the first that finds a process wins. Finding nothing
 * is not an error: n == 0. A rule that could not look at all (a pidfile or /proc that
 * cannot be read for want of a file descriptor, an I/O error) is: -errno, with the reason
 * in ret->problems, so that a change set is not made without the process. */
int target_find_processes(const struct target *t, struct proc_found *ret);
void proc_found_done(struct proc_found *f);
/* "unit etcd.service or comm etcd" */
char *target_rules_describe(const struct target *t);

int proc_starttime(pid_t pid, uint64_t *ret);
/* The comm of process pid (its /proc directory name) under an open /proc, as the kernel
 * keeps it (at most 15 bytes); -ESRCH when it is gone. */
int proc_comm_at(int proc_fd, const char *pid, char ret[static 16]);
/* Thread ids of pid, from /proc/PID/task. */
int proc_tasks(pid_t pid, pid_t **ret, size_t *ret_n);
