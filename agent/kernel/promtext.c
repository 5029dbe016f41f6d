/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "promtext.h"

/* The sample value at the end of a line: "name{labels} 12.5" or with a timestamp after. */
static bool line_value(const char *line, const char *eol, double *ret) {
        const char *p = line;
        int depth = 0;
        char *end;
        /* Skip the name and labels; label values may hold spaces inside quotes. */
        for (; p < eol; p++) {
                if (*p == '"' && depth) {
                        for (p++; p < eol && *p != '"'; p++)
                                if (*p == '\\')
                                        p++;
                        continue;
                }
                if (*p == '{')
                        depth++;
                else if (*p == '}')
                        depth--;
                else if (*p == ' ' && !depth)
                        break;
        }
        if (p >= eol)
                return false;
        /* strtod skips white space, newlines too: a line without a value would take the
         * next line's. */
        *ret = strtod(p, &end);
        return end != p && end <= eol;
}

/* Does the line sample metric name exactly (followed by '{' or ' ')? */
static bool is_metric(const char *line, const char *name) {
        size_t n = strlen(name);
        return strncmp(line, name, n) == 0 && (line[n] == '{' || line[n] == ' ');
}

int prom_counter(const char *text, const char *name, double *ret) {
        double sum = 0, v;
        bool found = false;

        for (const char *line = text; line && *line;) {
                const char *eol = strchr(line, '\n');
                if (!eol)
                        eol = line + strlen(line);
                if (*line != '#' && is_metric(line, name) && line_value(line, eol, &v)) {
                        sum += v;
                        found = true;
                }
                line = *eol ? eol + 1 : NULL;
        }
        if (!found)
                return -ENOENT;
        *ret = sum;
        return 0;
}

struct bucket {
        double le, count;
};

static int cmp_bucket(const void *a, const void *b) {
        double x = ((const struct bucket *) a)->le, y = ((const struct bucket *) b)->le;
        return x < y ? -1 : x > y;
}

int prom_histogram_quantile(const char *text, const char *name, double q, double *ret, double *ret_count) {
        _cleanup_free_ char *bname = xasprintf("%s_bucket", name);
        _cleanup_free_ struct bucket *b = NULL;
        size_t n = 0;

        for (const char *line = text; line && *line;) {
                const char *eol = strchr(line, '\n'), *le;
                double v, bound;
                if (!eol)
                        eol = line + strlen(line);
                if (*line != '#' && is_metric(line, bname) && (le = strstr(line, "le=\"")) && le < eol &&
                    line_value(line, eol, &v)) {
                        le += 4;
                        bound = strncmp(le, "+Inf\"", 5) == 0 ? INFINITY : strtod(le, NULL);
                        size_t k;
                        for (k = 0; k < n && b[k].le != bound; k++)
                                ;
                        if (k == n) {
                                b = xrealloc(b, (n + 1) * sizeof(*b));
                                b[n++] = (struct bucket) { .le = bound };
                        }
                        b[k].count += v;
                }
                line = *eol ? eol + 1 : NULL;
        }
        if (n == 0)
                return -ENOENT;
        /* A bound that is no number (NaN, -Inf) or a count that is not a finite number is
         * no histogram etcd serves: without this, NaN would sort nowhere and come out as
         * the quantile. */
        for (size_t k = 0; k < n; k++)
                if (isnan(b[k].le) || b[k].le == -INFINITY || !isfinite(b[k].count))
                        return -EINVAL;
        qsort(b, n, sizeof(*b), cmp_bucket);
        double total = b[n - 1].count;
        if (!isinf(b[n - 1].le) || total <= 0) {
                if (ret_count)
                        *ret_count = total;
                return total <= 0 ? -ENODATA : -EINVAL;
        }
        double rank = q * total;
        size_t i = 0;
        while (i < n - 1 && b[i].count < rank)
                i++;
        if (isinf(b[i].le)) {
                /* The rank is beyond the last finite bucket: its bound is all that is known. */
                *ret = n >= 2 ? b[n - 2].le : 0;
        } else {
                double lo = i == 0 ? 0 : b[i - 1].le, below = i == 0 ? 0 : b[i - 1].count;
                double in = b[i].count - below;
                *ret = in > 0 ? lo + (b[i].le - lo) * (rank - below) / in : b[i].le;
        }
        if (ret_count)
                *ret_count = total;
        return 0;
}
