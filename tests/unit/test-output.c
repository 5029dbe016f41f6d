/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/output.c: Puppet's detailed exit codes, the human table, the --json document that
 * configuration management parses (one document, nothing else on stdout), and the YAML that
 * `medic validate` prints back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>

#include "../../agent/output.h"
#include "../../agent/policy.h"
#include "helpers.h"

/* ---- capturing stdout and stderr ---- */

struct captured {
        char *out;
        char *err;
};

static char *tmpdir;

static int setup_group(void **state _unused_) {
        tmpdir = tmpdir_new();
        return tmpdir ? 0 : -1;
}

static int teardown_group(void **state _unused_) {
        rm_rf(tmpdir);
        free(tmpdir);
        return 0;
}

static int redirect(int fd, const char *name, int *saved) {
        char *path = xasprintf("%s/%s", tmpdir, name);
        int f = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(f >= 0);
        *saved = dup(fd);
        assert_true(*saved >= 0);
        assert_true(dup2(f, fd) >= 0);
        close(f);
        free(path);
        return 0;
}

static char *restore(int fd, const char *name, int saved) {
        char *path = xasprintf("%s/%s", tmpdir, name), *text = NULL;

        assert_true(dup2(saved, fd) >= 0);
        close(saved);
        assert_int_equal(read_file(path, &text, NULL), 0);
        free(path);
        return text;
}

static struct captured print_captured(const struct report *rep, bool json, int verbosity) {
        struct captured c;
        int so, se;

        fflush(stdout);
        fflush(stderr);
        redirect(STDOUT_FILENO, "stdout", &so);
        redirect(STDERR_FILENO, "stderr", &se);
        report_print(rep, json, verbosity);
        fflush(stdout);
        fflush(stderr);
        c.out = restore(STDOUT_FILENO, "stdout", so);
        c.err = restore(STDERR_FILENO, "stderr", se);
        return c;
}

static void captured_done(struct captured *c) {
        free(c->out);
        free(c->err);
}

/* Parses text as exactly one JSON document followed only by whitespace. */
static struct json_object *parse_one_document(const char *text) {
        struct json_tokener *tok = json_tokener_new();
        size_t len = strlen(text);
        struct json_object *j = json_tokener_parse_ex(tok, text, (int) len);
        size_t end = json_tokener_get_parse_end(tok);

        if (!j || json_tokener_get_error(tok) != json_tokener_success)
                fail_msg("stdout is not one JSON document: %s", text);
        for (size_t i = end; i < len; i++)
                if (!strchr(" \t\n", text[i]))
                        fail_msg("stdout has more than one JSON document; after it: %s", text + end);
        json_tokener_free(tok);
        return j;
}

/* ---- a report as audit builds it ---- */

static void build_report(struct report *rep, bool with_skipped) {
        struct row *r;

        *rep = (struct report) {
                .command = "audit",
                .policy_name = "etcd",
                .policy_sha256 = "0a10b5751d53d0b99d469bc600903b87b5f9c21d4574700a482b1d63ea1243ef",
                .policy_path = "/etc/medic/policy.d",
        };
        r = report_add_row(rep);
        r->action = xstrdup("keepalive");
        r->kind = xstrdup("sysctl");
        r->object = xstrdup("net.ipv4.tcp_keepalive_time");
        r->current = xstrdup("7200");
        r->wanted = xstrdup("600");
        r->current_json = json_tokener_parse("{\"net.ipv4.tcp_keepalive_time\":\"7200\"}");
        r->wanted_json = json_tokener_parse("{\"net.ipv4.tcp_keepalive_time\":\"600\"}");
        r->status = ROW_DRIFT;
        strv_push(&r->notes, xstrdup("runtime-only fix: no sysctl.d file sets it"));

        r = report_add_row(rep);
        r->action = xstrdup("keepalive");
        r->kind = xstrdup("sysctl");
        r->object = xstrdup("net.ipv4.tcp_keepalive_intvl");
        r->current = xstrdup("60");
        r->wanted = xstrdup("60");
        r->status = ROW_OK;
        strv_push(&r->notes, xstrdup("a note on an ok row"));

        r = report_add_row(rep);
        r->action = xstrdup("port range");
        r->kind = xstrdup("sysctl");
        r->object = xstrdup("net.ipv4.ip_local_port_range");
        r->current = xstrdup("32768 60999");
        r->wanted = xstrdup("1024 65000");
        r->status = ROW_DRIFT;
        r->audit_only = true;

        if (with_skipped) {
                r = report_add_row(rep);
                r->action = xstrdup("etcd I/O");
                r->kind = xstrdup("io-priority");
                r->object = xstrdup("target etcd");
                r->status = ROW_SKIPPED;
                r->reason = xstrdup("etcd: no process found by comm etcd");
        }

        report_message(rep, "change set %u applied", 3u);
        rep->exit = EXIT_CHANGES;
}

