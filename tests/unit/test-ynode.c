/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/ynode.c: the YAML tree that remembers where every node was written. Every policy
 * error names FILE:LINE:COLUMN from these positions, so they are pinned here, 1-based. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <ftw.h>
#include <string.h>
#include <sys/stat.h>

#include "../../agent/ynode.h"

static struct ydoc *load_ok(const char *text) {
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        int r = ydoc_load_string(text, strlen(text), "t.yaml", &d, &err);

        for (size_t i = 0; i < err.n; i++)
                print_error("unexpected: %s\n", err.msgs[i]);
        assert_int_equal(err.n, 0);
        assert_int_equal(r, 0);
        assert_non_null(d);
        return d;
}

/* Loads text that must fail, and checks the one error message in full. */
static void load_fails(const char *text, const char *want) {
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        int r = ydoc_load_string(text, strlen(text), "t.yaml", &d, &err);

        assert_int_equal(r, -EINVAL);
        assert_null(d);
        assert_int_equal(err.n, 1);
        assert_string_equal(err.msgs[0], want);
        perr_done(&err);
}

static void assert_pos(const struct ynode *n, enum ynode_type t, unsigned line, unsigned col) {
        assert_non_null(n);
        assert_int_equal(n->type, t);
        assert_int_equal(n->line, line);
        assert_int_equal(n->col, col);
        assert_string_equal(n->file, "t.yaml");
}

static void assert_scalar(const struct ynode *n, const char *value, bool plain, unsigned line, unsigned col) {
        assert_pos(n, YNODE_SCALAR, line, col);
        assert_string_equal(n->value, value);
        assert_int_equal(n->plain, plain);
}

static void test_positions_nested(void **state _unused_) {
        static const char text[] =
                "top:\n"                          /* 1 */
                "  inner: 600\n"                  /* 2 */
                "  list:\n"                       /* 3 */
                "    - first\n"                   /* 4 */
                "    - {k: \"q\", j: 'r'}\n"      /* 5 */
                "    -   - deep\n"                /* 6 */
                "flow: [1, two]\n"                /* 7 */
                "# a comment\n"                   /* 8 */
                "last:    spaced\n";              /* 9 */
        struct ydoc *d = load_ok(text);
        const struct ynode *root = d->root, *top, *list, *fm, *inner_seq, *flow;

        assert_string_equal(d->file, "t.yaml");
        assert_pos(root, YNODE_MAP, 1, 1);
        assert_int_equal(root->n, 3);
        assert_scalar(root->keys[0], "top", true, 1, 1);
        assert_scalar(root->keys[1], "flow", true, 7, 1);
        assert_scalar(root->keys[2], "last", true, 9, 1);

        /* A block mapping starts at its first key. */
        top = ynode_get(root, "top");
        assert_pos(top, YNODE_MAP, 2, 3);
        assert_scalar(top->keys[0], "inner", true, 2, 3);
        assert_scalar(ynode_get(top, "inner"), "600", true, 2, 10);

        /* A block sequence starts at its first '-'; the entries after "- ". */
        list = ynode_get(top, "list");
        assert_pos(list, YNODE_SEQ, 4, 5);
        assert_int_equal(list->n, 3);
        assert_null(list->keys);
        assert_scalar(list->vals[0], "first", true, 4, 7);

        /* A flow mapping starts at its '{'; quoted scalars at their opening quote. */
        fm = list->vals[1];
        assert_pos(fm, YNODE_MAP, 5, 7);
        assert_scalar(fm->keys[0], "k", true, 5, 8);
        assert_scalar(ynode_get(fm, "k"), "q", false, 5, 11);
        assert_scalar(fm->keys[1], "j", true, 5, 16);
        assert_scalar(ynode_get(fm, "j"), "r", false, 5, 19);

        inner_seq = list->vals[2];
        assert_pos(inner_seq, YNODE_SEQ, 6, 9);
        assert_scalar(inner_seq->vals[0], "deep", true, 6, 11);

        flow = ynode_get(root, "flow");
        assert_pos(flow, YNODE_SEQ, 7, 7);
        assert_scalar(flow->vals[0], "1", true, 7, 8);
        assert_scalar(flow->vals[1], "two", true, 7, 11);

        assert_scalar(ynode_get(root, "last"), "spaced", true, 9, 10);
        ydoc_free(d);
}

