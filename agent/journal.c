/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "journal.h"

static const char *const set_state_names[_SET_STATE_MAX] = {
        [SET_APPLYING] = "applying",
        [SET_APPLIED] = "applied",
        [SET_FAILED] = "failed",
        [SET_ROLLED_BACK] = "rolled-back",
        [SET_AWAITING_CONFIRM] = "awaiting-confirm",
};

static const char *const set_kind_names[_SET_KIND_MAX] = {
        [SET_KIND_APPLY] = "apply",
        [SET_KIND_ROLLBACK] = "rollback",
        [SET_KIND_REPAIR] = "repair",
};

static const char *const item_state_names[_ITEM_STATE_MAX] = {
        [ITEM_PENDING] = "pending",
        [ITEM_CHANGED] = "changed",
        [ITEM_FAILED] = "failed",
        [ITEM_RESTORED] = "restored",
        [ITEM_CONFLICT] = "conflict",
        [ITEM_SKIPPED] = "skipped",
};

const char *set_state_name(enum set_state s) {
        return s < _SET_STATE_MAX ? set_state_names[s] : "?";
}
const char *set_kind_name(enum set_kind k) {
        return k < _SET_KIND_MAX ? set_kind_names[k] : "?";
}
const char *item_state_name(enum item_state s) {
        return s < _ITEM_STATE_MAX ? item_state_names[s] : "?";
}

static int lookup(const char *const *names, int n, const char *s) {
        for (int i = 0; i < n; i++)
                if (streq(names[i], s))
                        return i;
        return -1;
}

static char *changes_dir(const char *state_dir) {
        return xasprintf("%s/changes", state_dir);
}

