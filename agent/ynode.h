/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A YAML document as a tree that remembers where every node was written, so that every
 * policy error can name FILE:LINE:COLUMN. Anchors/aliases and tags are refused: a policy
 * is read by people, and what they read must be what medic applies. */

enum ynode_type {
        YNODE_SCALAR,
        YNODE_MAP,
        YNODE_SEQ,
        _YNODE_TYPE_MAX,
};

struct ynode {
        enum ynode_type type;
        const char *file; /* owned by the document */
        unsigned line, col; /* 1-based */
        char *value;      /* YNODE_SCALAR */
        bool plain;       /* scalar written without quotes */
        struct ynode **keys; /* YNODE_MAP: keys[i] -> vals[i] */
        struct ynode **vals; /* YNODE_MAP and YNODE_SEQ */
        size_t n;
};

/* Errors are collected, not returned one by one: the operator sees all of them at once. */
struct perr {
        char **msgs;
        size_t n;
};

void perr_add(struct perr *e, const struct ynode *at, const char *fmt, ...) _printf_(3, 4);
void perr_add_pos(struct perr *e, const char *file, unsigned line, unsigned col, const char *fmt,
                  ...) _printf_(5, 6);
void perr_done(struct perr *e);

struct ydoc {
        char *file;
        struct ynode *root; /* NULL for an empty file */
};

/* Parses a file; syntax errors go to err with their position, and return -EINVAL. */
int ydoc_load(const char *path, const char *display_name, struct ydoc **ret, struct perr *err);
int ydoc_load_string(const char *text, size_t len, const char *display_name, struct ydoc **ret,
                     struct perr *err);
void ydoc_free(struct ydoc *d);
static inline void ydoc_freep(struct ydoc **d) {
        if (*d)
                ydoc_free(*d);
}

const char *ynode_type_name(enum ynode_type t);
const struct ynode *ynode_get(const struct ynode *map, const char *key);

/* Typed accessors: on a wrong type or value they add a positioned error and return -EINVAL. */
int ynode_expect(const struct ynode *n, enum ynode_type t, const char *what, struct perr *err);
int ynode_uint(const struct ynode *n, const char *what, unsigned long long min,
               unsigned long long max, unsigned long long *ret, struct perr *err);
int ynode_bool(const struct ynode *n, const char *what, bool *ret, struct perr *err);
int ynode_string(const struct ynode *n, const char *what, const char **ret, struct perr *err);
/* Checks a mapping's keys against allowed (NULL-terminated); unknown keys are errors. */
int ynode_check_keys(const struct ynode *map, const char *what, const char *const *allowed,
                     struct perr *err);
