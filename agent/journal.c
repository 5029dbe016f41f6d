/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
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
        cs->items = xgrow(cs->items, cs->n_items, sizeof(*cs->items));
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
        str_copy(cs->time, s, sizeof cs->time);
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
        str_copy(cs->boot_id, s, sizeof cs->boot_id);
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

/* One appended record: {"item": K, "status": ..., "after": ..., "message": ...} or
 * {"state": ..., "deadline": ..., "rolled_back_by": ..., "message": ...}. */
static int apply_record(struct change_set *cs, struct json_object *rec, char **ret_why) {
        struct json_object *after;
        const char *s;
        int64_t v;
        int k;

        if (!json_object_is_type(rec, json_type_object)) {
                *ret_why = xstrdup("a record is not a JSON object");
                return -EBADMSG;
        }
        if (json_get_int(rec, "item", &v)) {
                if (v < 0 || (uint64_t) v >= cs->n_items || !(s = json_get_str(rec, "status")) ||
                    (k = lookup(item_state_names, _ITEM_STATE_MAX, s)) < 0) {
                        *ret_why = xasprintf("bad item record (item %lld)", (long long) v);
                        return -EBADMSG;
                }
                struct set_item *it = &cs->items[v];
                it->state = (enum item_state) k;
                if (json_object_object_get_ex(rec, "after", &after)) {
                        json_object_put(it->after);
                        it->after = json_object_get(after);
                }
                if ((s = json_get_str(rec, "message"))) {
                        free(it->message);
                        it->message = xstrdup(s);
                }
                return 0;
        }
        if (!(s = json_get_str(rec, "state")) || (k = lookup(set_state_names, _SET_STATE_MAX, s)) < 0) {
                *ret_why = xstrdup("a record that is neither an item's nor the set's");
                return -EBADMSG;
        }
        cs->state = (enum set_state) k;
        if (json_get_int(rec, "deadline", &v))
                cs->deadline = v;
        if (json_get_int(rec, "rolled_back_by", &v) && v > 0 && v <= UINT_MAX)
                cs->rolled_back_by = (unsigned) v;
        if ((s = json_get_str(rec, "message"))) {
                free(cs->message);
                cs->message = xstrdup(s);
        }
        return 0;
}

static size_t skip_space(const char *text, size_t len, size_t at) {
        while (at < len && (text[at] == ' ' || text[at] == '\n' || text[at] == '\t' || text[at] == '\r'))
                at++;
        return at;
}

/* The next JSON value at text[at..len). *torn: the bytes end inside a value — the tail of a
 * record whose write was cut short. */
static struct json_object *next_value(const char *text, size_t len, size_t *at, bool *torn) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *j;
        size_t rest = len - *at;

        *torn = false;
        j = json_tokener_parse_ex(tok, text + *at, rest > INT_MAX ? INT_MAX : (int) rest);
        if (!j)
                *torn = json_tokener_get_error(tok) == json_tokener_continue;
        else
                *at += json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        return j;
}

int journal_parse(const char *text, size_t len, unsigned id, struct change_set **ret, char **ret_why) {
        _cleanup_json_ struct json_object *head = NULL;
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        _cleanup_free_ char *why = NULL;
        size_t at = skip_space(text, len, 0);
        bool torn;
        int r;

        if (memchr(text, 0, len)) {
                *ret_why = xstrdup("damaged journal file (not JSON)");
                return -EBADMSG;
        }
        head = at < len ? next_value(text, len, &at, &torn) : NULL;
        if (!head) {
                *ret_why = xstrdup("damaged journal file (not JSON)");
                return -EBADMSG;
        }
        r = change_set_from_json(head, &cs, &why);
        if (r < 0) {
                *ret_why = xasprintf("damaged journal file: %s", why);
                return r;
        }
        if (id && cs->id != id) {
                *ret_why = xasprintf("damaged journal file: it says it is set %u", cs->id);
                return -EBADMSG;
        }
        for (;;) {
                _cleanup_json_ struct json_object *rec = NULL;
                size_t start;

                at = skip_space(text, len, at);
                if (at >= len)
                        break;
                start = at;
                rec = next_value(text, len, &at, &torn);
                /* Every record is written whole, with its newline, by one write(2): a last
                 * record without its newline never completed, and the set is as before it. */
                if ((!rec && torn) || (rec && at >= len && !memchr(text + start, '\n', len - start)))
                        break;
                if (!rec) {
                        *ret_why = xstrdup("damaged journal file (data after the change set)");
                        return -EBADMSG;
                }
                free(why);
                why = NULL;
                r = apply_record(cs, rec, &why);
                if (r < 0) {
                        *ret_why = xasprintf("damaged journal file: %s", why);
                        return r;
                }
        }
        *ret = TAKE_PTR(cs);
        return 0;
}

