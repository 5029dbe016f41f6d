/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "auditlog.h"
#include "kernel/sdlib.h"

static const char *const event_names[_EV_MAX] = {
        [EV_AUDIT] = "audit",         [EV_DRIFT] = "drift",       [EV_CHANGE] = "change",
        [EV_FAILURE] = "failure",     [EV_ROLLBACK] = "rollback", [EV_CONFIRM] = "confirm",
        [EV_CONFLICT] = "conflict",   [EV_INTERRUPTED] = "interrupted",
        [EV_REPAIR] = "repair",
};

/* One MESSAGE_ID per event type, so `journalctl MESSAGE_ID=...` finds every change. */
static const char *const event_ids[_EV_MAX] = {
        [EV_AUDIT] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59601",
        [EV_DRIFT] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59602",
        [EV_CHANGE] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59603",
        [EV_FAILURE] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59604",
        [EV_ROLLBACK] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59605",
        [EV_CONFIRM] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59606",
        [EV_CONFLICT] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59607",
        [EV_INTERRUPTED] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59608",
        [EV_REPAIR] = "6f2b0a3c9d4e4f51a7c1e2d3b4a59609",
};

const char *audit_event_name(enum audit_event e) {
        return e < _EV_MAX ? event_names[e] : "?";
}

int auditlog_open(struct auditlog *l, const char *path, bool create_dir) {
        char host[256] = "";
        int r;

        *l = (struct auditlog) { .fd = -1 };
        if (create_dir) {
                _cleanup_free_ char *copy = xstrdup(path);
                r = mkdir_p(dirname(copy), 0750);
                if (r < 0)
                        return r;
        }
        /* Read-only commands (create_dir unset) only append to a log that exists. */
        l->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | (create_dir ? O_CREAT : 0), 0640);
        if (l->fd < 0)
                return -errno;
        l->path = xstrdup(path);
        gethostname(host, sizeof host - 1);
        l->host = xstrdup(host);
        if (boot_id(l->boot_id) < 0)
                l->boot_id[0] = 0;
        l->uid = getuid();
        if (getenv("SUDO_USER"))
                l->sudo_user = xstrdup(getenv("SUDO_USER"));
        return 0;
}

void auditlog_set_policy(struct auditlog *l, const char *name, const char *sha256) {
        free(l->policy_name);
        free(l->policy_sha256);
        l->policy_name = name ? xstrdup(name) : NULL;
        l->policy_sha256 = sha256 ? xstrdup(sha256) : NULL;
}

void auditlog_close(struct auditlog *l) {
        closep(&l->fd);
        l->fd = -1;
        free(l->path);
        free(l->host);
        free(l->sudo_user);
        free(l->policy_name);
        free(l->policy_sha256);
        *l = (struct auditlog) { .fd = -1 };
}

int auditlog_sync(struct auditlog *l) {
        if (l->fd < 0)
                return -EBADF;
        return fsync(l->fd) < 0 ? -errno : 0;
}

static struct json_object *opt_str(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

int auditlog_write(struct auditlog *l, const struct audit_record *rec) {
        _cleanup_json_ struct json_object *j = json_object_new_object();
        struct json_object *user = json_object_new_object(), *pol = json_object_new_object();
        const char *before_s, *after_s;
        char now[40];

        if (l->fd < 0)
                return -EBADF;
        rfc3339_now(now);
        json_object_object_add(j, "time", json_object_new_string(now));
        json_object_object_add(j, "event", json_object_new_string(audit_event_name(rec->event)));
        json_object_object_add(j, "host", json_object_new_string(l->host));
        json_object_object_add(j, "boot_id", json_object_new_string(l->boot_id));
        json_object_object_add(user, "uid", json_object_new_int64(l->uid));
        json_object_object_add(user, "sudo_user", opt_str(l->sudo_user));
        json_object_object_add(j, "user", user);
        json_object_object_add(pol, "name", opt_str(l->policy_name));
        json_object_object_add(pol, "sha256", opt_str(l->policy_sha256));
        json_object_object_add(j, "policy", pol);
        json_object_object_add(j, "change", rec->change ? json_object_new_int64(rec->change) : NULL);
        json_object_object_add(j, "action", opt_str(rec->action));
        json_object_object_add(j, "kind", opt_str(rec->kind));
        json_object_object_add(j, "object", opt_str(rec->object));
        json_object_object_add(j, "before", json_object_get(rec->before));
        json_object_object_add(j, "after", json_object_get(rec->after));
        json_object_object_add(j, "result", opt_str(rec->result));
        json_object_object_add(j, "message", opt_str(rec->message));

        _cleanup_free_ char *line = xasprintf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        size_t len = strlen(line);
        /* One write(2) with O_APPEND: concurrent writers never interleave inside a line. */
        ssize_t n = write(l->fd, line, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len) {
                /* A full disk took part of the line: cut it off again, or the next record
                 * would be glued onto it and lost to every reader. */
                struct stat st;
                if (n > 0 && (fstat(l->fd, &st) < 0 || st.st_size < n || ftruncate(l->fd, st.st_size - n) < 0)) {
                        /* The torn bytes stay: no record may follow them. */
                        closep(&l->fd);
                        l->fd = -1;
                }
                return -ENOSPC;
        }
        if (!l->defer_sync && fsync(l->fd) < 0)
                return -errno;

        before_s = rec->before ? json_object_to_json_string_ext(rec->before, JSON_C_TO_STRING_PLAIN) : "";
        after_s = rec->after ? json_object_to_json_string_ext(rec->after, JSON_C_TO_STRING_PLAIN) : "";
        /* Best effort: the file above is the record. */
        char *fields[] = {
                xasprintf("MESSAGE=medic %s: %s%s%s", audit_event_name(rec->event), rec->object ? rec->object : "",
                          rec->object && rec->message ? ": " : "", rec->message ? rec->message : ""),
                xasprintf("MESSAGE_ID=%s", event_ids[rec->event]),
                xasprintf("PRIORITY=%d", rec->event == EV_FAILURE || rec->event == EV_CONFLICT ? 4 : 5),
                xstrdup("SYSLOG_IDENTIFIER=medic"),
                xasprintf("MEDIC_EVENT=%s", audit_event_name(rec->event)),
                xasprintf("MEDIC_CHANGE=%u", rec->change),
                xasprintf("MEDIC_ACTION=%s", rec->action ? rec->action : ""),
                xasprintf("MEDIC_KIND=%s", rec->kind ? rec->kind : ""),
                xasprintf("MEDIC_OBJECT=%s", rec->object ? rec->object : ""),
                xasprintf("MEDIC_BEFORE=%s", before_s),
                xasprintf("MEDIC_AFTER=%s", after_s),
                xasprintf("MEDIC_RESULT=%s", rec->result ? rec->result : ""),
                xasprintf("MEDIC_POLICY=%s", l->policy_name ? l->policy_name : ""),
        };
        struct iovec iov[ELEMENTSOF(fields)];
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                iov[i] = (struct iovec) { .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        (void) sdlib_journal_sendv(iov, (int) ELEMENTSOF(fields));
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                free(fields[i]);
        return 0;
}
