/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal reader on arbitrary JSON: a change set, and every item's before and after
 * through every action kind's from_json, then back out through to_json and describe, as
 * rollback and `medic show` use them. What medic writes it must read back: a set or a
 * state that was read once is written and read again, and must come back the same. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../actions/action.h"
#include "../../agent/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *kind) {
        fprintf(stderr, "%s%s%s\n", kind ? kind : "", kind ? ": " : "", what);
        abort();
}

/* A state read from the journal, written back and read again. */
static void *state_round_trip(const struct action_ops *ops, struct json_object *j) {
        void *s = NULL, *again = NULL;
        struct json_object *out = NULL;
        char *d1, *d2;

        if (ops->from_json(j, &s) < 0)
                return NULL;
        if (ops->to_json(s, &out) < 0)
                die("a state read from the journal cannot be written back", ops->kind);
        if (ops->from_json(out, &again) < 0)
                die("a state medic wrote does not read back", ops->kind);
        d1 = ops->describe(s);
        d2 = ops->describe(again);
        if (!d1 || !d2 || strcmp(d1, d2) != 0)
                die("a state reads back described differently", ops->kind);
        if (!ops->same(s, again) || !ops->same(again, s))
                die("a state reads back different", ops->kind);
        if (ops->caps)
                (void) ops->caps(s);
        free(d1);
        free(d2);
        ops->free(again);
        json_object_put(out);
        return s;
}

static void item(const struct set_item *it) {
        for (size_t k = 0; action_registry[k]; k++) {
                const struct action_ops *ops = action_registry[k];
                void *before = state_round_trip(ops, it->before);
                void *after = state_round_trip(ops, it->after);

                /* What rollback asks of a journaled pair (with have = either end). */
                if (before && after) {
                        (void) ops->same(before, after);
                        if (ops->in_between) {
                                (void) ops->in_between(before, after, after);
                                (void) ops->in_between(before, after, before);
                        }
                }
                if (before)
                        ops->free(before);
                if (after)
                        ops->free(after);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct json_tokener *tok;
        struct json_object *j, *out = NULL;
        struct change_set *cs = NULL, *again = NULL;
        char *why = NULL;

        if (size > 1 << 20)
                return 0;
        /* The file reader: the write-ahead record, appended records, a torn last line. */
        if (journal_parse((const char *) data, size, 0, &cs, &why) >= 0) {
                struct json_object *whole = NULL;
                const char *text;
                if (change_set_to_json(cs, &whole) < 0)
                        die("a set read from a journal file cannot be written back", NULL);
                text = json_object_to_json_string_ext(whole, JSON_C_TO_STRING_PLAIN);
                if (journal_parse(text, strlen(text), cs->id, &again, &why) < 0)
                        die("a set written as one record does not read back", NULL);
                if (again->state != cs->state || again->n_items != cs->n_items)
                        die("a set reads back different", NULL);
                for (size_t i = 0; i < cs->n_items; i++)
                        if (again->items[i].state != cs->items[i].state)
                                die("an item's status reads back different", NULL);
                change_set_free(again);
                change_set_free(cs);
                json_object_put(whole);
                again = cs = NULL;
        } else if (!why)
                die("a journal file refused without a reason", NULL);
        free(why);
        why = NULL;
        tok = json_tokener_new();
        j = json_tokener_parse_ex(tok, (const char *) data, (int) size);
        json_tokener_free(tok);
        if (!j)
                return 0;
        if (change_set_from_json(j, &cs, &why) < 0) {
                if (!why)
                        die("a change set refused without a reason", NULL);
                free(why);
                json_object_put(j);
                return 0;
        }
        for (size_t i = 0; i < cs->n_items; i++)
                item(&cs->items[i]);
        if (change_set_to_json(cs, &out) < 0)
                die("a change set read from the journal cannot be written back", NULL);
        (void) json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY);
        if (change_set_from_json(out, &again, &why) < 0) {
                fprintf(stderr, "%s\n", why);
                die("a change set medic wrote does not read back", NULL);
        }
        if (again->id != cs->id || again->n_items != cs->n_items || again->state != cs->state ||
            again->kind != cs->kind)
                die("a change set reads back different", NULL);
        change_set_free(again);
        json_object_put(out);
        change_set_free(cs);
        json_object_put(j);
        return 0;
}