static void test_plain_and_quoted(void **state _unused_) {
        static const char text[] =
                "a: yes\n"
                "b: \"yes\"\n"
                "c: 'yes'\n"
                "d: |\n"
                "  block\n"
                "e:\n"
                "f: \"\"\n"
                "g: \"tab\\there\"\n";
        struct ydoc *d = load_ok(text);
        const struct ynode *r = d->root;

        assert_scalar(ynode_get(r, "a"), "yes", true, 1, 4);
        assert_scalar(ynode_get(r, "b"), "yes", false, 2, 4);
        assert_scalar(ynode_get(r, "c"), "yes", false, 3, 4);
        assert_scalar(ynode_get(r, "d"), "block\n", false, 4, 4);
        /* A key without a value is an empty plain scalar, not a missing node. */
        assert_int_equal(ynode_get(r, "e")->type, YNODE_SCALAR);
        assert_string_equal(ynode_get(r, "e")->value, "");
        assert_true(ynode_get(r, "e")->plain);
        assert_scalar(ynode_get(r, "f"), "", false, 7, 4);
        assert_scalar(ynode_get(r, "g"), "tab\there", false, 8, 4);
        ydoc_free(d);
}

static void test_ynode_get(void **state _unused_) {
        struct ydoc *d = load_ok("m: {a: 1}\ns: [a]\nv: a\n");
        const struct ynode *r = d->root;

        assert_non_null(ynode_get(r, "m"));
        assert_null(ynode_get(r, "missing"));
        assert_null(ynode_get(NULL, "m"));
        /* Only mappings have keys. */
        assert_null(ynode_get(ynode_get(r, "s"), "a"));
        assert_null(ynode_get(ynode_get(r, "v"), "a"));
        assert_string_equal(ynode_type_name(YNODE_SCALAR), "a scalar");
        assert_string_equal(ynode_type_name(YNODE_MAP), "a mapping");
        assert_string_equal(ynode_type_name(YNODE_SEQ), "a list");
        ydoc_free(d);
}

static void test_empty_documents(void **state _unused_) {
        static const char *const empty[] = { "", "\n", "# only a comment\n", "\n\n# two\n\n" };
        struct ydoc *d;

        for (size_t i = 0; i < ELEMENTSOF(empty); i++) {
                d = load_ok(empty[i]);
                assert_null(d->root);
                ydoc_free(d);
        }
        /* An explicit document marker makes a document whose root is YAML's null: an empty
         * plain scalar, positioned after the marker. */
        d = load_ok("---\n");
        assert_scalar(d->root, "", true, 2, 1);
        ydoc_free(d);
}

static void test_ynode_uint(void **state _unused_) {
        struct ydoc *d = load_ok("ok: 600\nzero: 0\nquoted: \"600\"\nword: many\nbig: 8\n"
                                 "neg: -1\nmap: {a: 1}\nhuge: 99999999999999999999999\nfloat: 1.5\n");
        const struct ynode *r = d->root;
        struct perr err = { 0 };
        unsigned long long v = 42;

        assert_int_equal(ynode_uint(ynode_get(r, "ok"), "x", 0, 1000, &v, &err), 0);
        assert_int_equal(v, 600);
        assert_int_equal(ynode_uint(ynode_get(r, "zero"), "x", 0, 7, &v, &err), 0);
        assert_int_equal(v, 0);
        assert_int_equal(err.n, 0);

        v = 42;
        assert_int_equal(ynode_uint(ynode_get(r, "quoted"), "port", 1, 65535, &v, &err), -EINVAL);
        assert_int_equal(ynode_uint(ynode_get(r, "word"), "port", 1, 65535, &v, &err), -EINVAL);
        assert_int_equal(ynode_uint(ynode_get(r, "big"), "io-priority.level", 0, 7, &v, &err), -ERANGE);
        assert_int_equal(ynode_uint(ynode_get(r, "ok"), "port", 1000, 2000, &v, &err), -ERANGE);
        assert_int_equal(ynode_uint(ynode_get(r, "neg"), "port", 1, 65535, &v, &err), -EINVAL);
        assert_int_equal(ynode_uint(ynode_get(r, "map"), "port", 1, 65535, &v, &err), -EINVAL);
        assert_int_equal(ynode_uint(ynode_get(r, "float"), "port", 1, 65535, &v, &err), -EINVAL);
        assert_int_equal(v, 42);
        assert_int_equal(err.n, 7);
        assert_string_equal(err.msgs[0], "t.yaml:3:9: port: '600' is not a number");
        assert_string_equal(err.msgs[1], "t.yaml:4:7: port: 'many' is not a number");
        assert_string_equal(err.msgs[2], "t.yaml:5:6: io-priority.level: 8 is out of range 0..7");
        assert_string_equal(err.msgs[3], "t.yaml:1:5: port: 600 is out of range 1000..2000");
        assert_string_equal(err.msgs[4], "t.yaml:6:6: port: '-1' is not a number");
        assert_string_equal(err.msgs[5], "t.yaml:7:6: port: expected a scalar, got a mapping");
        assert_string_equal(err.msgs[6], "t.yaml:9:8: port: '1.5' is not a number");
        perr_done(&err);
        assert_int_equal(err.n, 0);
        assert_null(err.msgs);
        ydoc_free(d);
}