/* ---- exit codes and names ---- */

static void test_exit_codes(void **state _unused_) {
        assert_int_equal(exit_code_for(false, false), 0);
        assert_int_equal(exit_code_for(true, false), 2);
        assert_int_equal(exit_code_for(false, true), 4);
        assert_int_equal(exit_code_for(true, true), 6);
        assert_int_equal(EXIT_NOTHING, 0);
        assert_int_equal(EXIT_CHANGES, 2);
        assert_int_equal(EXIT_FAILURES, 4);
        assert_int_equal(EXIT_BOTH, 6);
        assert_int_equal(EXIT_CANNOT, 1);
        assert_int_equal(EXIT_USAGE, 64);
}

static void test_row_status_names(void **state _unused_) {
        assert_string_equal(row_status_name(ROW_OK), "ok");
        assert_string_equal(row_status_name(ROW_DRIFT), "drift");
        assert_string_equal(row_status_name(ROW_CHANGED), "changed");
        assert_string_equal(row_status_name(ROW_FAILED), "failed");
        assert_string_equal(row_status_name(ROW_SKIPPED), "skipped");
        assert_string_equal(row_status_name(ROW_CONFLICT), "conflict");
        assert_string_equal(row_status_name(ROW_RESTORED), "restored");
        assert_string_equal(row_status_name(_ROW_STATUS_MAX), "?");
}

static void test_report_count_and_free(void **state _unused_) {
        struct report rep;
        unsigned counts[_ROW_STATUS_MAX];

        build_report(&rep, true);
        report_count(&rep, counts);
        assert_int_equal(counts[ROW_DRIFT], 2);
        assert_int_equal(counts[ROW_OK], 1);
        assert_int_equal(counts[ROW_SKIPPED], 1);
        assert_int_equal(counts[ROW_CHANGED], 0);
        assert_int_equal(counts[ROW_FAILED], 0);
        report_free(&rep);
        assert_int_equal(rep.n_rows, 0);
        assert_null(rep.rows);
        assert_null(rep.messages);
        report_count(&rep, counts);
        assert_int_equal(counts[ROW_DRIFT], 0);
        report_free(&rep); /* twice is fine */
}

/* ---- --json ---- */

