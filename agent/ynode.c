/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>
#include <yaml.h>

#include "ynode.h"

static void perr_addv(struct perr *e, const char *file, unsigned line, unsigned col,
                      const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = xvasprintf(fmt, ap);

        e->msgs = xrealloc(e->msgs, (e->n + 1) * sizeof(char *));
        if (line == 0) /* a whole-file problem: no position to give */
                e->msgs[e->n++] = xasprintf("%s: %s", file ? file : "<policy>", msg);
        else
                e->msgs[e->n++] = xasprintf("%s:%u:%u: %s", file ? file : "<policy>", line, col, msg);
}

void perr_add(struct perr *e, const struct ynode *at, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        perr_addv(e, at ? at->file : NULL, at ? at->line : 0, at ? at->col : 0, fmt, ap);
        va_end(ap);
}

void perr_add_pos(struct perr *e, const char *file, unsigned line, unsigned col, const char *fmt,
                  ...) {
        va_list ap;
        va_start(ap, fmt);
        perr_addv(e, file, line, col, fmt, ap);
        va_end(ap);
}

void perr_done(struct perr *e) {
        for (size_t i = 0; i < e->n; i++)
                free(e->msgs[i]);
        free(e->msgs);
        e->msgs = NULL;
        e->n = 0;
}

static void ynode_free(struct ynode *n) {
        if (!n)
                return;
        free(n->value);
        for (size_t i = 0; i < n->n; i++) {
                if (n->keys)
                        ynode_free(n->keys[i]);
                ynode_free(n->vals[i]);
        }
        free(n->keys);
        free(n->vals);
        free(n);
}

void ydoc_free(struct ydoc *d) {
        if (!d)
                return;
        ynode_free(d->root);
        free(d->file);
        free(d);
}

static struct ynode *ynode_new(struct ydoc *d, enum ynode_type t, const yaml_mark_t *m) {
        struct ynode *n = xcalloc(1, sizeof(*n));
        n->type = t;
        n->file = d->file;
        n->line = (unsigned) m->line + 1;
        n->col = (unsigned) m->column + 1;
        return n;
}

static void ynode_append(struct ynode *parent, struct ynode *key, struct ynode *val) {
        parent->vals = xrealloc(parent->vals, (parent->n + 1) * sizeof(struct ynode *));
        if (parent->type == YNODE_MAP) {
                parent->keys = xrealloc(parent->keys, (parent->n + 1) * sizeof(struct ynode *));
                parent->keys[parent->n] = key;
        }
        parent->vals[parent->n++] = val;
}

/* Builds one node from the event stream, recursively; depth is bounded so a hostile file
 * cannot exhaust the stack. */
