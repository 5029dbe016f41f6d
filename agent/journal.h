/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* The change journal: one JSON file per change set in STATE/changes/ID.json. A set is
 * written, with every item's "before", and made durable before the first change. */

enum set_state {
        SET_APPLYING,
        SET_APPLIED,
        SET_FAILED,
        SET_ROLLED_BACK,
        SET_AWAITING_CONFIRM,
        _SET_STATE_MAX,
};

enum set_kind {
        SET_KIND_APPLY,
        SET_KIND_ROLLBACK,
        SET_KIND_REPAIR,
        _SET_KIND_MAX,
};

enum item_state {
        ITEM_PENDING,    /* journaled, not yet changed */
        ITEM_CHANGED,    /* changed and read back */
        ITEM_FAILED,     /* the change did not take; object left as before */
        ITEM_RESTORED,   /* changed, then put back (atomic apply, interrupted set) */
        ITEM_CONFLICT,   /* someone changed the object since: left alone */
        ITEM_SKIPPED,
        _ITEM_STATE_MAX,
};

struct set_item {
        char *action;
        char *kind;
        char *object;
        struct json_object *before;
        struct json_object *after;
        enum item_state state;
        char *message;
};

struct change_set {
        unsigned id;
        char time[40];
        enum set_kind kind;
        enum set_state state;
        char *policy_name;
        char *policy_sha256;
        uid_t uid;
        char *sudo_user;
        char *command;
        char *hostname;
        char boot_id[37];
        int64_t deadline;      /* unix seconds, awaiting-confirm only */
        unsigned rollback_of;  /* kind rollback: the set it undoes */
        unsigned rolled_back_by;
        char *message;
        struct set_item *items;
        size_t n_items;
};

const char *set_state_name(enum set_state s);
const char *set_kind_name(enum set_kind k);
const char *item_state_name(enum item_state s);

/* Creates STATE/changes (0700) when create is set. */
int journal_init(const char *state_dir, bool create);
/* Ids of every set, ascending. Damaged file names are ignored here; loading reports them. */
int journal_list(const char *state_dir, unsigned **ret_ids, size_t *ret_n);
int journal_load(const char *state_dir, unsigned id, struct change_set **ret, char **ret_why);
/* write-temp, fsync, rename, fsync(dir) */
int journal_save(const char *state_dir, const struct change_set *cs);
int journal_next_id(const char *state_dir, unsigned *ret);

struct change_set *change_set_new(enum set_kind kind);
struct set_item *change_set_add_item(struct change_set *cs, const char *action, const char *kind,
                                     const char *object);
void change_set_free(struct change_set *cs);
static inline void change_set_freep(struct change_set **cs) {
        if (*cs)
                change_set_free(*cs);
}
int change_set_to_json(const struct change_set *cs, struct json_object **ret);
int change_set_from_json(struct json_object *j, struct change_set **ret, char **ret_why);
