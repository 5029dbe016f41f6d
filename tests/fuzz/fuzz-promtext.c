/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Prometheus text parser of the etcd-metrics check (agent/promtext.c) on arbitrary
 * text, as etcd's /metrics could serve it: the counters and histograms the check reads,
 * and whatever metric the input's first sample line names, at the quantiles it asks and
 * at the edges (0 and 1). A quantile comes with observations and is never NaN; a histogram
 * whose bounds or counts are not numbers is refused. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/kernel/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const histograms[] = {
        "etcd_disk_wal_fsync_duration_seconds",
        "etcd_disk_backend_commit_duration_seconds",
        "etcd_network_peer_round_trip_time_seconds",
};
static const char *const counters[] = {
        "etcd_server_leader_changes_seen_total",
        "etcd_server_heartbeat_send_failures_total",
};

static void die(const char *what, const char *name) {
        fprintf(stderr, "%s: %s\n", name, what);
        abort();
}

static void quantiles(const char *text, const char *name) {
        static const double qs[] = { 0, 0.5, 0.99, 1 };
        for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
                double v = 0, n = 0;
                int r = prom_histogram_quantile(text, name, qs[i], &v, &n);
                if (r == 0 && !(n > 0))
                        die("a quantile of a histogram without observations", name);
                if (r == 0 && isnan(v))
                        die("the quantile is NaN", name);
                if (r < 0 && r != -ENOENT && r != -ENODATA && r != -EINVAL)
                        die("an unexpected error", name);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text, name[128];
        double v;

        if (size > 1 << 16)
                return 0;
        text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = 0;
        for (size_t i = 0; i < sizeof(histograms) / sizeof(histograms[0]); i++)
                quantiles(text, histograms[i]);
        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
                (void) prom_counter(text, counters[i], &v);
        /* The first sample line's metric, as a histogram (less _bucket) and as a counter. */
        if (sscanf(text, "%127[a-zA-Z0-9_:]", name) == 1) {
                size_t l = strlen(name);
                (void) prom_counter(text, name, &v);
                if (l > 7 && strcmp(name + l - 7, "_bucket") == 0)
                        name[l - 7] = 0;
                quantiles(text, name);
        }
        free(text);
        return 0;
}