static int parse_node(yaml_parser_t *p, yaml_event_t *ev, struct ydoc *d, unsigned depth,
                      struct ynode **ret, struct perr *err) {
        struct ynode *n = NULL;
        int r = 0;

        if (depth > 64) {
                perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                             (unsigned) ev->start_mark.column + 1, "nesting is too deep");
                return -EINVAL;
        }

        switch (ev->type) {
        case YAML_ALIAS_EVENT:
                perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                             (unsigned) ev->start_mark.column + 1,
                             "YAML aliases are not allowed in a policy: write the value out");
                return -EINVAL;
        case YAML_SCALAR_EVENT:
                if (ev->data.scalar.tag) {
                        /* "!!str 1" would read as the number 1 to a person and not to medic. */
                        perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                                     (unsigned) ev->start_mark.column + 1,
                                     "YAML tags are not allowed in a policy");
                        return -EINVAL;
                }
                if (ev->data.scalar.anchor) {
                        perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                                     (unsigned) ev->start_mark.column + 1,
                                     "YAML anchors are not allowed in a policy");
                        return -EINVAL;
                }
                n = ynode_new(d, YNODE_SCALAR, &ev->start_mark);
                n->value = xstrndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
                n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                if (strlen(n->value) != ev->data.scalar.length) {
                        perr_add(err, n, "value contains a NUL byte");
                        ynode_free(n);
                        return -EINVAL;
                }
                *ret = n;
                return 0;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
                bool map = ev->type == YAML_MAPPING_START_EVENT;
                yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
                const yaml_char_t *anchor = map ? ev->data.mapping_start.anchor
                                                : ev->data.sequence_start.anchor;
                if (anchor) {
                        perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                                     (unsigned) ev->start_mark.column + 1,
                                     "YAML anchors are not allowed in a policy");
                        return -EINVAL;
                }
                if (map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag) {
                        perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                                     (unsigned) ev->start_mark.column + 1,
                                     "YAML tags are not allowed in a policy");
                        return -EINVAL;
                }
                n = ynode_new(d, map ? YNODE_MAP : YNODE_SEQ, &ev->start_mark);
                for (;;) {
                        yaml_event_t e1, e2;
                        struct ynode *k = NULL, *v = NULL;

                        if (!yaml_parser_parse(p, &e1)) {
                                r = -EINVAL;
                                goto fail;
                        }
                        if (e1.type == end) {
                                yaml_event_delete(&e1);
                                break;
                        }
                        r = parse_node(p, &e1, d, depth + 1, map ? &k : &v, err);
                        yaml_event_delete(&e1);
                        if (r < 0)
                                goto fail;
                        if (map) {
                                if (k->type != YNODE_SCALAR) {
                                        perr_add(err, k, "mapping keys must be plain strings");
                                        ynode_free(k);
                                        r = -EINVAL;
                                        goto fail;
                                }
                                if (!yaml_parser_parse(p, &e2)) {
                                        ynode_free(k);
                                        r = -EINVAL;
                                        goto fail;
                                }
                                r = parse_node(p, &e2, d, depth + 1, &v, err);
                                yaml_event_delete(&e2);
                                if (r < 0) {
                                        ynode_free(k);
                                        goto fail;
                                }
                                for (size_t i = 0; i < n->n; i++)
                                        if (streq(n->keys[i]->value, k->value)) {
                                                perr_add(err, k,
                                                         "duplicate key '%s' (first at line %u)",
                                                         k->value, n->keys[i]->line);
                                                break;
                                        }
                        }
                        ynode_append(n, k, v);
                }
                *ret = n;
                return 0;
        }
        default:
                perr_add_pos(err, d->file, (unsigned) ev->start_mark.line + 1,
                             (unsigned) ev->start_mark.column + 1, "unexpected YAML event");
                return -EINVAL;
        }
fail:
        ynode_free(n);
        return r;
}

