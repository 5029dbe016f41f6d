/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `--prometheus FILE`: node_exporter's textfile collector format. node_exporter reads every
 * *.prom file of its directory at each scrape, and rejects the whole file (and reports
 * node_textfile_scrape_error 1) for one bad line or one series given twice, so the file is
 * written whole under another name and renamed over the old one, and every label set is
 * written once. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "prometheus.h"

void prometheus_count_sets(const char *state_dir, struct set_counts *c) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n = 0;

        if (journal_list(state_dir, &ids, &n) < 0)
                return;
        c->known = true;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL;
                if (ids[i] <= c->upto)
                        continue;
                /* A damaged set is `medic history`'s to report; here it just is not counted. */
                if (journal_load(state_dir, ids[i], &cs, &why) == 0 && cs->kind < _SET_KIND_MAX)
                        c->n[cs->kind]++;
                c->upto = ids[i];
        }
}

/* Label values: backslash, double quote and line feed are escaped; nothing else is. */
static void put_label(FILE *f, const char *name, const char *v, bool last) {
        fprintf(f, "%s=\"", name);
        for (const char *p = v ? v : ""; *p; p++) {
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '"')
                        fputs("\\\"", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else
                        fputc(*p, f);
        }
        fprintf(f, "\"%s", last ? "" : ",");
}

/* 1 compliant, 0 not, -1 unknown (skipped: nothing was compared, so no series). */
static int compliant(enum row_status s) {
        switch (s) {
        case ROW_OK:
        case ROW_CHANGED: /* the agent repaired it: compliant now */
                return 1;
        case ROW_DRIFT:
        case ROW_FAILED:
        case ROW_CONFLICT:
        case ROW_RESTORED:
                return 0;
        case ROW_SKIPPED:
        case _ROW_STATUS_MAX:
                break;
        }
        return -1;
}

static int cmp_str(const char *a, const char *b) {
        return strcmp(a ? a : "", b ? b : "");
}

static int cmp_rows(const void *x, const void *y) {
        const struct row *a = *(const struct row *const *) x, *b = *(const struct row *const *) y;
        int r = cmp_str(a->action, b->action);
        if (r == 0)
                r = cmp_str(a->kind, b->kind);
        if (r == 0)
                r = cmp_str(a->object, b->object);
        return r;
}

static void help(FILE *f, const char *name, const char *type, const char *text) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void put_metrics(FILE *f, const struct report *rep, const struct set_counts *sets, long repairs) {
        _cleanup_free_ const struct row **rows = xcalloc(rep->n_rows + 1, sizeof(*rows));
        unsigned drift = 0, failed = 0;
        size_t n = 0;

        for (size_t i = 0; i < rep->n_rows; i++) {
                const struct row *r = &rep->rows[i];
                drift += r->status == ROW_DRIFT;
                failed += r->status == ROW_FAILED || r->status == ROW_CONFLICT;
                if (compliant(r->status) >= 0)
                        rows[n++] = r;
        }
        qsort(rows, n, sizeof(*rows), cmp_rows);

        help(f, "medic_last_run_ok", "gauge",
             "1 when medic could run (exit 0, 2, 4 or 6), 0 when it could not at all (exit 1): then no item series follow");
        fprintf(f, "medic_last_run_ok %d\n", rep->exit != EXIT_CANNOT);
        help(f, "medic_item_compliant", "gauge", "1 when the item is as the policy wants, 0 when it drifted or failed");
        for (size_t i = 0; i < n;) {
                /* One series per label set: items that share one are compliant only together. */
                int v = 1;
                size_t j = i;
                for (; j < n && cmp_rows(&rows[i], &rows[j]) == 0; j++)
                        if (compliant(rows[j]->status) == 0)
                                v = 0;
                fputs("medic_item_compliant{", f);
                put_label(f, "action", rows[i]->action, false);
                put_label(f, "kind", rows[i]->kind, false);
                put_label(f, "object", rows[i]->object, true);
                fprintf(f, "} %d\n", v);
                i = j;
        }
        help(f, "medic_drift_items", "gauge", "Items that differ from the policy");
        fprintf(f, "medic_drift_items %u\n", drift);
        help(f, "medic_failed_items", "gauge", "Items that could not be read or changed, or that someone else holds (conflict)");
        fprintf(f, "medic_failed_items %u\n", failed);
        help(f, "medic_last_audit_timestamp_seconds", "gauge", "When medic wrote this file (Unix time)");
        fprintf(f, "medic_last_audit_timestamp_seconds %lld\n", (long long) time(NULL));
        if (sets && sets->known) {
                help(f, "medic_change_sets_total", "counter", "Change sets in medic's journal, by kind");
                for (int k = 0; k < _SET_KIND_MAX; k++) {
                        fputs("medic_change_sets_total{", f);
                        put_label(f, "kind", set_kind_name((enum set_kind) k), true);
                        fprintf(f, "} %u\n", sets->n[k]);
                }
        }
        if (repairs >= 0) {
                help(f, "medic_repairs_total", "counter", "Objects the agent repaired since it started");
                fprintf(f, "medic_repairs_total %ld\n", repairs);
        }
}

int prometheus_write(const char *path, const struct report *rep, const struct set_counts *sets, long repairs,
                     char **ret_why) {
        _cleanup_free_ char *tmp = xasprintf("%s.XXXXXX", path);
        FILE *f;
        int fd, r;

        /* The temp name does not end in .prom: node_exporter never reads it. */
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                *ret_why = xasprintf("%s: cannot create a temporary file beside it: %s", path, strerror(-r));
                return r;
        }
        /* node_exporter runs as its own user: the file is world-readable, like its directory. */
        if (fchmod(fd, 0644) < 0 || !(f = fdopen(fd, "w"))) {
                r = -errno;
                close(fd);
                goto fail;
        }
        put_metrics(f, rep, sets, repairs);
        errno = 0;
        if (ferror(f) | fflush(f) | fsync(fileno(f))) {
                r = errno ? -errno : -EIO;
                fclose(f);
                goto fail;
        }
        if (fclose(f) != 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        *ret_why = xasprintf("%s: %s", path, strerror(-r));
        return r;
}
