/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

int exit_code_for(bool changes, bool failures) {
        return (changes ? EXIT_CHANGES : 0) | (failures ? EXIT_FAILURES : 0);
}

static const char *const row_status_names[_ROW_STATUS_MAX] = {
        [ROW_OK] = "ok",           [ROW_DRIFT] = "drift",       [ROW_CHANGED] = "changed",
        [ROW_FAILED] = "failed",   [ROW_SKIPPED] = "skipped",   [ROW_CONFLICT] = "conflict",
        [ROW_RESTORED] = "restored",
};

const char *row_status_name(enum row_status s) {
        return s < _ROW_STATUS_MAX ? row_status_names[s] : "?";
}

struct row *report_add_row(struct report *rep) {
        rep->rows = xgrow(rep->rows, rep->n_rows, sizeof(*rep->rows));
        memset(&rep->rows[rep->n_rows], 0, sizeof(struct row));
        return &rep->rows[rep->n_rows++];
}

void report_message(struct report *rep, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        strv_push(&rep->messages, xvasprintf(fmt, ap));
        va_end(ap);
}

void report_error(struct report *rep, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        strv_push(&rep->errors, xvasprintf(fmt, ap));
        va_end(ap);
}

void report_text(struct report *rep, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        strv_push(&rep->text, xvasprintf(fmt, ap));
        va_end(ap);
}

void report_count(const struct report *rep, unsigned counts[static _ROW_STATUS_MAX]) {
        memset(counts, 0, sizeof(unsigned) * _ROW_STATUS_MAX);
        for (size_t i = 0; i < rep->n_rows; i++)
                counts[rep->rows[i].status]++;
}

void report_free(struct report *rep) {
        for (size_t i = 0; i < rep->n_rows; i++) {
                struct row *r = &rep->rows[i];
                free(r->action);
                free(r->kind);
                free(r->object);
                free(r->current);
                free(r->wanted);
                free(r->reason);
                json_object_put(r->current_json);
                json_object_put(r->wanted_json);
                strv_free(r->notes);
        }
        free(rep->rows);
        strv_free(rep->messages);
        strv_free(rep->errors);
        strv_free(rep->text);
        rep->text = NULL;
        json_object_put(rep->extra);
        rep->rows = NULL;
        rep->messages = rep->errors = NULL;
        rep->extra = NULL;
        rep->n_rows = 0;
}

static const char *colour(enum row_status s) {
        switch (s) {
        case ROW_OK:
        case ROW_SKIPPED:
                return "";
        case ROW_DRIFT:
                return "\033[33m";
        case ROW_CHANGED:
        case ROW_RESTORED:
                return "\033[32m";
        case ROW_FAILED:
        case ROW_CONFLICT:
                return "\033[31m";
        case _ROW_STATUS_MAX:
                break;
        }
        return "";
}

