/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "../actions/action.h"
#include "auditlog.h"
#include "journal.h"
#include "output.h"
#include "policy.h"

struct options {
        const char *policy_path;
        bool policy_given;
        const char *state_dir;
        const char *audit_log;
        bool json;
        int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
        long wait_ms;
        bool dry_run;
        bool keep_going;
        bool force;
        char **only;
        long confirm_within; /* seconds, 0 = none */
        long sysctl_interval_s; /* agent: how often sysctls are read again (0 = 60) */
        long fight_limit;       /* agent: repairs of one object within 60 s before it stops (-1 = 5, 0 = never) */
        const char *prometheus; /* audit, agent: node_exporter textfile to write (NULL: none) */
        char *command_line;
        double interval_s;   /* checks: the sampling interval (0 = 1 s) */
        bool no_sampling;    /* --interval 0: the checks that sample are left out */
        bool probe_disk;     /* diagnose --probe disk */
};

/* Everything one command run holds; freed by run_done(). */
struct run {
        const struct options *opt;
        struct policy *policy;
        struct ctx ctx;
        struct auditlog log;
        bool log_open;
        int lock_fd;
        char boot_id[37];
        int boot_id_error; /* reading it failed: no change may be recorded */
        struct report rep;
        /* The journal, read once per run by whoever needs it first (run_journal()). */
        struct change_set **sets;
        size_t n_sets;
        bool sets_loaded;
        char *journal_error; /* a damaged or unreadable journal: no change may happen */
        /* engine_repair(): only these kinds (NULL: all) and objects (NULL: all), never the
         * objects in repair_skip; recorded as a set of kind repair. */
        char *const *repair_kinds;
        char *const *repair_objects;
        char *const *repair_skip;
        const char *repair_cause;
        /* The agent keeps the capabilities it started with across sets. */
        bool keep_caps;
};

void run_init(struct run *run, const struct options *opt, const char *command);
void run_done(struct run *run);

/* Loads the policy into run->policy; errors go to the report. changing: the command will
 * change the host, so a policy writable by others is refused (as root). */
int run_load_policy(struct run *run, bool changing);
/* Takes STATE/lock; reports the holder on failure. */
int run_lock(struct run *run);
/* Opens the audit log for a command that changes something. */
int run_open_audit_log(struct run *run);

/* Compare the host with the policy; with apply set, change what drifted. Fills run->rep
 * and returns the exit code. */
int engine_audit(struct run *run);
int engine_apply(struct run *run);
/* The daemon's entry: bring these objects (as plan items name them: "eth0",
 * "net.ipv4.tcp_keepalive_time") back to the policy, as one change set of kind repair whose
 * message is the cause ("RTM_DELQDISC on eth0"). Same journal, audit and undo as apply; the
 * outcome of each object is in run->rep.rows. */
int engine_repair(struct run *run, char *const *kinds, char *const *objects, const char *cause);
/* Undo change set id (0 = the latest applied one). */
int engine_rollback(struct run *run, unsigned id);
int engine_confirm(struct run *run, unsigned id);
int engine_history(struct run *run);
int engine_show(struct run *run, unsigned id);

/* Under the lock: restore sets left in state "applying" by a medic that died, and roll back
 * awaiting-confirm sets whose deadline passed. Returns <0 on a damaged journal. */
int engine_recover(struct run *run);
/* Keeps only the capabilities the policy's kinds and the restorable journal sets may
 * need, clears the bounding set and sets no_new_privs. Before any change. */
int engine_limit_caps(struct run *run);
/* Every --only NAME names an action or a check of the policy. */
int engine_check_only(struct run *run);
/* diagnose.c: the policy's checks as report rows (audit runs them after its plan); diagnose
 * runs only them. */
int engine_run_checks(struct run *run);
int engine_diagnose(struct run *run);