static void test_json_document(void **state _unused_) {
        struct report rep;
        struct captured c;
        struct json_object *j, *v, *items, *it, *sum;

        build_report(&rep, true);
        c = print_captured(&rep, true, 0);
        j = parse_one_document(c.out);
        assert_string_equal(c.err, "");

        assert_string_equal(json_object_get_string(json_object_object_get(j, "command")), "audit");
        assert_true(json_object_object_get_ex(j, "policy", &v));
        assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                            "{\"name\":\"etcd\",\"sha256\":\"0a10b5751d53d0b99d469bc600903b87b5f9c21d4574700a482b1d63ea1243ef\","
                            "\"path\":\"/etc/medic/policy.d\"}");
        assert_true(json_object_object_get_ex(j, "dry_run", &v));
        assert_false(json_object_get_boolean(v));
        /* No change set: null, present. */
        assert_true(json_object_object_get_ex(j, "change", &v));
        assert_null(v);

        assert_true(json_object_object_get_ex(j, "items", &items));
        assert_int_equal(json_object_array_length(items), 4);
        it = json_object_array_get_idx(items, 0);
        assert_string_equal(json_object_to_json_string_ext(it, JSON_C_TO_STRING_PLAIN),
                            "{\"action\":\"keepalive\",\"kind\":\"sysctl\",\"object\":\"net.ipv4.tcp_keepalive_time\","
                            "\"status\":\"drift\",\"mode\":\"enforce\","
                            "\"current\":{\"net.ipv4.tcp_keepalive_time\":\"7200\"},"
                            "\"wanted\":{\"net.ipv4.tcp_keepalive_time\":\"600\"},"
                            "\"current_text\":\"7200\",\"wanted_text\":\"600\",\"reason\":null,"
                            "\"notes\":[\"runtime-only fix: no sysctl.d file sets it\"]}");
        it = json_object_array_get_idx(items, 2);
        assert_string_equal(json_object_get_string(json_object_object_get(it, "mode")), "audit");
        it = json_object_array_get_idx(items, 3);
        assert_string_equal(json_object_get_string(json_object_object_get(it, "status")), "skipped");
        assert_string_equal(json_object_get_string(json_object_object_get(it, "reason")),
                            "etcd: no process found by comm etcd");
        assert_null(json_object_object_get(it, "current_text"));
        assert_int_equal(json_object_array_length(json_object_object_get(it, "notes")), 0);

        assert_true(json_object_object_get_ex(j, "summary", &sum));
        assert_string_equal(json_object_to_json_string_ext(sum, JSON_C_TO_STRING_PLAIN),
                            "{\"ok\":1,\"drift\":2,\"changed\":0,\"failed\":0,\"skipped\":1,\"conflict\":0,\"restored\":0}");
        assert_string_equal(json_object_to_json_string_ext(json_object_object_get(j, "messages"), JSON_C_TO_STRING_PLAIN),
                            "[\"change set 3 applied\"]");
        assert_false(json_object_object_get_ex(j, "errors", NULL));
        assert_true(json_object_object_get_ex(j, "exit", &v));
        assert_int_equal(json_object_get_int(v), 2);

        json_object_put(j);
        captured_done(&c);
        report_free(&rep);
}

static void test_json_errors_and_extra(void **state _unused_) {
        struct report rep = { .command = "validate", .exit = EXIT_CANNOT };
        struct captured c;
        struct json_object *j, *v;

        report_error(&rep, "%s:%u:%u: medic: schema version 2 is not supported", "p.yaml", 1u, 8u);
        report_error(&rep, "policy is invalid: nothing was changed");
        rep.extra = json_object_new_object();
        json_object_object_add(rep.extra, "normalised", json_object_new_string("x"));

        c = print_captured(&rep, true, 0);
        j = parse_one_document(c.out);
        /* Errors are in the document, and said on stderr too, never on stdout outside it. */
        assert_string_equal(json_object_to_json_string_ext(json_object_object_get(j, "errors"), JSON_C_TO_STRING_PLAIN),
                            "[\"p.yaml:1:8: medic: schema version 2 is not supported\","
                            "\"policy is invalid: nothing was changed\"]");
        assert_string_equal(c.err, "medic: p.yaml:1:8: medic: schema version 2 is not supported\n"
                                   "medic: policy is invalid: nothing was changed\n");
        /* No policy loaded: no "policy" key; command-specific keys are merged in. */
        assert_false(json_object_object_get_ex(j, "policy", NULL));
        assert_true(json_object_object_get_ex(j, "normalised", &v));
        assert_string_equal(json_object_get_string(v), "x");
        assert_int_equal(json_object_array_length(json_object_object_get(j, "items")), 0);
        assert_int_equal(json_object_get_int(json_object_object_get(j, "exit")), 1);
        json_object_put(j);
        captured_done(&c);
        report_free(&rep);
}

static void test_json_change_id(void **state _unused_) {
        struct report rep = { .command = "apply", .change = 12, .dry_run = true };
        struct captured c = print_captured(&rep, true, 0);
        struct json_object *j = parse_one_document(c.out);

        assert_int_equal(json_object_get_int(json_object_object_get(j, "change")), 12);
        assert_true(json_object_get_boolean(json_object_object_get(j, "dry_run")));
        json_object_put(j);
        captured_done(&c);
        report_free(&rep);
}

