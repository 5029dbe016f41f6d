/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

/* Exit codes: Puppet's detailed exit codes, which CM tools already understand. */
enum {
        EXIT_NOTHING = 0,  /* nothing to do, nothing changed */
        EXIT_CHANGES = 2,  /* drift found (audit, dry-run) or changes made (apply, rollback) */
        EXIT_FAILURES = 4, /* some items failed */
        EXIT_BOTH = 6,     /* changes and failures */
        EXIT_CANNOT = 1,   /* could not run at all; nothing was changed */
        EXIT_USAGE = 64,
};

int exit_code_for(bool changes, bool failures);

enum row_status {
        ROW_OK,
        ROW_DRIFT,
        ROW_CHANGED,
        ROW_FAILED,
        ROW_SKIPPED,
        ROW_CONFLICT,
        ROW_RESTORED,
        _ROW_STATUS_MAX,
};

const char *row_status_name(enum row_status s);

struct row {
        char *action;
        char *kind;
        char *object;
        char *current; /* human text */
        char *wanted;
        struct json_object *current_json;
        struct json_object *wanted_json;
        enum row_status status;
        bool audit_only; /* mode: audit — drift reported, never changed */
        char *reason;
        char **notes;
};

struct report {
        const char *command;
        const char *policy_name;
        const char *policy_sha256;
        const char *policy_path;
        unsigned change;
        bool dry_run;
        struct row *rows;
        size_t n_rows;
        char **messages; /* said after the table: "change set 3 applied" */
        char **errors;   /* what stopped the run (exit 1) */
        char **text;     /* human-only lines (history, show); --json carries the same in extra */
        struct json_object *extra; /* command-specific JSON (history, show, validate) */
        int exit;
};

struct row *report_add_row(struct report *rep);
void report_message(struct report *rep, const char *fmt, ...) _printf_(2, 3);
void report_error(struct report *rep, const char *fmt, ...) _printf_(2, 3);
void report_text(struct report *rep, const char *fmt, ...) _printf_(2, 3);
void report_count(const struct report *rep, unsigned counts[static _ROW_STATUS_MAX]);
void report_free(struct report *rep);

/* Human table (colour on a terminal only) or one JSON document on stdout. */
void report_print(const struct report *rep, bool json, int verbosity);

/* Renders a JSON value as normalised YAML (validate's output). */
void json_print_yaml(FILE *f, struct json_object *j, int indent);