static void test_ynode_uint_overflow_message(void **state _unused_) {
        struct ydoc *d = load_ok("huge: 99999999999999999999999\n");
        struct perr err = { 0 };
        unsigned long long v;
        int r = ynode_uint(ynode_get(d->root, "huge"), "medic", 0, UINT32_MAX, &v, &err);
        bool fixed = r == -ERANGE && err.n == 1 &&
                     streq(err.msgs[0], "t.yaml:1:7: medic: 99999999999999999999999 is out of range 0..4294967295");

        assert_true(r < 0);
        assert_int_equal(err.n, 1);
        perr_done(&err);
        ydoc_free(d);
        if (!fixed) {
                /* Regression test for a fixed bug (ynode_uint()'s message for a number too big for
                 * 64 bits): parse_uint's -ERANGE is reported as "'99999999999999999999999' is not
                 * a number". It is a number, and out of range: report it with the "is out of range
                 * MIN..MAX" message. */
                fail();
        }
}

static void test_ynode_bool(void **state _unused_) {
        struct ydoc *d = load_ok("[true, on, yes, false, off, no, \"true\", 'no', maybe, True, 1, {a: b}]\n");
        const struct ynode *s = d->root;
        struct perr err = { 0 };
        bool b;

        for (size_t i = 0; i < 3; i++) {
                b = false;
                assert_int_equal(ynode_bool(s->vals[i], "x", &b, &err), 0);
                assert_true(b);
        }
        for (size_t i = 3; i < 6; i++) {
                b = true;
                assert_int_equal(ynode_bool(s->vals[i], "x", &b, &err), 0);
                assert_false(b);
        }
        assert_int_equal(err.n, 0);
        /* Quoted words are strings, not booleans; only lower-case words count. */
        b = true;
        for (size_t i = 6; i < 12; i++)
                assert_int_equal(ynode_bool(s->vals[i], "rx-checksumming", &b, &err), -EINVAL);
        assert_true(b);
        assert_int_equal(err.n, 6);
        assert_string_equal(err.msgs[0], "t.yaml:1:33: rx-checksumming: expected true or false, got 'true'");
        assert_string_equal(err.msgs[1], "t.yaml:1:41: rx-checksumming: expected true or false, got 'no'");
        assert_string_equal(err.msgs[2], "t.yaml:1:47: rx-checksumming: expected true or false, got 'maybe'");
        assert_string_equal(err.msgs[3], "t.yaml:1:54: rx-checksumming: expected true or false, got 'True'");
        assert_string_equal(err.msgs[4], "t.yaml:1:60: rx-checksumming: expected true or false, got '1'");
        assert_string_equal(err.msgs[5], "t.yaml:1:63: rx-checksumming: expected a scalar, got a mapping");
        perr_done(&err);
        ydoc_free(d);
}

static void test_ynode_string_and_expect(void **state _unused_) {
        struct ydoc *d = load_ok("s: text\ne: \"\"\nl: [a]\n");
        const struct ynode *r = d->root;
        struct perr err = { 0 };
        const char *s = NULL;

        assert_int_equal(ynode_string(ynode_get(r, "s"), "name", &s, &err), 0);
        assert_string_equal(s, "text");
        s = NULL;
        assert_int_equal(ynode_string(ynode_get(r, "e"), "name", &s, &err), -EINVAL);
        assert_int_equal(ynode_string(ynode_get(r, "l"), "name", &s, &err), -EINVAL);
        assert_null(s);
        assert_int_equal(ynode_expect(r, YNODE_MAP, "policy", &err), 0);
        assert_int_equal(ynode_expect(ynode_get(r, "l"), YNODE_MAP, "targets", &err), -EINVAL);
        assert_int_equal(err.n, 3);
        assert_string_equal(err.msgs[0], "t.yaml:2:4: name: must not be empty");
        assert_string_equal(err.msgs[1], "t.yaml:3:4: name: expected a scalar, got a list");
        assert_string_equal(err.msgs[2], "t.yaml:3:4: targets: expected a mapping, got a list");
        perr_done(&err);
        ydoc_free(d);
}

