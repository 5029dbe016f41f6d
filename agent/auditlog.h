/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* The audit log: one JSON object per line, appended with O_APPEND and fsync'd, and the same
 * event sent to journald. The file is the record that must not be lost: a change whose
 * record cannot be written does not happen (or is undone). journald is a convenience —
 * sd_journal_send() even returns 0 when no journald listens. */

enum audit_event {
        EV_AUDIT,
        EV_DRIFT,
        EV_CHANGE,
        EV_FAILURE,
        EV_ROLLBACK,
        EV_CONFIRM,
        EV_CONFLICT,
        EV_INTERRUPTED,
        EV_REPAIR,
        _EV_MAX,
};

struct auditlog {
        int fd;
        char *path;
        char *host;
        char boot_id[37];
        uid_t uid;
        /* Within a change set: records are written as objects change and fsync'd together
         * by auditlog_sync() before the set is marked applied. */
        bool defer_sync;
        char *sudo_user;
        char *policy_name;
        char *policy_sha256;
};

const char *audit_event_name(enum audit_event e);

/* Opens the log for appending. create_dir: create the file and its directory (0750) if
 * missing; unset (read-only commands): only an existing file is used. */
int auditlog_open(struct auditlog *l, const char *path, bool create_dir);
void auditlog_set_policy(struct auditlog *l, const char *name, const char *sha256);
void auditlog_close(struct auditlog *l);

struct audit_record {
        enum audit_event event;
        unsigned change;          /* 0 = none */
        const char *action;
        const char *kind;
        const char *object;
        struct json_object *before; /* borrowed */
        struct json_object *after;  /* borrowed */
        const char *result;
        const char *message;
};

/* Appends one record (one write(2), then fsync unless deferred) and sends it to journald;
 * -errno when the record is not written. A short write is cut back off the file, so it
 * never swallows the next record. */
int auditlog_write(struct auditlog *l, const struct audit_record *rec);
/* Makes the records written with defer_sync durable. */
int auditlog_sync(struct auditlog *l);
