/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include <stdint.h>
#include <sys/types.h>

/* Finding processes by the rules a process target is written with: a systemd unit, a
 * comm, an executable, a pidfile. */

enum process_rule_kind {
        RULE_UNIT,
        RULE_COMM,
        RULE_EXE,
        RULE_PIDFILE,
        _RULE_KIND_MAX,
};

struct process_rule {
        enum process_rule_kind kind;
        char *value;
        /* comm: and exe: look at user processes only, never at the kernel's own threads
         * (proc_kernel_threads()); with kernel set, at those alone (the ext4 journal thread
         * of io-priority). Where the kernel's threads cannot be told (no
         * /proc/2/task/2/children), both look at every process. */
        bool kernel;
};

/* "unit", "comm", "exe", "pidfile": the policy's word for a rule, and how rules are told. */
const char *process_rule_name(enum process_rule_kind k);

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

/* Tries the rules in order; the first that finds a process wins. Finding nothing
 * is not an error: n == 0. A rule that could not look at all (a pidfile or /proc that
 * cannot be read for want of a file descriptor, an I/O error) is: -errno, with the reason
 * in ret->problems, so that a change set is not made without the process. */
int proc_find(const struct process_rule *rules, size_t n_rules, struct proc_found *ret);
void proc_found_done(struct proc_found *f);
/* Would these rules find pid, with proc_find()'s own comparisons (a unit's cgroup or one
 * below it, comm, exe or its real path, a pidfile that is not stale)? For one process an
 * event named; any rule of the list will do. */
bool proc_rules_match(pid_t pid, const struct process_rule *rules, size_t n_rules);
/* "unit etcd.service or comm etcd" */
char *process_rules_describe(const struct process_rule *rules, size_t n_rules);

/* The directory of a unit's cgroup under a hierarchy root: in the root or in a *.slice
 * directory below it; NULL when the unit has no cgroup (it is not running). */
char *cgroup_unit_dir(const char *root, const char *unit);

/* A caller that knows which processes are new (the agent, from the proc connector's exec
 * and comm events) names them, and comm: and exe: rules look at those alone instead of at
 * every process in /proc (10,000 of them take tens of ms, hundreds on a loaded machine).
 * NULL: every process again. */
void proc_scan_only(const pid_t *pids, size_t n);

int proc_starttime(pid_t pid, uint64_t *ret);
/* The comm of process pid (its /proc directory name) under an open /proc, as the kernel
 * keeps it (at most 15 bytes); -ESRCH when it is gone. */
int proc_comm_at(int proc_fd, const char *pid, char ret[static 16]);
/* Thread ids of pid, from /proc/PID/task. */
int proc_tasks(pid_t pid, pid_t **ret, size_t *ret_n);
/* The kernel's own threads under proc_fd (a /proc), sorted: kthreadd (pid 2, when its
 * flags say it is a kernel thread) and its children (/proc/2/task/2/children). A comm: or
 * exe: scan does not open them. Empty (0) in a pid namespace of its own, where pid 2 is a
 * process like any other; < 0 when they cannot be read (the scan then opens every pid).
 * kthreadd's children include the few programs the kernel itself runs (modprobe, a
 * core_pattern pipe), which are never etcd. */
int proc_kernel_threads(int proc_fd, pid_t **ret, size_t *ret_n);
