/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The policy's targets, and the parse services the loader lends a kind: a kind's parse()
 * names a target or an interface key and reports errors with their position. Declared
 * here, in the kinds' layer, and implemented by the loader (agent/policy.c), so that the
 * kinds include nothing of the program: struct policy stays opaque to them. */

#include <stddef.h>

#include "../agent/kernel/proc.h"

struct perr;
struct policy;
struct ynode;

enum target_kind {
        TARGET_PROCESS,
        TARGET_INTERFACE,
        _TARGET_KIND_MAX,
};

struct target {
        char *name;
        enum target_kind kind;
        struct process_rule *rules; /* TARGET_PROCESS, in the order written: first match wins */
        size_t n_rules;
        char *ifname; /* TARGET_INTERFACE: a name, "auto" (the default route's interface) or "all" */
        const struct ynode *at;
};

/* The policy's target called name, or NULL. */
const struct target *policy_target(const struct policy *p, const char *name);
/* An action's interface key: an interface target's name, an interface name, "auto" (the
 * default route's interface) or "all" (every non-loopback interface that is up). */
int policy_interface(const struct ynode *n, const struct policy *pol, const char *what, char **ret,
                     struct perr *err);
