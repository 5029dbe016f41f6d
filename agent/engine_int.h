/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the engine's files (engine.c, plan.c, apply.c, rollback.c, views.c) share; not for
 * the rest of the program, which calls engine.h. */

#include <signal.h>

#include "engine.h"

/* One object of the policy in one run: what it should be, what it is, and what became of
 * it. The engine decides from these fields; the report's row is only where it is told. */
struct item {
        const struct action_ops *ops;
        const char *action;
        enum action_mode mode;
        char *object;
        void *want;
        void *have;
        size_t row;
        bool change;  /* apply: an enforce item that drifted and will be changed */
        size_t rec;   /* apply: its index in the change set */
};

struct plan {
        struct item *items;
        size_t n;
};

/* Rows get their current_json and wanted_json only with --json; a caller that needs them
 * otherwise (a logged drift, a changed object) fills its own. */
int plan_build(struct run *run, struct plan *pl, bool notes);
void plan_free(struct plan *pl);

static inline struct row *row_at(struct run *run, size_t i) {
        return &run->rep.rows[i];
}

const char *ctx_reason(struct run *run, int r);
struct json_object *state_json(const struct action_ops *ops, const void *state);
/* One audit record; <0 when it could not be written (the change must then not stand). */
int audit_event(struct run *run, enum audit_event ev, unsigned change, const char *action, const char *kind,
                const char *object, struct json_object *before, struct json_object *after, const char *result,
                const char *message);
int check_caps(struct run *run, uint64_t needed, const char *what);
/* A new set's header: time, user, host, boot id, command, policy. */
void set_header(struct run *run, struct change_set *cs);
/* Write the object, read it back, compare; on success *ret_now is the read-back. */
int change_object(struct run *run, const struct action_ops *ops, const void *want, const void *have,
                  bool restoring, void **ret_now);
/* Brings one object back to before from whatever it holds now (read here): 1 when it was
 * changed, 0 when it already was as before, <0 (with the reason in ctx) when it could not. */
int restore_object(struct run *run, const struct action_ops *ops, const void *before, void **ret_now);
/* ctx->recorded_after() for one object, set around a kind's notes() and apply(). */
struct recorded {
        struct run *run;
        const struct action_ops *ops;
        const char *object;
        void *after; /* looked up on the first ask */
        bool looked;
};
void recorded_begin(struct run *run, struct recorded *rec, const struct action_ops *ops, const char *object);
void recorded_end(struct run *run, struct recorded *rec);
void count_outcome(struct run *run, bool drift_counts, bool audit_drift_counts, bool *changes, bool *failures);
/* The boot id must be known before a change: a set recorded without it could never be
 * rolled back (it would look like an earlier boot's). */
int require_boot_id(struct run *run);

/* The watcher of apply --confirm-within (rollback.c). */
void engine_spawn_watcher(struct run *run, int64_t deadline);

/* SIGINT, SIGTERM and SIGHUP while the host is being changed: remembered, acted on between
 * two objects, never inside one. */
void stop_signals_catch(void);
int stop_signal(void);