static size_t utf8_width(const char *s) {
        size_t n = 0;
        for (; s && *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        n++;
        return n;
}

static void print_json(const struct report *rep) {
        _cleanup_json_ struct json_object *j = json_object_new_object();
        struct json_object *items = json_object_new_array(), *summary = json_object_new_object();
        unsigned counts[_ROW_STATUS_MAX];

        json_object_object_add(j, "command", json_object_new_string(rep->command));
        if (rep->policy_name) {
                struct json_object *p = json_object_new_object();
                json_object_object_add(p, "name", json_object_new_string(rep->policy_name));
                json_object_object_add(p, "sha256", rep->policy_sha256 ? json_object_new_string(rep->policy_sha256) : NULL);
                json_object_object_add(p, "path", rep->policy_path ? json_object_new_string(rep->policy_path) : NULL);
                json_object_object_add(j, "policy", p);
        }
        json_object_object_add(j, "dry_run", json_object_new_boolean(rep->dry_run));
        json_object_object_add(j, "change", rep->change ? json_object_new_int64(rep->change) : NULL);
        for (size_t i = 0; i < rep->n_rows; i++) {
                const struct row *r = &rep->rows[i];
                struct json_object *o = json_object_new_object(), *notes = json_object_new_array();
                json_object_object_add(o, "action", json_object_new_string(r->action ? r->action : ""));
                json_object_object_add(o, "kind", json_object_new_string(r->kind ? r->kind : ""));
                json_object_object_add(o, "object", json_object_new_string(r->object ? r->object : ""));
                json_object_object_add(o, "status", json_object_new_string(row_status_name(r->status)));
                json_object_object_add(o, "mode", json_object_new_string(r->audit_only ? "audit" : "enforce"));
                json_object_object_add(o, "current", json_object_get(r->current_json));
                json_object_object_add(o, "wanted", json_object_get(r->wanted_json));
                json_object_object_add(o, "current_text", r->current ? json_object_new_string(r->current) : NULL);
                json_object_object_add(o, "wanted_text", r->wanted ? json_object_new_string(r->wanted) : NULL);
                json_object_object_add(o, "reason", r->reason ? json_object_new_string(r->reason) : NULL);
                for (size_t k = 0; r->notes && r->notes[k]; k++)
                        json_object_array_add(notes, json_object_new_string(r->notes[k]));
                json_object_object_add(o, "notes", notes);
                json_object_array_add(items, o);
        }
        json_object_object_add(j, "items", items);
        report_count(rep, counts);
        for (int s = 0; s < _ROW_STATUS_MAX; s++)
                json_object_object_add(summary, row_status_name(s), json_object_new_int(counts[s]));
        json_object_object_add(j, "summary", summary);
        if (rep->messages) {
                struct json_object *m = json_object_new_array();
                for (size_t k = 0; rep->messages[k]; k++)
                        json_object_array_add(m, json_object_new_string(rep->messages[k]));
                json_object_object_add(j, "messages", m);
        }
        if (rep->errors) {
                struct json_object *m = json_object_new_array();
                for (size_t k = 0; rep->errors[k]; k++)
                        json_object_array_add(m, json_object_new_string(rep->errors[k]));
                json_object_object_add(j, "errors", m);
        }
        if (rep->extra) {
                json_object_object_foreach(rep->extra, key, val)
                        json_object_object_add(j, key, json_object_get(val));
        }
        json_object_object_add(j, "exit", json_object_new_int(rep->exit));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A note an earlier row of the same action already carried is said once in the table
 * (three keepalive sysctls, one note about Go's keepalive); --json keeps it per item.
 * A hash set of (action, note): `interface: all` makes thousands of rows with a few notes
 * each, and a scan of every earlier row was quadratic. */
struct note_set {
        struct note_key { uint64_t h; const char *action, *note; } *v;
        size_t cap, n;
};

static uint64_t note_hash(const char *action, const char *note) {
        uint64_t h = 1469598103934665603ull; /* FNV-1a */
        for (const char *p = action ? action : ""; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
        for (const char *p = note; *p; p++)
                h = (h ^ (unsigned char) *p) * 1099511628211ull;
        return h;
}

/* Adds (action, note); false if it was there already. */
static bool note_set_add(struct note_set *s, const char *action, const char *note) {
        uint64_t h = note_hash(action, note);
        size_t i;

        if ((s->n + 1) * 2 > s->cap) {
                struct note_set g = { .cap = s->cap ? s->cap * 2 : 64 };
                g.v = xcalloc(g.cap, sizeof(*g.v));
                for (size_t k = 0; k < s->cap; k++)
                        if (s->v[k].note) {
                                for (i = s->v[k].h & (g.cap - 1); g.v[i].note; i = (i + 1) & (g.cap - 1))
                                        ;
                                g.v[i] = s->v[k];
                        }
                g.n = s->n;
                free(s->v);
                *s = g;
        }
        for (i = h & (s->cap - 1); s->v[i].note; i = (i + 1) & (s->cap - 1))
                if (s->v[i].h == h && streq_ptr(s->v[i].action, action) && streq(s->v[i].note, note))
                        return false;
        s->v[i] = (struct note_key) { .h = h, .action = action, .note = note };
        s->n++;
        return true;
}

/* s, then spaces up to width columns (w: s's own width). */
static void put_col(const char *s, size_t w, size_t width) {
        static const char spaces[] = "                                        "; /* 40: the widest column */

        fputs_unlocked(s, stdout);
        for (size_t pad = width - (w < width ? w : width); pad > 0;) {
                size_t k = pad < sizeof(spaces) - 1 ? pad : sizeof(spaces) - 1;
                fwrite_unlocked(spaces, 1, k, stdout);
                pad -= k;
        }
}

void report_print(const struct report *rep, bool json, int verbosity) {
        bool tty = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        struct note_set shown = { 0 };
        size_t wa = 6, wo = 6, wc = 7, ww = 10;
        /* Each cell's width, measured once: `interface: all` prints thousands of rows, and
         * printf() with its padding was a tenth of such an audit. */
        _cleanup_free_ size_t (*cw)[4] = NULL;

        for (size_t k = 0; rep->errors && rep->errors[k]; k++)
                fprintf(stderr, "medic: %s\n", rep->errors[k]);
        if (json) {
                print_json(rep);
                return;
        }
        cw = xcalloc(rep->n_rows + 1, sizeof(*cw));
        for (size_t i = 0; i < rep->n_rows; i++) {
                const struct row *r = &rep->rows[i];
                cw[i][0] = utf8_width(r->action);
                cw[i][1] = utf8_width(r->object);
                cw[i][2] = utf8_width(r->current ? r->current : "-");
                cw[i][3] = utf8_width(r->wanted ? r->wanted : "-");
                wa = cw[i][0] > wa ? cw[i][0] : wa;
                wo = cw[i][1] > wo ? cw[i][1] : wo;
                wc = cw[i][2] > wc ? cw[i][2] : wc;
                ww = cw[i][3] > ww ? cw[i][3] : ww;
        }
        wa = wa > 36 ? 36 : wa;
        wo = wo > 40 ? 40 : wo;
        wc = wc > 40 ? 40 : wc;
        ww = ww > 40 ? 40 : ww;
        flockfile(stdout);
        for (size_t i = 0; i < rep->n_rows; i++) {
                const struct row *r = &rep->rows[i];
                if (verbosity < 0 && (r->status == ROW_OK || r->status == ROW_SKIPPED))
                        continue;
                put_col(r->action, cw[i][0], wa);
                fputs_unlocked("  ", stdout);
                put_col(r->object, cw[i][1], wo);
                fputs_unlocked("  ", stdout);
                put_col(r->current ? r->current : "-", cw[i][2], wc);
                fputs_unlocked(" → ", stdout);
                put_col(r->wanted ? r->wanted : "-", cw[i][3], ww);
                fputs_unlocked("  ", stdout);
                if (tty)
                        fputs_unlocked(colour(r->status), stdout);
                fputs_unlocked(row_status_name(r->status), stdout);
                if (r->audit_only && r->status == ROW_DRIFT)
                        fputs_unlocked(" (audit only)", stdout);
                if (r->reason) {
                        fputs_unlocked(": ", stdout);
                        fputs_unlocked(r->reason, stdout);
                }
                if (tty && *colour(r->status))
                        fputs_unlocked("\033[0m", stdout);
                fputc_unlocked('\n', stdout);
                bool show = verbosity >= 0 && (r->status != ROW_OK || verbosity > 0);
                /* Only a note printed counts as said: one under a hidden ok row is not. */
                for (size_t k = 0; show && r->notes && r->notes[k]; k++)
                        if (note_set_add(&shown, r->action, r->notes[k]))
                                printf("    note: %s\n", r->notes[k]);
        }
        funlockfile(stdout);
        free(shown.v);
        for (size_t k = 0; rep->text && rep->text[k]; k++)
                printf("%s\n", rep->text[k]);
        if (verbosity >= 0)
                for (size_t k = 0; rep->messages && rep->messages[k]; k++)
                        printf("%s\n", rep->messages[k]);
}

/* A string is written plain only when it is plainly safe: printable ASCII, no leading
 * indicator, no ": " or " #", no trailing ':' or blank, not a YAML keyword or number-like
 * word. Everything else is JSON-quoted, which is a valid YAML scalar. */
static bool needs_quotes(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || strchr("-?:,[]{}#&*!|>'\"%@` ", s[0]) || s[n - 1] == ':' || s[n - 1] == ' ' ||
            strstr(s, ": ") || strstr(s, " #"))
                return true;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c < 0x20 || (unsigned char) *c >= 0x7f)
                        return true;
        return streq(s, "true") || streq(s, "false") || streq(s, "null") || streq(s, "yes") ||
               streq(s, "no") || streq(s, "on") || streq(s, "off") || streq(s, "~") ||
               streq(s, "True") || streq(s, "False") || streq(s, "Null") || streq(s, "NULL");
}

static void print_scalar(FILE *f, struct json_object *v) {
        if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                if (needs_quotes(s))
                        fprintf(f, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_NOSLASHESCAPE));
                else
                        fprintf(f, "%s", s);
        } else
                fprintf(f, "%s", v ? json_object_to_json_string(v) : "null");
}