static void test_ynode_check_keys(void **state _unused_) {
        static const char *const allowed[] = { "target", "class", "level", NULL };
        static const char *const none[] = { NULL };
        struct ydoc *d = load_ok("io:\n  target: etcd\n  klass: idle\n  level: 0\n  extra: 1\n");
        const struct ynode *io = ynode_get(d->root, "io");
        struct perr err = { 0 };

        assert_int_equal(ynode_check_keys(io, "io-priority", allowed, &err), -EINVAL);
        assert_int_equal(err.n, 2);
        assert_string_equal(err.msgs[0],
                            "t.yaml:3:3: io-priority: unknown key 'klass' (expected target, class, level)");
        assert_string_equal(err.msgs[1],
                            "t.yaml:5:3: io-priority: unknown key 'extra' (expected target, class, level)");
        perr_done(&err);

        assert_int_equal(ynode_check_keys(d->root, "policy", none, &err), -EINVAL);
        assert_int_equal(err.n, 1);
        assert_string_equal(err.msgs[0], "t.yaml:1:1: policy: unknown key 'io' (expected nothing)");
        perr_done(&err);

        static const char *const all[] = { "target", "klass", "level", "extra", NULL };
        assert_int_equal(ynode_check_keys(io, "io-priority", all, &err), 0);
        assert_int_equal(err.n, 0);
        ydoc_free(d);
}

static void test_perr(void **state _unused_) {
        struct perr err = { 0 };

        perr_add(&err, NULL, "no position: %d", 7);
        perr_add_pos(&err, "dir/x.yaml", 12, 7, "io-priority.level: %s is out of range 0..7", "9");
        perr_add_pos(&err, NULL, 1, 1, "x");
        /* Line 0: a whole-file problem, no position to give. */
        perr_add_pos(&err, "policy.d", 0, 0, "policy directory has no *.yaml files");
        assert_int_equal(err.n, 4);
        assert_string_equal(err.msgs[0], "<policy>: no position: 7");
        assert_string_equal(err.msgs[1], "dir/x.yaml:12:7: io-priority.level: 9 is out of range 0..7");
        assert_string_equal(err.msgs[2], "<policy>:1:1: x");
        assert_string_equal(err.msgs[3], "policy.d: policy directory has no *.yaml files");
        perr_done(&err);
        perr_done(&err); /* twice is fine */
}

static void test_syntax_errors(void **state _unused_) {
        load_fails("medic: 1\nactions: [\n",
                   "t.yaml:3:1: YAML syntax: did not find expected node content while parsing a flow node");
        load_fails("medic: 1\n  name: x\n", "t.yaml:2:7: YAML syntax: mapping values are not allowed in this context");
        load_fails("medic: 1\nname: \"unterminated\n",
                   "t.yaml:3:1: YAML syntax: found unexpected end of stream while scanning a quoted scalar");
        /* A syntax error deep inside nested nodes is reported once, with its position. */
        load_fails("a:\n  b:\n    - c\n    - {d: [1, 2}\n",
                   "t.yaml:4:16: YAML syntax: did not find expected ',' or ']' while parsing a flow sequence");
        load_fails("a: b\n\tc: d\n",
                   "t.yaml:2:1: YAML syntax: found a tab character that violates indentation while scanning a plain scalar");
}

static void test_anchors_aliases_refused(void **state _unused_) {
        load_fails("a: &x 1\n", "t.yaml:1:4: YAML anchors are not allowed in a policy");
        load_fails("a: &m {k: v}\n", "t.yaml:1:4: YAML anchors are not allowed in a policy");
        load_fails("a:\n  - &s [1]\n", "t.yaml:2:5: YAML anchors are not allowed in a policy");
        load_fails("a: 1\nb: *x\n", "t.yaml:2:4: YAML aliases are not allowed in a policy: write the value out");
        load_fails("*x\n", "t.yaml:1:1: YAML aliases are not allowed in a policy: write the value out");
}

static void test_tags_refused(void **state _unused_) {
        /* ynode.h promises that tags are refused like anchors: "!!str 1" is the string "1",
         * which medic must not read as the number 1. */
        static const char *const tagged[] = { "medic: !!str 1\n", "a: !custom {k: v}\n", "a: !!seq [1]\n" };
        size_t refused = 0;

        for (size_t i = 0; i < ELEMENTSOF(tagged); i++) {
                struct perr err = { 0 };
                struct ydoc *d = NULL;
                int r = ydoc_load_string(tagged[i], strlen(tagged[i]), "t.yaml", &d, &err);
                if (r < 0 && err.n == 1)
                        refused++;
                ydoc_free(d);
                perr_done(&err);
        }
        if (refused != ELEMENTSOF(tagged)) {
                /* Regression test for a fixed bug (parse_node() and YAML tags): parse_node checks
                 * ev->data.scalar.anchor and the mapping/sequence anchors but never the tags
                 * (ev->data.scalar.tag, mapping_start.tag, sequence_start.tag), so "medic: !!str
                 * 1" validates as schema 1 although `medic: "1"` is refused. Refuse a tag like an
                 * anchor: "YAML tags are not allowed in a policy". */
                fail();
        }
}

