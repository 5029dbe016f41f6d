/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The nic-offload kind's state, shared by its two files: nic_offload.c (policy, plan, read,
 * the writes and the notes) and nic_offload_state.c (comparing, describing and JSON). */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct json_object;
struct ynode;

struct nic_req {
        char *name; /* as the policy writes it: "tx-checksumming", "rx-gro" */
        bool on;
};

struct nic_feat {
        char *name;   /* the kernel's */
        int8_t group; /* offload_group() of name, kept: asked for every feature of every interface */
        bool shared;  /* name is offload_intern()'s, not the state's own */
        bool wanted, active, fixed;
};

/* What a read found beyond the policy's names. The kernel's dependency rules tie features
 * together (tx checksumming off turns TSO off), so restoring an interface means restoring
 * every wanted bit, dependents included: a policy's names cannot say that, and the kernel
 * snapshot genuinely holds more than a wanted state. */
struct nic_kernel {
        struct nic_feat *feat; /* every feature of the interface */
        size_t n;
        char **changed; /* after a write: what the kernel said changed, "name on|off" */
};

/* A nic-offload state: the policy's entry for one interface (or, parsed, for what its
 * interface key selects), and for a read what the kernel holds. */
struct nic_state {
        char *ifname;       /* an interface; in a parsed state also "auto", "all" or a target's */
        struct nic_req *req; /* the policy's names; in a read, each as `ethtool -k` shows it now */
        size_t n_req;
        const struct ynode **at;   /* a parsed state: each name's key, for claims */
        struct nic_kernel *kernel; /* a read; NULL in parsed and planned states */
};

void nic_free(void *p);
const char *onoff(bool on);
const struct nic_feat *feat_find(const struct nic_kernel *k, const char *name);
/* A policy name as `ethtool -k` shows it: on when any feature it covers is active. */
bool req_active(const struct nic_kernel *k, const char *name);

bool nic_same(const void *want, const void *have);
bool nic_equal(const void *a, const void *b);
bool nic_in_between(const void *before, const void *after, const void *have);
char *nic_describe(const void *state);
int nic_to_json(const void *state, struct json_object **ret);
int nic_from_json(struct json_object *j, void **ret_state);