static int ydoc_parse(yaml_parser_t *p, const char *display, struct ydoc **ret, struct perr *err) {
        struct ydoc *d = xcalloc(1, sizeof(*d));
        yaml_event_t ev;
        int r = 0, docs = 0;

        d->file = xstrdup(display);
        for (;;) {
                if (!yaml_parser_parse(p, &ev)) {
                        perr_add_pos(err, d->file, (unsigned) p->problem_mark.line + 1,
                                     (unsigned) p->problem_mark.column + 1, "YAML syntax: %s%s%s",
                                     p->problem ? p->problem : "error",
                                     p->context ? " " : "", p->context ? p->context : "");
                        r = -EINVAL;
                        break;
                }
                yaml_event_type_t t = ev.type;
                if (t == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                if (t == YAML_DOCUMENT_START_EVENT) {
                        if (++docs > 1) {
                                perr_add_pos(err, d->file, (unsigned) ev.start_mark.line + 1,
                                             (unsigned) ev.start_mark.column + 1,
                                             "one YAML document per policy file");
                                yaml_event_delete(&ev);
                                r = -EINVAL;
                                break;
                        }
                } else if (t == YAML_SCALAR_EVENT || t == YAML_MAPPING_START_EVENT ||
                           t == YAML_SEQUENCE_START_EVENT || t == YAML_ALIAS_EVENT) {
                        r = parse_node(p, &ev, d, 0, &d->root, err);
                        if (r < 0) {
                                /* A parser error inside a nested node has not been reported yet. */
                                if (p->error != YAML_NO_ERROR)
                                        perr_add_pos(err, d->file,
                                                     (unsigned) p->problem_mark.line + 1,
                                                     (unsigned) p->problem_mark.column + 1,
                                                     "YAML syntax: %s%s%s",
                                                     p->problem ? p->problem : "error",
                                                     p->context ? " " : "",
                                                     p->context ? p->context : "");
                                yaml_event_delete(&ev);
                                break;
                        }
                }
                yaml_event_delete(&ev);
        }
        if (r < 0) {
                ydoc_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

int ydoc_load_string(const char *text, size_t len, const char *display, struct ydoc **ret,
                     struct perr *err) {
        yaml_parser_t p;
        int r;

        if (!yaml_parser_initialize(&p))
                return -ENOMEM;
        yaml_parser_set_input_string(&p, (const unsigned char *) text, len);
        r = ydoc_parse(&p, display, ret, err);
        yaml_parser_delete(&p);
        return r;
}

int ydoc_load(const char *path, const char *display, struct ydoc **ret, struct perr *err) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_file(path, &text, &len);
        if (r < 0) {
                perr_add_pos(err, display, 0, 0, "cannot read: %s", strerror(-r));
                return r;
        }
        return ydoc_load_string(text, len, display, ret, err);
}

const char *ynode_type_name(enum ynode_type t) {
        switch (t) {
        case YNODE_SCALAR:
                return "a scalar";
        case YNODE_MAP:
                return "a mapping";
        case YNODE_SEQ:
                return "a list";
        case _YNODE_TYPE_MAX:
                break;
        }
        return "?";
}

const struct ynode *ynode_get(const struct ynode *map, const char *key) {
        if (!map || map->type != YNODE_MAP)
                return NULL;
        for (size_t i = 0; i < map->n; i++)
                if (streq(map->keys[i]->value, key))
                        return map->vals[i];
        return NULL;
}

int ynode_expect(const struct ynode *n, enum ynode_type t, const char *what, struct perr *err) {
        if (n->type == t)
                return 0;
        perr_add(err, n, "%s: expected %s, got %s", what, ynode_type_name(t),
                 ynode_type_name(n->type));
        return -EINVAL;
}

int ynode_string(const struct ynode *n, const char *what, const char **ret, struct perr *err) {
        if (ynode_expect(n, YNODE_SCALAR, what, err) < 0)
                return -EINVAL;
        if (n->value[0] == 0) {
                perr_add(err, n, "%s: must not be empty", what);
                return -EINVAL;
        }
        *ret = n->value;
        return 0;
}

int ynode_uint(const struct ynode *n, const char *what, unsigned long long min,
               unsigned long long max, unsigned long long *ret, struct perr *err) {
        unsigned long long v;
        int r;

        if (ynode_expect(n, YNODE_SCALAR, what, err) < 0)
                return -EINVAL;
        r = parse_uint(n->value, UINT64_MAX, &v);
        if (r == -ERANGE && n->plain) {
                perr_add(err, n, "%s: %s is out of range %llu..%llu", what, n->value, min, max);
                return -ERANGE;
        }
        if (r < 0 || !n->plain) {
                perr_add(err, n, "%s: '%s' is not a number", what, n->value);
                return -EINVAL;
        }
        if (v < min || v > max) {
                perr_add(err, n, "%s: %s is out of range %llu..%llu", what, n->value, min, max);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

int ynode_bool(const struct ynode *n, const char *what, bool *ret, struct perr *err) {
        if (ynode_expect(n, YNODE_SCALAR, what, err) < 0)
                return -EINVAL;
        if (n->plain && (streq(n->value, "true") || streq(n->value, "on") || streq(n->value, "yes"))) {
                *ret = true;
                return 0;
        }
        if (n->plain && (streq(n->value, "false") || streq(n->value, "off") || streq(n->value, "no"))) {
                *ret = false;
                return 0;
        }
        perr_add(err, n, "%s: expected true or false, got '%s'", what, n->value);
        return -EINVAL;
}

int ynode_check_keys(const struct ynode *map, const char *what, const char *const *allowed,
                     struct perr *err) {
        int r = 0;

        for (size_t i = 0; i < map->n; i++) {
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                        if (streq(map->keys[i]->value, *a))
                                ok = true;
                if (!ok) {
                        _cleanup_free_ char *list = NULL;
                        for (const char *const *a = allowed; *a; a++) {
                                char *l = xasprintf("%s%s%s", list ? list : "", list ? ", " : "", *a);
                                free(list);
                                list = l;
                        }
                        perr_add(err, map->keys[i], "%s: unknown key '%s' (expected %s)", what,
                                 map->keys[i]->value, list ? list : "nothing");
                        r = -EINVAL;
                }
        }
        return r;
}
