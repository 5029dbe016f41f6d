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

        /* Parse the kind's YAML value into its state: what the policy wants, with any
         * selector that only a host can resolve (`interface: all`, a process target) kept
         * in it. Errors go to err with their position. to_json() writes it back in the
         * policy's form and free() frees it. */
        int (*parse)(const struct ynode *node, const struct policy *pol, void **ret_state,
                     struct perr *err);
        /* The objects a parsed state names and a canonical text of what it wants for each,
         * with the YAML node to blame: the loader refuses two actions that set one object to
         * different values, with both positions, before any host is looked at (the plan
         * meets `interface: all` and `eth0` only later, through equal()). NULL: none. */
        void (*claims)(const void *state, claim_fn fn, void *userdata);

        /* Expand a parsed state into one state of the same type per object, selectors
         * resolved (the interfaces `all` names, the processes a target finds). */
        int (*plan)(struct ctx *ctx, const void *state, struct plan_list *out);
        /* The capabilities (CAP_TO_MASK bits) changing this object to this state needs,
         * checked up front. With state NULL: every capability this kind's apply/restore may
         * need, so that a changing command keeps the union over the kinds it may touch and
         * drops the rest. */
        uint64_t (*caps)(const void *state);
        /* Read the object a state names, without side effects, into the same type. -ESRCH:
         * the object is gone for good (a restarted process), so a change recorded for it is
         * void. */
        int (*read)(struct ctx *ctx, const void *state, void **ret_have);
        /* Pure comparison: does have satisfy want? */
        bool (*same)(const void *want, const void *have);
        /* Do two wanted states ask the same of one object? The plan uses it when two actions
         * meet on one object: the same wish is one item, different ones are refused. NULL:
         * same() is symmetric on wanted states and serves. */
        bool (*equal)(const void *a, const void *b);
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
        /* The state as JSON: the policy's own entry for the object, so that the journal's
         * before reads as a policy, plus what a read found beyond what a policy can say
         * (a process's threads, a mount's identity, a foreign root) under one key,
         * "observed". A state no policy can ask for has no policy keys beside its object's
         * (`medic show` prints the rest as a note). from_json also reads every form an
         * earlier medic wrote to a journal: a set may be open across an upgrade. */
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

/* Helpers the kinds share for their text and JSON (actions/action.c). */
/* *list becomes "LIST<sep>ITEM", or ITEM when it is NULL: describe() and notes build
 * their lists this way. */
void text_append(char **list, const char *sep, const char *fmt, ...) _printf_(3, 4);
/* j's "interface" when it is an interface name a journal can hold (1-15 bytes, no NUL
 * inside the JSON string), else NULL. */
const char *json_get_ifname(struct json_object *j);

/* Every capability a kind's apply/restore may need (its caps(NULL)). */
static inline uint64_t action_caps_all(const struct action_ops *ops) {
        return ops->caps ? ops->caps(NULL) : 0;
}

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