static void test_duplicate_key(void **state _unused_) {
        static const char text[] = "a: 1\nb: 2\na: 3\n";
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        int r = ydoc_load_string(text, strlen(text), "t.yaml", &d, &err);

        /* The document loads (so that all errors can be collected), with the error in err:
         * callers must check err.n, not only the return value. */
        assert_int_equal(r, 0);
        assert_int_equal(err.n, 1);
        assert_string_equal(err.msgs[0], "t.yaml:3:1: duplicate key 'a' (first at line 1)");
        /* ynode_get finds the first one. */
        assert_string_equal(ynode_get(d->root, "a")->value, "1");
        perr_done(&err);
        ydoc_free(d);
}

static void test_structure_errors(void **state _unused_) {
        load_fails("medic: 1\n---\nmedic: 1\n", "t.yaml:2:1: one YAML document per policy file");
        load_fails("? [a]\n: b\n", "t.yaml:1:3: mapping keys must be plain strings");
        load_fails("a: \"x\\0y\"\n", "t.yaml:1:4: value contains a NUL byte");
}

static void test_nesting_limit(void **state _unused_) {
        char ok[2 * 65 + 1], deep[2 * 66 + 1];
        struct ydoc *d;

        /* 64 levels below the root are fine, 65 are not. */
        memset(ok, '[', 65);
        memset(ok + 65, ']', 65);
        ok[130] = 0;
        d = load_ok(ok);
        ydoc_free(d);

        memset(deep, '[', 66);
        memset(deep + 66, ']', 66);
        deep[132] = 0;
        load_fails(deep, "t.yaml:1:66: nesting is too deep");
}

static void test_ydoc_load_file(void **state) {
        const char *dir = *state;
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        char *path;
        FILE *f;

        path = xasprintf("%s/p.yaml", dir);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("medic: 1\nname: x\n", f);
        fclose(f);

        /* Errors and nodes carry the display name, not the path that was opened. */
        assert_int_equal(ydoc_load(path, "policy.d/p.yaml", &d, &err), 0);
        assert_string_equal(d->file, "policy.d/p.yaml");
        assert_string_equal(d->root->keys[1]->file, "policy.d/p.yaml");
        assert_int_equal(d->root->keys[1]->line, 2);
        ydoc_free(d);
        d = NULL;

        free(path);
        path = xasprintf("%s/missing.yaml", dir);
        assert_int_equal(ydoc_load(path, "missing.yaml", &d, &err), -ENOENT);
        assert_null(d);
        assert_int_equal(err.n, 1);
        assert_string_equal(err.msgs[0], "missing.yaml: cannot read: No such file or directory");
        perr_done(&err);
        free(path);
}

/* The destructors take NULL, so a cleanup variable that was never set costs nothing; one
 * that was set is freed when it goes out of scope (the ASan and valgrind runs of this test
 * fail on the leak otherwise). */
static void test_freep_null(void **state _unused_) {
        struct ydoc *none = NULL;

        ydoc_freep(&none);
        ydoc_free(NULL);
        {
                _cleanup_(ydoc_freep) struct ydoc *d = load_ok("a: 1\n");
                assert_string_equal(ynode_get(d->root, "a")->value, "1");
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_positions_nested),
                cmocka_unit_test(test_plain_and_quoted),
                cmocka_unit_test(test_ynode_get),
                cmocka_unit_test(test_empty_documents),
                cmocka_unit_test(test_ynode_uint),
                cmocka_unit_test(test_ynode_uint_overflow_message),
                cmocka_unit_test(test_ynode_bool),
                cmocka_unit_test(test_ynode_string_and_expect),
                cmocka_unit_test(test_ynode_check_keys),
                cmocka_unit_test(test_perr),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_anchors_aliases_refused),
                cmocka_unit_test(test_tags_refused),
                cmocka_unit_test(test_duplicate_key),
                cmocka_unit_test(test_structure_errors),
                cmocka_unit_test(test_nesting_limit),
                cmocka_unit_test_setup_teardown(test_ydoc_load_file, setup_tmpdir, teardown_tmpdir),
                cmocka_unit_test(test_freep_null),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