int journal_init(const char *state_dir, bool create) {
        _cleanup_free_ char *dir = changes_dir(state_dir);
        struct stat st;

        if (stat(dir, &st) == 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (!create)
                return -ENOENT;
        return mkdir_p(dir, 0700);
}

static int cmp_uint(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;
        return x < y ? -1 : x > y;
}

int journal_list(const char *state_dir, unsigned **ret_ids, size_t *ret_n) {
        _cleanup_free_ char *dir = changes_dir(state_dir);
        _cleanup_free_ unsigned *ids = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!d) {
                if (errno == ENOENT) {
                        *ret_ids = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return -errno;
        }
        while ((de = readdir(d))) {
                unsigned long long id;
                size_t len = strlen(de->d_name);
                if (len <= 5 || !streq(de->d_name + len - 5, ".json"))
                        continue;
                _cleanup_free_ char *num = xstrndup(de->d_name, len - 5);
                /* Only the names medic writes: "07.json" would list a set that
                 * journal_load(7) cannot open. */
                if (num[0] == '0' || parse_uint(num, UINT_MAX, &id) < 0 || id == 0)
                        continue;
                ids = xrealloc(ids, (n + 1) * sizeof(*ids));
                ids[n++] = (unsigned) id;
        }
        closedir(d);
        if (n > 1)
                qsort(ids, n, sizeof(*ids), cmp_uint);
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int journal_next_id(const char *state_dir, unsigned *ret) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n;
        int r = journal_list(state_dir, &ids, &n);
        if (r < 0)
                return r;
        *ret = n ? ids[n - 1] + 1 : 1;
        return 0;
}

struct change_set *change_set_new(enum set_kind kind) {
        struct change_set *cs = xcalloc(1, sizeof(*cs));
        cs->kind = kind;
        cs->state = SET_APPLYING;
        return cs;
}

struct set_item *change_set_add_item(struct change_set *cs, const char *action, const char *kind,
                                     const char *object) {
        struct set_item *it;
        cs->items = xrealloc(cs->items, (cs->n_items + 1) * sizeof(*cs->items));
        it = &cs->items[cs->n_items++];
        *it = (struct set_item) { .action = xstrdup(action), .kind = xstrdup(kind), .object = xstrdup(object) };
        return it;
}

void change_set_free(struct change_set *cs) {
        if (!cs)
                return;
        for (size_t i = 0; i < cs->n_items; i++) {
                struct set_item *it = &cs->items[i];
                free(it->action);
                free(it->kind);
                free(it->object);
                free(it->message);
                json_object_put(it->before);
                json_object_put(it->after);
        }
        free(cs->items);
        free(cs->policy_name);
        free(cs->policy_sha256);
        free(cs->sudo_user);
        free(cs->command);
        free(cs->hostname);
        free(cs->message);
        free(cs);
}

static struct json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

int change_set_to_json(const struct change_set *cs, struct json_object **ret) {
        struct json_object *j = json_object_new_object(), *items = json_object_new_array(), *pol, *user;

        json_object_object_add(j, "id", json_object_new_int64(cs->id));
        json_object_object_add(j, "time", json_object_new_string(cs->time));
        json_object_object_add(j, "kind", json_object_new_string(set_kind_name(cs->kind)));
        json_object_object_add(j, "state", json_object_new_string(set_state_name(cs->state)));
        pol = json_object_new_object();
        json_object_object_add(pol, "name", str_or_null(cs->policy_name));
        json_object_object_add(pol, "sha256", str_or_null(cs->policy_sha256));
        json_object_object_add(j, "policy", pol);
        user = json_object_new_object();
        json_object_object_add(user, "uid", json_object_new_int64(cs->uid));
        json_object_object_add(user, "sudo_user", str_or_null(cs->sudo_user));
        json_object_object_add(j, "user", user);
        json_object_object_add(j, "command", str_or_null(cs->command));
        json_object_object_add(j, "hostname", str_or_null(cs->hostname));
        json_object_object_add(j, "boot_id", json_object_new_string(cs->boot_id));
        if (cs->deadline)
                json_object_object_add(j, "deadline", json_object_new_int64(cs->deadline));
        if (cs->rollback_of)
                json_object_object_add(j, "rollback_of", json_object_new_int64(cs->rollback_of));
        if (cs->rolled_back_by)
                json_object_object_add(j, "rolled_back_by", json_object_new_int64(cs->rolled_back_by));
        if (cs->message)
                json_object_object_add(j, "message", json_object_new_string(cs->message));
        for (size_t i = 0; i < cs->n_items; i++) {
                const struct set_item *it = &cs->items[i];
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "action", json_object_new_string(it->action));
                json_object_object_add(o, "kind", json_object_new_string(it->kind));
                json_object_object_add(o, "object", json_object_new_string(it->object));
                json_object_object_add(o, "before", json_object_get(it->before));
                json_object_object_add(o, "after", json_object_get(it->after));
                json_object_object_add(o, "status", json_object_new_string(item_state_name(it->state)));
                if (it->message)
                        json_object_object_add(o, "message", json_object_new_string(it->message));
                json_object_array_add(items, o);
        }
        json_object_object_add(j, "items", items);
        *ret = j;
        return 0;
}

