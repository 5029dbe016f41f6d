/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "../actions/action.h"
#include "../actions/target.h"
#include "ynode.h"

enum action_mode {
        MODE_ENFORCE,
        MODE_AUDIT,
        _MODE_MAX,
};

struct action {
        char *name;
        enum action_mode mode;
        const struct action_ops *ops;
        void *want; /* the kind's parsed state: what the action wants, selectors unresolved */
        const struct ynode *at;
};

/* One entry of checks: (DESIGN §12; agent/policy_checks.c). */
struct check_ops;
struct check {
        char *name;
        enum action_mode mode;
        const struct check_ops *ops;
        void *spec;
        const struct ynode *at;
};

struct policy {
        char *path;        /* as given */
        char *name;
        char *description;
        char sha256[65];   /* of the files' contents, in merge order */
        long agent_sysctl_interval; /* agent: {sysctl-interval: S}; 0 = not given */
        long agent_fight_limit;     /* agent: {fight-limit: N}; -1 = not given */
        char **files;
        struct target *targets;
        size_t n_targets;
        struct action *actions;
        size_t n_actions;
        struct check *checks;
        size_t n_checks;
        struct ydoc **docs; /* kept: specs and errors point into them */
        size_t n_docs;
};

/* A file, or a directory whose *.yaml files are merged in name order. All errors are
 * collected in err; returns -EINVAL when there are any. */
int policy_load(const char *path, struct policy **ret, struct perr *err);
void policy_free(struct policy *p);
static inline void policy_freep(struct policy **p) {
        if (*p)
                policy_free(*p);
}

const char *action_mode_name(enum action_mode m);
int policy_to_json(const struct policy *p, struct json_object **ret);
/* agent/policy_checks.c: the checks: section. */
int policy_parse_checks(struct policy *p, const struct ynode *n, struct perr *err);
void policy_checks_free(struct policy *p);
int policy_checks_to_json(const struct policy *p, struct json_object *j);

/* A policy that sets sysctls is root for whoever can write it. Returns 0 when the file (and
 * its directory, for a directory policy) is owned by root and not writable by group or
 * others, else -EPERM with the reason in ret_why. */
int policy_check_perms(const char *path, char **ret_why);

/* Default policy path: /etc/medic/policy.d, else the shipped policy. */
const char *policy_default_path(void);