/* ---- the human table ---- */

#define ROW_DRIFT_LINE "keepalive   net.ipv4.tcp_keepalive_time   7200        → 600         drift\n"
#define ROW_OK_LINE    "keepalive   net.ipv4.tcp_keepalive_intvl  60          → 60          ok\n"
#define ROW_AUDIT_LINE "port range  net.ipv4.ip_local_port_range  32768 60999 → 1024 65000  drift (audit only)\n"

static void test_table(void **state _unused_) {
        struct report rep;
        struct captured c;

        build_report(&rep, false);
        /* Not a terminal: no colour. Columns as wide as their widest cell; notes under rows
         * that are not ok; messages after the table. */
        c = print_captured(&rep, false, 0);
        assert_string_equal(c.out, ROW_DRIFT_LINE
                                   "    note: runtime-only fix: no sysctl.d file sets it\n"
                                   ROW_OK_LINE
                                   ROW_AUDIT_LINE
                                   "change set 3 applied\n");
        assert_string_equal(c.err, "");
        assert_null(strchr(c.out, '\033'));
        captured_done(&c);

        /* -q: only what is off, no notes, no messages. */
        c = print_captured(&rep, false, -1);
        assert_string_equal(c.out, ROW_DRIFT_LINE ROW_AUDIT_LINE);
        captured_done(&c);

        /* -v: notes of ok rows too. */
        c = print_captured(&rep, false, 1);
        assert_string_equal(c.out, ROW_DRIFT_LINE
                                   "    note: runtime-only fix: no sysctl.d file sets it\n"
                                   ROW_OK_LINE
                                   "    note: a note on an ok row\n"
                                   ROW_AUDIT_LINE
                                   "change set 3 applied\n");
        captured_done(&c);
        report_free(&rep);
}

static void test_table_skipped_row(void **state _unused_) {
        struct report rep;
        struct captured c;
        char *skip_line, *drift_line;
        bool aligned;

        build_report(&rep, true);
        c = print_captured(&rep, false, -1);
        /* -q hides skipped rows. */
        assert_string_equal(c.out, ROW_DRIFT_LINE ROW_AUDIT_LINE);
        captured_done(&c);

        c = print_captured(&rep, false, 0);
        drift_line = c.out;
        skip_line = strstr(c.out, "etcd I/O");
        assert_non_null(skip_line);
        assert_true(startswith(skip_line, "etcd I/O    target etcd                   -"));
        assert_non_null(strstr(skip_line, "skipped: etcd: no process found by comm etcd\n"));
        /* A missing current value prints as "-", in the same column layout as the others. */
        aligned = strstr(skip_line, "→") - skip_line == strstr(drift_line, "→") - drift_line;
        captured_done(&c);
        report_free(&rep);
        if (!aligned) {
                /* Regression test for a fixed bug (the table's padding of a row without a current
                 * value): such a row prints "-" but pads as if it printed nothing
                 * (utf8_width(NULL) == 0), so its "→" and everything after it sit one column right
                 * of the other rows. Fix: measure r->current ? r->current : "-" (here and when
                 * computing the column's width). */
                fail();
        }
}

static void test_table_text_lines(void **state _unused_) {
        struct report rep = { .command = "history" };
        struct captured c;

        report_text(&rep, "%-4s %-8s %s", "ID", "STATE", "TIME");
        report_text(&rep, "%-4u %-8s %s", 1u, "applied", "2026-11-23T18:21:14Z");
        report_error(&rep, "journal: damaged");
        c = print_captured(&rep, false, 0);
        assert_string_equal(c.out, "ID   STATE    TIME\n1    applied  2026-11-23T18:21:14Z\n");
        assert_string_equal(c.err, "medic: journal: damaged\n");
        captured_done(&c);
        report_free(&rep);
        assert_null(rep.text);
        assert_null(rep.errors);
}

