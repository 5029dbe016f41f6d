/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <linux/capability.h>
#include <stdint.h>

/* Capabilities as bit sets, 1ULL << CAP_x (CAP_TO_MASK only for those below 32: CAP_SYSLOG
 * is 34). Each call
 * clears the bounding set of what it does not keep and sets PR_SET_NO_NEW_PRIVS; a later
 * call can only narrow, never widen, what an earlier one kept. */

struct policy;

/* Reading the host (DESIGN §8: read-only commands keep only these, and apply keeps them
 * for planning until it drops to what its writes need).
 *
 * CAP_SYS_PTRACE: /proc/PID/exe, /proc/PID/environ and /proc/PID/root of a process are
 * guarded by ptrace_may_access(PTRACE_MODE_READ_FSCREDS). Without the capability the
 * kernel allows it only where the caller's fsuid/fsgid equal all of the target's uids and
 * gids (an etcd running as user etcd fails this for root) and, in the commoncap LSM, the
 * target's permitted set is a subset of the caller's effective set (a root process that
 * dropped its capabilities fails this even for PID 1 or a root etcd). So every `exe:`
 * target, and the host's mount namespace through /proc/1/root, need it; with /proc
 * mounted hidepid=, so does seeing another user's /proc/PID at all.
 *
 * CAP_DAC_READ_SEARCH, only where a target names a pidfile: a daemon may keep its pidfile
 * 0600 or in a directory only it can search. It lets medic read any file, so a policy
 * without pidfile: rules does not get it.
 *
 * CAP_SYSLOG, only where the policy has a nic check: the kernel log (/dev/kmsg) is readable
 * only with it while kernel.dmesg_restrict=1 (Debian's default), and the check shows the
 * NIC's lines from it, as the guide's `dmesg` step does. */
#define CAPS_READ_ALL (CAP_TO_MASK(CAP_SYS_PTRACE) | CAP_TO_MASK(CAP_DAC_READ_SEARCH) | (1ULL << CAP_SYSLOG))
uint64_t caps_for_reading(const struct policy *pol); /* pol may be NULL (rollback) */

/* Commands that read nothing of the host (validate, history, show): no capabilities. */
int caps_drop_all(void);
/* Keep exactly keep, effective and permitted. */
int caps_limit(uint64_t keep);
/* Keep keep permitted but none effective: for reading the policy, before
 * caps_limit(caps_for_reading(policy)) raises what the policy's reads need. */
int caps_hold(uint64_t keep);
/* Effective set now. */
uint64_t caps_effective(void);
/* "CAP_NET_ADMIN, CAP_SYS_NICE" */
char *caps_describe(uint64_t mask);