static bool is_container(struct json_object *v) {
        return json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array);
}

void json_print_yaml(FILE *f, struct json_object *j, int indent) {
        if (json_object_is_type(j, json_type_object)) {
                json_object_object_foreach(j, key, val) {
                        fprintf(f, "%*s%s:", indent, "", key);
                        if (is_container(val) && (json_object_is_type(val, json_type_object) ? (size_t) json_object_object_length(val) : json_object_array_length(val)) > 0) {
                                fprintf(f, "\n");
                                json_print_yaml(f, val, indent + 2);
                        } else {
                                fprintf(f, " ");
                                if (is_container(val))
                                        fprintf(f, json_object_is_type(val, json_type_object) ? "{}" : "[]");
                                else
                                        print_scalar(f, val);
                                fprintf(f, "\n");
                        }
                }
        } else if (json_object_is_type(j, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(j); i++) {
                        struct json_object *v = json_object_array_get_idx(j, i);
                        if (json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0) {
                                /* "- key: value" then the rest of the mapping under it */
                                bool first = true;
                                json_object_object_foreach(v, key, val) {
                                        fprintf(f, "%*s%s%s:", first ? indent : indent + 2, "", first ? "- " : "", key);
                                        if (is_container(val)) {
                                                fprintf(f, "\n");
                                                json_print_yaml(f, val, indent + 4);
                                        } else {
                                                fprintf(f, " ");
                                                print_scalar(f, val);
                                                fprintf(f, "\n");
                                        }
                                        first = false;
                                }
                        } else {
                                fprintf(f, "%*s- ", indent, "");
                                print_scalar(f, v);
                                fprintf(f, "\n");
                        }
                }
        }
}