/* ---- YAML for `medic validate` ---- */

static char *yaml_of(struct json_object *j) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        json_print_yaml(f, j, 0);
        fclose(f);
        return buf;
}

static void test_yaml_output(void **state _unused_) {
        struct json_object *j = json_tokener_parse(
                "{\"medic\":1,\"name\":\"etcd\",\"targets\":{},\"list\":[],"
                "\"actions\":[{\"name\":\"a\",\"mode\":\"enforce\",\"sysctl\":{\"k.x\":\"600\"}},"
                "{\"name\":\"yes\",\"io-priority\":{\"target\":\"etcd\",\"level\":0}}],"
                "\"ports\":[2379,2380],\"quoted\":[\"\",\"a: b\",\"#x\",\"x #y\",\"on\",\" lead\"]}");
        char *y = yaml_of(j);

        assert_string_equal(y, "medic: 1\n"
                               "name: etcd\n"
                               "targets: {}\n"
                               "list: []\n"
                               "actions:\n"
                               "  - name: a\n"
                               "    mode: enforce\n"
                               "    sysctl:\n"
                               "      k.x: 600\n"
                               "  - name: \"yes\"\n"
                               "    io-priority:\n"
                               "      target: etcd\n"
                               "      level: 0\n"
                               "ports:\n"
                               "  - 2379\n"
                               "  - 2380\n"
                               "quoted:\n"
                               "  - \"\"\n"
                               "  - \"a: b\"\n"
                               "  - \"#x\"\n"
                               "  - \"x #y\"\n"
                               "  - \"on\"\n"
                               "  - \" lead\"\n");
        free(y);
        json_object_put(j);
}

/* What validate prints is itself a policy that loads to the same thing. */
static void test_validate_output_reloads(void **state _unused_) {
        char *path = data_path("policies/good/full.yaml");
        char *again = xasprintf("%s/full-normalised.yaml", tmpdir), *y;
        struct policy *p = NULL, *q = NULL;
        struct json_object *a = NULL, *b = NULL;
        struct perr err = { 0 };

        assert_int_equal(policy_load(path, &p, &err), 0);
        assert_int_equal(policy_to_json(p, &a), 0);
        y = yaml_of(a);
        assert_int_equal(write_file_atomic(again, y, strlen(y), 0600), 0);
        assert_int_equal(policy_load(again, &q, &err), 0);
        assert_int_equal(err.n, 0);
        assert_int_equal(policy_to_json(q, &b), 0);
        if (!json_object_equal(a, b))
                fail_msg("%s\n!=\n%s", json_object_to_json_string(a), json_object_to_json_string(b));
        json_object_put(a);
        json_object_put(b);
        policy_free(p);
        policy_free(q);
        free(y);
        free(again);
        free(path);
}

static void test_yaml_quoting_round_trip(void **state _unused_) {
        /* Strings a policy may hold (action names, descriptions, sysctl values) that YAML
         * reads differently when written plain. */
        static const char *const strings[] = {
                "line one\nline two", "- dash", "? question", "trailing:", "tab\there", "a\tb",
                "%percent", "@at", "`tick", "'single", "\"double", "[flow", "{flow", "*star", "&amp",
                "!bang", "|pipe", ">fold", "x: y", "ends with space ",
        };
        struct json_object *j = json_object_new_object();
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        size_t same = 0;
        char *y;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                char key[16];
                snprintf(key, sizeof key, "k%zu", i);
                json_object_object_add(j, key, json_object_new_string(strings[i]));
        }
        y = yaml_of(j);
        if (ydoc_load_string(y, strlen(y), "validate-output", &d, &err) == 0 && err.n == 0 && d->root &&
            d->root->type == YNODE_MAP)
                for (size_t i = 0; i < ELEMENTSOF(strings) && i < d->root->n; i++)
                        if (d->root->vals[i]->type == YNODE_SCALAR && streq(d->root->vals[i]->value, strings[i]))
                                same++;
        if (same != ELEMENTSOF(strings))
                print_message("validate output that does not read back:\n%s\n", y);
        perr_done(&err);
        ydoc_free(d);
        free(y);
        json_object_put(j);
        if (same != ELEMENTSOF(strings)) {
                /* Regression test for a fixed bug (needs_quotes() in agent/output.c: when YAML
                 * output may write a string plain): a string with a newline or a tab, or one
                 * starting with "- " or "? ", or ending with ':', is written plain, so `medic
                 * validate` prints YAML that does not parse or reads back as another value (a
                 * description written with "|" comes out as broken YAML). Fix: write a string
                 * plain only when it matches a conservative safe set (printable, no leading
                 * indicator, no ": "/" #", no trailing ':' or blank) and JSON-quote everything
                 * else — a JSON string is a valid YAML scalar. */
                fail();
        }
}

