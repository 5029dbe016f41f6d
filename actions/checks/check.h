/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The check interface (DESIGN §12): diagnosis of whether this host will keep etcd's leader.
 * Every check kind implements one struct check_ops, in one file under actions/checks/ that
 * ends with it, and is listed once in actions/checks/registry.c.
 *
 * A check changes nothing. It measures (from /proc, /sys, netlink, etcd's own /metrics),
 * compares with a threshold whose source it names, and says what to do. Checks that
 * sample (counters read twice) take their first sample in begin() and judge after one
 * interval that the engine waits once for all of them, so a policy without sampling
 * checks never waits.
 *
 * Conventions as for actions: 0 or a negative errno; checks never print. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../agent/util.h"

struct json_object;
struct ynode;
struct perr;
struct policy;
struct target;
struct ctx;
struct etcd_conf;

enum check_status {
        CHECK_OK,
        CHECK_FINDING, /* off: audit's drift (exit 2) */
        CHECK_UNKNOWN, /* could not be measured; says why */
        _CHECK_STATUS_MAX,
};

/* One measurement judged against one threshold. */
struct check_result {
        char *object;    /* "etcd pid 812: cores allowed", "vdb: flush latency" */
        enum check_status status;
        char *measured;  /* "1 core (cpu.max 100000/100000)" */
        char *threshold; /* "≥ 2 cores" */
        char *source;    /* where the threshold comes from: "etcd hardware guide: 2-4 cores" */
        char *advice;    /* a finding: what to do; "medic cannot fix this: ..." */
        char *why;       /* CHECK_UNKNOWN: what could not be read */
        struct json_object *value; /* the measurement as JSON (number, object), or NULL */
        char **notes;
};

struct check_results {
        struct check_result *v;
        size_t n;
};

/* Adds a result; takes every string and value. */
struct check_result *check_results_add(struct check_results *l, char *object, enum check_status status);
void check_results_free(struct check_results *l);

/* The etcd a check looks at, found once per run and target (process, flags, data dir). */
struct etcd_view {
        const struct target *target;
        pid_t pid;             /* 0: no process found */
        char comm[16];
        char *found_by;        /* "comm etcd" */
        char *not_found;       /* why no process was found, or what could not be read */
        struct etcd_conf *conf; /* NULL when no process, or its flags could not be read */
};

/* What the engine lends a check for one run. */
struct check_run {
        struct ctx *ctx;
        const char *root;       /* test hook MEDIC_PROC_ROOT: prefix for /proc and /sys files (NULL normally) */
        double interval_s;      /* the sampling interval */
        bool probe_disk;        /* diagnose --probe disk */
        struct etcd_view *views;
        size_t n_views;
};

/* Another etcd process on this host that belongs to the same cluster as a view's. */
struct etcd_member {
        pid_t pid;
        struct etcd_conf *conf; /* NULL: its command line could not be read (problem says why) */
        char *problem;
};

/* The etcd of target t (found and read on first use; NULL target: none). */
const struct etcd_view *check_run_etcd(struct check_run *cr, const struct target *t);
void check_run_done(struct check_run *cr);
/* The other members of v's cluster running on this host: processes with v's comm whose
 * initial-cluster-token is v's and whose initial-cluster names a member in common with
 * v's. -ENODATA: v has no initial-cluster to compare. */
int check_local_members(struct check_run *cr, const struct etcd_view *v, struct etcd_member **ret, size_t *ret_n);
void etcd_members_free(struct etcd_member *m, size_t n);
/* A host path under the test root: "/proc/meminfo" → "$MEDIC_CONF_ROOT/proc/meminfo". */
char *check_path(const struct check_run *cr, const char *fmt, ...) _printf_(2, 3);

struct check_ops {
        const char *kind; /* the policy's key: "hardware", "disk-latency", ... */

        int (*parse)(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err);
        int (*spec_to_json)(const void *spec, struct json_object **ret);
        void (*spec_free)(void *spec);

        /* The first sample, before the interval; NULL hook or *ret_sample == NULL: this
         * check does not sample (this run). */
        int (*begin)(struct check_run *cr, const void *spec, void **ret_sample);
        /* Measure, compare, explain. */
        int (*judge)(struct check_run *cr, const void *spec, void *sample, struct check_results *out);
        void (*sample_free)(void *sample);
};

extern const struct check_ops hardware_check_ops;
extern const struct check_ops etcd_config_check_ops;
extern const struct check_ops peer_network_check_ops;
extern const struct check_ops disk_latency_check_ops;
extern const struct check_ops disk_probe_check_ops;
extern const struct check_ops cpu_check_ops;
extern const struct check_ops nic_check_ops;
extern const struct check_ops db_quota_check_ops;
extern const struct check_ops etcd_metrics_check_ops;

/* actions/checks/registry.c: the one table of check kinds. */
extern const struct check_ops *const check_registry[];
const struct check_ops *check_ops_find(const char *kind);

/* Helpers the kinds share (common.c). */
/* A process-target key: "target: etcd" → the policy's target; errors positioned. */
int check_parse_target(const struct ynode *node, const char *kind, const struct policy *pol, bool required,
                       const struct target **ret, struct perr *err);
/* "4GiB", "512MiB", "2147483648" → bytes. */
int check_parse_size(const struct ynode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret,
                     struct perr *err);
/* "10ms" / "10" (ms) / "1.5s" → milliseconds as a double. */
int check_parse_ms(const struct ynode *n, const char *what, double min, double max, double *ret, struct perr *err);
int check_parse_percent(const struct ynode *n, const char *what, double *ret, struct perr *err);
char *format_bytes(uint64_t b); /* "4.0 GiB" */
/* The data dir to look at: the running etcd's, else spec_dir, else /var/lib/etcd. */
int check_data_dir(const struct etcd_view *v, const char *spec_dir, char **ret_path, char **ret_shown);
/* The data-dir: key (an absolute path) of the disk checks. */
int check_parse_data_dir(const struct ynode *node, const char *kind, char **ret, struct perr *err);
/* peer_network.c: the largest RTT (ms) of the peer connections etcd sent on in the last
 * few seconds, and its peer port; -ENOENT when there is none (a one-member cluster). */
int check_peer_rtt(const struct etcd_view *v, double *ret_ms, unsigned *ret_port);
