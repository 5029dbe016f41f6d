/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* The change journal: one file per change set in STATE/changes/ID.json. Its first record
 * is the whole set as it was written ahead of the first change (every item with its
 * "before"); each later record is one line appended when an item or the set moves on
 * ({"item": K, "status": ...} or {"state": ...}). A set costs one write per record and a
 * small constant number of fsyncs, never a rewrite of the file.
 *
 * STATE/changes/index is a cache of every set's last state ("ID STATE" lines, appended):
 * a run loads only the sets the index does not call closed, so a long history costs a
 * directory read and one small file, not a parse of every set. The index is written after
 * the set's own record is durable, so it can lag (a set then gets loaded) but never call
 * an open set closed. */

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
/* The bytes of one set file → the set, with its records applied in order. A last record
 * cut short by a crash (no newline, not JSON) was never durable and is ignored. id 0: any
 * set (else the file must say it is set id). */
int journal_parse(const char *text, size_t len, unsigned id, struct change_set **ret, char **ret_why);
int journal_next_id(const char *state_dir, unsigned *ret);
/* The ids of every set that a run may have to act on: those the index does not know as
 * applied, failed or rolled back (sets of an older medic, hand-copied files, open sets). */
int journal_open_ids(const char *state_dir, unsigned **ret_ids, size_t *ret_n);
/* Records in the index what a loaded set is (lets an old journal join the index). */
int journal_index_note(const char *state_dir, const struct change_set *cs);

/* A set file open for appending records. */
struct jfile {
        int fd;
        off_t size; /* end of the last whole record: a short write is cut back to here */
        unsigned id;
        char *state_dir;
};
#define JFILE_INIT { .fd = -1 }

/* Writes the whole set as one record, replacing the file: temp file, fsync, rename, fsync
 * of the directory. Only for a set no change has been made under yet. */
int journal_save(const char *state_dir, const struct change_set *cs);
/* Writes the whole set as its first record (temp file, fsync, rename, fsync of the
 * directory): the write-ahead record. Then opens it for appending. */
int journal_create(const char *state_dir, const struct change_set *cs, struct jfile *ret);
/* Opens an existing set for appending (recovery, confirm, the set a rollback undoes). */
int journal_open(const char *state_dir, unsigned id, struct jfile *ret);
/* Appends item k's status, after and message. Not fsync'd: a set is open until its state
 * record is, and recovery reads every object of an open set from the kernel anyway. */
int journal_put_item(struct jfile *f, const struct change_set *cs, size_t k);
/* Appends the set's state (and deadline, rolled_back_by, message), fsyncs, updates the index. */
int journal_put_state(struct jfile *f, const struct change_set *cs);
void journal_close(struct jfile *f);

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
/* A set in one of these states needs nothing more from a later run. */
bool set_state_closed(enum set_state s);