int change_set_from_json(struct json_object *j, struct change_set **ret, char **ret_why) {
        _cleanup_(change_set_freep) struct change_set *cs = xcalloc(1, sizeof(*cs));
        struct json_object *items, *pol, *user;
        const char *s;
        int64_t v;
        int k;

#define BAD(...)                                                                                   \
        do {                                                                                       \
                *ret_why = xasprintf(__VA_ARGS__);                                                 \
                return -EBADMSG;                                                                   \
        } while (0)

        if (!json_object_is_type(j, json_type_object))
                BAD("not a JSON object");
        if (!json_get_int(j, "id", &v) || v <= 0 || v > UINT_MAX)
                BAD("missing or bad 'id'");
        cs->id = (unsigned) v;
        if (!(s = json_get_str(j, "time")))
                BAD("missing 'time'");
        snprintf(cs->time, sizeof cs->time, "%s", s);
        if (!(s = json_get_str(j, "kind")) || (k = lookup(set_kind_names, _SET_KIND_MAX, s)) < 0)
                BAD("missing or bad 'kind'");
        cs->kind = (enum set_kind) k;
        if (!(s = json_get_str(j, "state")) || (k = lookup(set_state_names, _SET_STATE_MAX, s)) < 0)
                BAD("missing or bad 'state'");
        cs->state = (enum set_state) k;
        if (json_object_object_get_ex(j, "policy", &pol)) {
                if ((s = json_get_str(pol, "name")))
                        cs->policy_name = xstrdup(s);
                if ((s = json_get_str(pol, "sha256")))
                        cs->policy_sha256 = xstrdup(s);
        }
        if (json_object_object_get_ex(j, "user", &user)) {
                if (json_get_int(user, "uid", &v))
                        cs->uid = (uid_t) v;
                if ((s = json_get_str(user, "sudo_user")))
                        cs->sudo_user = xstrdup(s);
        }
        if ((s = json_get_str(j, "command")))
                cs->command = xstrdup(s);
        if ((s = json_get_str(j, "hostname")))
                cs->hostname = xstrdup(s);
        if (!(s = json_get_str(j, "boot_id")))
                BAD("missing 'boot_id'");
        snprintf(cs->boot_id, sizeof cs->boot_id, "%s", s);
        if (json_get_int(j, "deadline", &v))
                cs->deadline = v;
        if (json_get_int(j, "rollback_of", &v))
                cs->rollback_of = (unsigned) v;
        if (json_get_int(j, "rolled_back_by", &v))
                cs->rolled_back_by = (unsigned) v;
        if ((s = json_get_str(j, "message")))
                cs->message = xstrdup(s);
        if (!json_object_object_get_ex(j, "items", &items) || !json_object_is_type(items, json_type_array))
                BAD("missing 'items'");
        for (size_t i = 0; i < json_object_array_length(items); i++) {
                struct json_object *o = json_object_array_get_idx(items, i), *b, *a;
                const char *action = json_get_str(o, "action"), *kind = json_get_str(o, "kind"),
                           *object = json_get_str(o, "object"), *st = json_get_str(o, "status");
                struct set_item *it;

                if (!action || !kind || !object || !st || (k = lookup(item_state_names, _ITEM_STATE_MAX, st)) < 0)
                        BAD("item %zu: missing action, kind, object or status", i);
                it = change_set_add_item(cs, action, kind, object);
                it->state = (enum item_state) k;
                if (json_object_object_get_ex(o, "before", &b))
                        it->before = json_object_get(b);
                if (json_object_object_get_ex(o, "after", &a))
                        it->after = json_object_get(a);
                if ((s = json_get_str(o, "message")))
                        it->message = xstrdup(s);
        }
#undef BAD
        *ret = TAKE_PTR(cs);
        return 0;
}

int journal_load(const char *state_dir, unsigned id, struct change_set **ret, char **ret_why) {
        _cleanup_free_ char *path = xasprintf("%s/changes/%u.json", state_dir, id), *text = NULL, *why = NULL;
        _cleanup_json_ struct json_object *j = NULL;
        struct change_set *cs;
        int r;

        r = read_file(path, &text, NULL);
        if (r < 0) {
                *ret_why = xasprintf("%s: %s", path, strerror(-r));
                return r;
        }
        {
                struct json_tokener *tok = json_tokener_new();
                size_t len = strlen(text), end;
                j = json_tokener_parse_ex(tok, text, (int) len);
                end = json_tokener_get_parse_end(tok);
                json_tokener_free(tok);
                /* A torn or doubled write leaves bytes after the object: damaged too. */
                while (j && end < len && (text[end] == ' ' || text[end] == '\n' || text[end] == '\t' || text[end] == '\r'))
                        end++;
                if (!j || end != len) {
                        *ret_why = xasprintf("%s: damaged journal file (%s)", path, j ? "data after the change set" : "not JSON");
                        return -EBADMSG;
                }
        }
        r = change_set_from_json(j, &cs, &why);
        if (r < 0) {
                *ret_why = xasprintf("%s: damaged journal file: %s", path, why);
                return r;
        }
        if (cs->id != id) {
                *ret_why = xasprintf("%s: damaged journal file: it says it is set %u", path, cs->id);
                change_set_free(cs);
                return -EBADMSG;
        }
        *ret = cs;
        return 0;
}

int journal_save(const char *state_dir, const struct change_set *cs) {
        _cleanup_free_ char *path = xasprintf("%s/changes/%u.json", state_dir, cs->id);
        _cleanup_json_ struct json_object *j = NULL;
        const char *text;
        int r;

        r = change_set_to_json(cs, &j);
        if (r < 0)
                return r;
        text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
        _cleanup_free_ char *data = xasprintf("%s\n", text);
        return write_file_atomic(path, data, strlen(data), 0600);
}