/* The last set file this process found sound, by identity: rollback loads a set (to pick
 * it) and then opens it to append, and a second parse of a 1,000-item set was a quarter of
 * the rollback. medic changes a set file only by appending or truncating (its size moves)
 * or by renaming a new one over it (its inode moves), so an unchanged identity is the text
 * that was parsed. */
static struct {
        char *path;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
} sound;

static bool same_file(const struct stat *a, const struct stat *b) {
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
               a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void sound_remember(const char *path, const struct stat *st) {
        free(sound.path);
        sound.path = xstrdup(path);
        sound.dev = st->st_dev;
        sound.ino = st->st_ino;
        sound.size = st->st_size;
        sound.mtime = st->st_mtim;
}

static bool sound_is(const char *path, const struct stat *st) {
        struct stat k = { .st_dev = sound.dev, .st_ino = sound.ino, .st_size = sound.size, .st_mtim = sound.mtime };
        return sound.path && streq(sound.path, path) && same_file(&k, st);
}

int journal_load(const char *state_dir, unsigned id, struct change_set **ret, char **ret_why) {
        _cleanup_free_ char *path = xasprintf("%s/changes/%u.json", state_dir, id), *text = NULL, *why = NULL;
        struct stat st0, st1;
        size_t len = 0;
        int r;

        bool known = stat(path, &st0) == 0;
        r = read_file(path, &text, &len);
        if (r < 0) {
                *ret_why = xasprintf("%s: %s", path, strerror(-r));
                return r;
        }
        r = journal_parse(text, len, id, ret, &why);
        if (r < 0)
                *ret_why = xasprintf("%s: %s", path, why);
        /* Unchanged from before the read to after it: the identity is of the text parsed. */
        else if (known && stat(path, &st1) == 0 && same_file(&st0, &st1) && (off_t) len == st1.st_size)
                sound_remember(path, &st1);
        return r;
}

static char *set_text(const struct change_set *cs) {
        _cleanup_json_ struct json_object *j = NULL;
        if (change_set_to_json(cs, &j) < 0)
                return NULL;
        return xasprintf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

int journal_save(const char *state_dir, const struct change_set *cs) {
        _cleanup_free_ char *path = xasprintf("%s/changes/%u.json", state_dir, cs->id);
        _cleanup_free_ char *data = set_text(cs);

        if (!data)
                return -ENOMEM;
        return write_file_atomic(path, data, strlen(data), 0600);
}

bool set_state_closed(enum set_state s) {
        switch (s) {
        case SET_APPLIED:
        case SET_FAILED:
        case SET_ROLLED_BACK:
                return true;
        case SET_APPLYING:
        case SET_AWAITING_CONFIRM:
        case _SET_STATE_MAX:
                break;
        }
        return false;
}

/* ---- the index ---- */

static char *index_path(const char *state_dir) {
        return xasprintf("%s/changes/index", state_dir);
}

/* A cache: a lost or torn line only makes a later run load a set it could have skipped. */
static int index_append(const char *state_dir, unsigned id, enum set_state st) {
        _cleanup_free_ char *path = index_path(state_dir), *line = xasprintf("%u %s\n", id, set_state_name(st));
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, line, strlen(line));
        if (n < 0)
                return -errno;
        return (size_t) n == strlen(line) ? 0 : -EIO;
}

int journal_index_note(const char *state_dir, const struct change_set *cs) {
        return index_append(state_dir, cs->id, cs->state);
}

static int cmp_closed(const void *a, const void *b) {
        return cmp_uint(a, b);
}

int journal_open_ids(const char *state_dir, unsigned **ret_ids, size_t *ret_n) {
        _cleanup_free_ unsigned *ids = NULL, *closed = NULL;
        _cleanup_free_ char *path = index_path(state_dir), *text = NULL;
        size_t n = 0, n_closed = 0, len = 0, out = 0;
        int r;

        r = journal_list(state_dir, &ids, &n);
        if (r < 0)
                return r;
        r = read_file(path, &text, &len);
        if (r < 0 && r != -ENOENT)
                return r;
        /* Last line per id wins; ids are few and lines short, so collect closed ids in a
         * sorted array and drop reopened ones. Sets only ever move from open to closed, or
         * from applied back to rolled-back: both closed. */
        for (char *line = text, *end; line && line < text + len; line = end + 1) {
                unsigned long long id;
                char *sp;
                end = memchr(line, '\n', (size_t) (text + len - line));
                if (!end)
                        break; /* a torn last line */
                *end = 0;
                sp = strchr(line, ' ');
                if (!sp)
                        continue;
                *sp = 0;
                int k = lookup(set_state_names, _SET_STATE_MAX, sp + 1);
                if (parse_uint(line, UINT_MAX, &id) < 0 || k < 0)
                        continue;
                if (!set_state_closed((enum set_state) k))
                        continue;
                closed = xrealloc(closed, (n_closed + 1) * sizeof(*closed));
                closed[n_closed++] = (unsigned) id;
        }
        if (n_closed > 1)
                qsort(closed, n_closed, sizeof(*closed), cmp_closed);
        for (size_t i = 0; i < n; i++)
                if (!(n_closed && bsearch(&ids[i], closed, n_closed, sizeof(*closed), cmp_closed)))
                        ids[out++] = ids[i];
        *ret_ids = TAKE_PTR(ids);
        *ret_n = out;
        return 0;
}

/* ---- appending ---- */

void journal_close(struct jfile *f) {
        closep(&f->fd);
        free(f->state_dir);
        *f = (struct jfile) JFILE_INIT;
}

int journal_open(const char *state_dir, unsigned id, struct jfile *ret) {
        _cleanup_free_ char *path = xasprintf("%s/changes/%u.json", state_dir, id), *text = NULL, *why = NULL;
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0;
        off_t good;
        int r;

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = read_file(path, &text, &len);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0 || !sound_is(path, &st) || (off_t) len != st.st_size) {
                r = journal_parse(text, len, id, &cs, &why);
                if (r < 0)
                        return r;
        }
        /* Cut off a torn last record, so the next one starts on a line of its own. */
        good = (off_t) len;
        while (good > 0 && text[good - 1] != '\n')
                good--;
        if (good < (off_t) len && ftruncate(fd, good) < 0)
                return -errno;
        if (lseek(fd, 0, SEEK_END) < 0)
                return -errno;
        *ret = (struct jfile) { .fd = TAKE_FD(fd), .size = good, .id = id, .state_dir = xstrdup(state_dir) };
        return 0;
}