/* A note that several items of one action share (Go's own keepalive, for three keepalive
 * sysctls) is said once per action in the table; another action says it again; --json
 * keeps it on every item. */
static size_t count(const char *hay, const char *needle) {
        size_t n = 0;
        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static void test_table_shared_note_once_per_action(void **state _unused_) {
        static const char *const actions[] = { "keepalive", "keepalive", "other" };
        struct report rep = { .command = "audit" };
        struct captured c;
        struct json_object *j, *items;

        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                struct row *r = report_add_row(&rep);
                r->action = xstrdup(actions[i]);
                r->kind = xstrdup("sysctl");
                r->object = xasprintf("net.x%zu", i);
                r->status = ROW_DRIFT;
                strv_push(&r->notes, xstrdup("shared note"));
                strv_push(&r->notes, xasprintf("own note %zu", i));
        }
        c = print_captured(&rep, false, 0);
        assert_int_equal(count(c.out, "note: shared note\n"), 2);
        assert_int_equal(count(c.out, "note: own note"), 3);
        captured_done(&c);

        c = print_captured(&rep, true, 0);
        j = parse_one_document(c.out);
        assert_non_null(j);
        assert_true(json_object_object_get_ex(j, "items", &items));
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                struct json_object *notes = NULL;
                json_object_object_get_ex(json_object_array_get_idx(items, i), "notes", &notes);
                assert_int_equal(json_object_array_length(notes), 2);
        }
        json_object_put(j);
        captured_done(&c);
        report_free(&rep);
}

/* A shared note on an ok row (not shown without -v) is still said on the drifting row of
 * the same action after it: the table says a note once, it does not hide it. */
static void test_table_shared_note_after_hidden_ok_row(void **state _unused_) {
        static const enum row_status status[] = { ROW_OK, ROW_DRIFT };
        struct report rep = { .command = "audit" };
        struct captured c;

        for (size_t i = 0; i < ELEMENTSOF(status); i++) {
                struct row *r = report_add_row(&rep);
                r->action = xstrdup("keepalive");
                r->kind = xstrdup("sysctl");
                r->object = xasprintf("net.x%zu", i);
                r->status = status[i];
                strv_push(&r->notes, xstrdup("shared note"));
        }
        c = print_captured(&rep, false, 0);
        assert_int_equal(count(c.out, "note: shared note\n"), 1);
        assert_non_null(strstr(c.out, "drift\n    note: shared note\n"));
        captured_done(&c);
        c = print_captured(&rep, false, 1);
        assert_int_equal(count(c.out, "note: shared note\n"), 1);
        assert_non_null(strstr(c.out, "ok\n    note: shared note\n"));
        captured_done(&c);
        report_free(&rep);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_row_status_names),
                cmocka_unit_test(test_report_count_and_free),
                cmocka_unit_test(test_json_document),
                cmocka_unit_test(test_json_errors_and_extra),
                cmocka_unit_test(test_json_change_id),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_table_skipped_row),
                cmocka_unit_test(test_table_shared_note_once_per_action),
                cmocka_unit_test(test_table_shared_note_after_hidden_ok_row),
                cmocka_unit_test(test_table_text_lines),
                cmocka_unit_test(test_yaml_output),
                cmocka_unit_test(test_validate_output_reloads),
                cmocka_unit_test(test_yaml_quoting_round_trip),
        };
        return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
