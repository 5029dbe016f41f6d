/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The action interface. Every action kind implements one struct action_ops, in one file
 * under actions/ that ends with it, and is listed once in actions/registry.c.
 *
 * The central decision: a kind's desired state and its observed state are the same type
 * (a "state"), and every state names its object (the sysctl key, the process, the
 * interface). Then diff is a pure comparison, the journal's before/after are states as
 * JSON, and rollback is "apply the saved state".
 *
 * Conventions: 0 or a negative errno; actions never print. Where an errno alone would not
 * tell an operator what happened, the action sets ctx_fail(ctx, ...) and the engine
 * reports that text with the object. */

#include <stdbool.h>
#include <stdint.h>

#include "../agent/util.h"

struct action_ops;
struct json_object;
struct kind_run;
struct ynode;
struct netrun;
struct perr;
struct policy;

/* What the engine lends an action for one run. */
struct ctx {
        char *errmsg;      /* set by ctx_fail(): the operator-facing reason of the last error */
        const char *root;  /* test hook: prefix for configuration files read for notes ("") */
        struct netrun *net; /* ctx_net(): netlink sockets and dumps the network kinds share */
        char **notes;       /* ctx_note(): what a write decided that the operator must hear */
        /* Around notes() and apply() of a drifted object: the state medic left it in, as the
         * newest change set in force recorded it (its after), or NULL (none, or medic's change
         * there was rolled back). Looked up in the journal only when a kind asks: a kind
         * puts right its own structure that someone partly changed, and leaves alone what
         * someone else built. The engine owns what it returns. */
        const void *(*recorded_after)(struct ctx *ctx);
        void *recorded; /* the engine's, for recorded_after() */
        struct kind_run *runs; /* ctx_run(): each kind's per-run cache */
        size_t n_runs;
};

void ctx_fail(struct ctx *ctx, const char *fmt, ...) _printf_(2, 3);
/* A note from apply/restore ("backend auto: used htb, the kernel has no prio"); the engine
 * shows it on the item's row whatever the verbosity. */
void ctx_note(struct ctx *ctx, const char *fmt, ...) _printf_(2, 3);
void ctx_clear(struct ctx *ctx);
/* The run's netlink handle (agent/kernel/netif.h), made on first use: the network kinds
 * pass it to kernel access. */
struct netrun *ctx_net(struct ctx *ctx);
/* r; when it is an error, the reason the run's netlink handle kept (netrun_why()) becomes
 * ctx's, as ctx_fail() would set it: r = ctx_net_why(ctx, netif_resolve(ctx_net(ctx), ...)). */
int ctx_net_why(struct ctx *ctx, int r);
/* The kind's own cache for this run (action_ops.run_new), made on first use; NULL for a
 * kind without one. */
void *ctx_run(struct ctx *ctx, const struct action_ops *kind);
/* The end of a run: frees what ctx holds (each kind's run_free, the netlink handle, the
 * notes and the message) and leaves it empty for another run. */
void ctx_done(struct ctx *ctx);

/* One object an action wants in one state, as the plan found it. */
struct plan_item {
        char *object; /* as the operator reads it: "net.ipv4.tcp_keepalive_time" */
        void *want;   /* NULL when skipped */
        char *skip;   /* why nothing can be done for this item, or NULL */
        bool finding; /* skip is something an audit must report as off (no etcd found) */
        char *wanted; /* for a finding: what the policy wants, as describe() would say */
};

struct plan_list {
        struct plan_item *items;
        size_t n;
};

void plan_list_add(struct plan_list *l, char *object, void *want, char *skip);
/* An item audit reports as drift and apply skips: "etcd: no process found by ...". */
void plan_list_finding(struct plan_list *l, char *object, char *why, char *wanted);

/* Called once per object an action sets, so that the loader can refuse two actions that
 * set the same object to different values (also across merged files). */
typedef void (*claim_fn)(void *userdata, const char *object, const char *value,
                         const struct ynode *at);

struct action_ops {
        const char *kind; /* the policy's key: "sysctl", "io-priority", ... */

        /* Parse the kind's YAML value into a spec; errors go to err with their position. */
        int (*parse)(const struct ynode *node, const struct policy *pol, void **ret_spec,
                     struct perr *err);
        void (*claims)(const void *spec, claim_fn fn, void *userdata);
        int (*spec_to_json)(const void *spec, struct json_object **ret);
        void (*spec_free)(void *spec);

        /* Expand a spec into objects and their wanted states (targets resolved here). */
        int (*plan)(struct ctx *ctx, const void *spec, struct plan_list *out);
        /* Every capability (CAP_TO_MASK bits) this kind's apply/restore may need: a changing
         * command keeps the union over the kinds it may touch and drops the rest. */
        uint64_t caps_all;
        /* The capabilities changing this object to this state needs (checked up front). */
        uint64_t (*caps)(const void *state);
        /* Read the object a state names, without side effects. -ESRCH: the object is gone
         * for good (a restarted process), so a change recorded for it is void. */
        int (*read)(struct ctx *ctx, const void *state, void **ret_have);
        /* Pure comparison: does have satisfy want? */
        bool (*same)(const void *want, const void *have);
        int (*apply)(struct ctx *ctx, const void *want, const void *have);
        /* Bring the object back to before; NULL means apply(before) does it. restore must
         * work from any state in_between() accepts, not only from after. -EOPNOTSUPP: before
         * cannot be had again by design and the kind left its documented best instead (a
         * foreign root replaced with replace-foreign: the kernel default); the rest of a
         * rollback stands. */
        int (*restore)(struct ctx *ctx, const void *before, const void *have);
        /* Does have look like medic's own change from before toward after, stopped part
         * way (a half-built root qdisc, some threads set and some not, some feature bits
         * flipped)? Recovery restores such an object; anything else that is neither before
         * nor after is a foreign change and stays a conflict. NULL: the kind changes its
         * object in one system call, so there is no in-between. */
        bool (*in_between)(const void *before, const void *after, const void *have);
        /* Operator-facing notes for audit (runtime-only fix, limits of the fix), or NULL. */
        void (*notes)(struct ctx *ctx, const void *want, const void *have, char ***notes);

        char *(*describe)(const void *state); /* short human text: "600", "best-effort/0" */
        int (*to_json)(const void *state, struct json_object **ret);
        int (*from_json)(struct json_object *j, void **ret_state);
        void (*free)(void *state);

        /* Per-run hooks (kept last, so that the members above can change without moving
         * them): a kind's cache for one run, such as a dump read once and updated after each
         * write. run_new makes it, without I/O, on the kind's first ctx_run(); run_free frees
         * it when the run ends (ctx_done). NULL: the kind keeps nothing between calls. */
        void *(*run_new)(void);
        void (*run_free)(void *run);
};

extern const struct action_ops sysctl_ops;
extern const struct action_ops io_priority_ops;
extern const struct action_ops traffic_priority_ops;
extern const struct action_ops mount_options_ops;
extern const struct action_ops nic_offload_ops;

/* actions/registry.c: the one table of kinds. */
extern const struct action_ops *const action_registry[];
const struct action_ops *action_ops_find(const char *kind);
/* Only the engine's unit tests set this (a kind without a kernel). */
extern const struct action_ops *action_unit_test_kind;