int journal_create(const char *state_dir, const struct change_set *cs, struct jfile *ret) {
        _cleanup_free_ char *path = xasprintf("%s/changes/%u.json", state_dir, cs->id);
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        r = journal_save(state_dir, cs);
        if (r >= 0) {
                fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 || fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_END) < 0)
                        r = -errno;
        }
        if (r < 0) {
                /* The set may be in place even so (the rename done, its directory's fsync
                 * failed): nothing has changed under it, so it must not stay to be taken
                 * for an interrupted apply. */
                (void) unlink(path);
                return r;
        }
        (void) index_append(state_dir, cs->id, cs->state);
        *ret = (struct jfile) { .fd = TAKE_FD(fd), .size = st.st_size, .id = cs->id, .state_dir = xstrdup(state_dir) };
        return 0;
}

/* One record, one write(2). A short write (a full disk) is cut back, so a failed record
 * never glues itself to the next one. */
static int put_record(struct jfile *f, struct json_object *rec) {
        _cleanup_free_ char *line = xasprintf("%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        size_t len = strlen(line);
        ssize_t n;

        if (f->fd < 0)
                return -EBADF;
        do
                n = pwrite(f->fd, line, len, f->size);
        while (n < 0 && errno == EINTR);
        if (n < 0 || (size_t) n != len) {
                int r = n < 0 ? -errno : -ENOSPC;
                /* Bytes that cannot be cut back would glue the next record onto them: then
                 * this file takes no more records (the set stays open for recovery). */
                if (n > 0 && ftruncate(f->fd, f->size) < 0)
                        closep(&f->fd), f->fd = -1;
                return r;
        }
        f->size += (off_t) len;
        return 0;
}

int journal_put_item(struct jfile *f, const struct change_set *cs, size_t k) {
        _cleanup_json_ struct json_object *rec = json_object_new_object();
        const struct set_item *it = &cs->items[k];

        json_object_object_add(rec, "item", json_object_new_int64((int64_t) k));
        json_object_object_add(rec, "status", json_object_new_string(item_state_name(it->state)));
        if (it->after)
                json_object_object_add(rec, "after", json_object_get(it->after));
        if (it->message)
                json_object_object_add(rec, "message", json_object_new_string(it->message));
        return put_record(f, rec);
}

int journal_put_state(struct jfile *f, const struct change_set *cs) {
        _cleanup_json_ struct json_object *rec = json_object_new_object();
        int r;

        json_object_object_add(rec, "state", json_object_new_string(set_state_name(cs->state)));
        if (cs->deadline)
                json_object_object_add(rec, "deadline", json_object_new_int64(cs->deadline));
        if (cs->rolled_back_by)
                json_object_object_add(rec, "rolled_back_by", json_object_new_int64(cs->rolled_back_by));
        if (cs->message)
                json_object_object_add(rec, "message", json_object_new_string(cs->message));
        r = put_record(f, rec);
        if (r < 0)
                return r;
        /* Every record before this one becomes durable with it. */
        if (fdatasync(f->fd) < 0) {
                r = -errno;
                return r;
        }
        (void) index_append(f->state_dir, cs->id, cs->state);
        return 0;
}
