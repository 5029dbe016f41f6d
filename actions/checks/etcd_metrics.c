/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd-metrics: what etcd measures itself, from its /metrics over plain HTTP on this host
 * (--listen-metrics-urls, else --listen-client-urls): the WAL fsync and backend commit
 * latency histograms against etcd's FAQ figures (p99 under 10 ms and 25 ms), the peer
 * round-trip histogram, leader changes and failed heartbeats. Histograms are cumulative
 * since etcd started. Where etcd offers only TLS, medic says so: it holds no client cert. */
#include <json-c/json.h>
#include <string.h>

#include "../../agent/kernel/etcd_conf.h"
#include "../../agent/kernel/httpget.h"
#include "../../agent/kernel/promtext.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define FAQ "etcd FAQ (\"What does the etcd warning 'apply entries took too long' mean\"): WAL fsync p99 under 10 ms, backend commit p99 under 25 ms"

struct em_spec {
        const struct target *target;
        double max_wal_ms, max_commit_ms;
};

static void em_free(void *p) {
        free(p);
}

static int em_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "max-wal-fsync", "max-backend-commit", NULL };
        struct em_spec *s;
        const struct ynode *x;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "etcd-metrics", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->max_wal_ms = 10;
        s->max_commit_ms = 25;
        if (ynode_check_keys(node, "etcd-metrics", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "etcd-metrics", pol, true, &s->target, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-wal-fsync")) && check_parse_ms(x, "etcd-metrics.max-wal-fsync", 0.01, 10000, &s->max_wal_ms, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-backend-commit")) &&
            check_parse_ms(x, "etcd-metrics.max-backend-commit", 0.01, 10000, &s->max_commit_ms, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int em_to_json(const void *spec, struct json_object **ret) {
        const struct em_spec *s = spec;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "target", json_object_new_string(s->target->name));
        json_object_object_add(j, "max-wal-fsync", json_object_new_double(s->max_wal_ms));
        json_object_object_add(j, "max-backend-commit", json_object_new_double(s->max_commit_ms));
        *ret = j;
        return 0;
}

/* The first http:// URL of a list as a numeric host to connect to and a port: a wildcard
 * or "localhost" listener is reached on loopback. */
static bool http_endpoint(const char *urls, char *host, size_t hlen, uint16_t *port, bool *any_https) {
        _cleanup_free_ char *copy = xstrdup(urls ? urls : "");
        char *save = NULL;

        for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
                while (*u == ' ')
                        u++;
                if (startswith(u, "https://"))
                        *any_https = true;
                if (!startswith(u, "http://"))
                        continue;
                char *h = u + 7, *slash = strchr(h, '/'), *colon;
                if (slash)
                        *slash = 0;
                colon = strrchr(h, ':');
                if (!colon || colon == h)
                        continue;
                *colon = 0;
                *port = (uint16_t) atoi(colon + 1);
                if (h[0] == '[') {
                        h++;
                        h[strlen(h) - 1] = 0;
                }
                if (streq(h, "0.0.0.0") || streq(h, "localhost") || !*h)
                        snprintf(host, hlen, "127.0.0.1");
                else if (streq(h, "::"))
                        snprintf(host, hlen, "::1");
                else
                        str_copy(host, h, hlen);
                return *port > 0;
        }
        return false;
}

static void latency_row(struct check_results *out, const char *text, const char *metric, const char *what, double max_ms,
                        const char *url, const char *advice) {
        struct check_result *res = check_results_add(out, xasprintf("etcd %s p99", what), CHECK_OK);
        double p99, count;
        int r = prom_histogram_quantile(text, metric, 0.99, &p99, &count);

        res->threshold = xasprintf("≤ %g ms", max_ms);
        res->source = xstrdup(FAQ);
        if (r < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = r == -ENODATA ? xasprintf("%s: no observation yet", metric) : xasprintf("%s has no %s", url, metric);
                return;
        }
        res->measured = xasprintf("%.2f ms (%s, %.0f observations since etcd started)", p99 * 1000, metric, count);
        res->value = json_object_new_double(p99 * 1000);
        if (p99 * 1000 > max_ms) {
                res->status = CHECK_FINDING;
                res->advice = xstrdup(advice);
        }
}

static int em_judge(struct check_run *cr, const void *spec, void *sample _unused_, struct check_results *out) {
        const struct em_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        _cleanup_free_ char *body = NULL, *url = NULL;
        struct check_result *res;
        char host[64];
        uint16_t port = 0;
        bool https = false, found;
        int r, status = 0;

        if (!v || v->pid <= 0 || !v->conf) {
                res = check_results_add(out, xstrdup("etcd /metrics"), CHECK_UNKNOWN);
                res->why = xstrdup(v && v->not_found ? v->not_found : "etcd not running");
                return 0;
        }
        found = http_endpoint(v->conf->v[ETCD_LISTEN_METRICS_URLS].value, host, sizeof(host), &port, &https) ||
                http_endpoint(v->conf->v[ETCD_LISTEN_CLIENT_URLS].value, host, sizeof(host), &port, &https);
        if (!found) {
                res = check_results_add(out, xasprintf("etcd pid %d /metrics", (int) v->pid), CHECK_UNKNOWN);
                res->why = xstrdup(https ? "etcd serves /metrics only over TLS: add --listen-metrics-urls http://127.0.0.1:2381 "
                                           "for medic (it holds no client certificate)"
                                         : "etcd listens on no http:// client or metrics URL");
                return 0;
        }
        url = strchr(host, ':') ? xasprintf("http://[%s]:%u/metrics", host, port) : xasprintf("http://%s:%u/metrics", host, port);
        r = http_get(host, port, "/metrics", 64 << 20, 2000, &status, &body);
        if (r < 0 || status != 200) {
                res = check_results_add(out, xasprintf("etcd pid %d /metrics", (int) v->pid), CHECK_UNKNOWN);
                res->why = r < 0 ? xasprintf("GET %s: %s%s", url, strerror(-r),
                                             r == -ECONNREFUSED ? " (is medic in etcd's network namespace?)" : "")
                                 : xasprintf("GET %s: HTTP status %d", url, status);
                return 0;
        }
        latency_row(out, body, "etcd_disk_wal_fsync_duration_seconds", "WAL fsync", s->max_wal_ms, url,
                    "medic cannot fix this: etcd waits this long for its WAL to reach the disk; move --wal-dir to a faster disk");
        latency_row(out, body, "etcd_disk_backend_commit_duration_seconds", "backend commit", s->max_commit_ms, url,
                    "medic cannot fix this: the disk is too slow for etcd's database commits; use a faster disk");

        double rtt, n, changes = 0, failures = 0;
        res = check_results_add(out, xstrdup("etcd peer round trip p99"), CHECK_OK);
        res->threshold = xstrdup("shown");
        res->source = xstrdup("etcd's own measurement (etcd_network_peer_round_trip_time_seconds); the peer-network check judges the RTT");
        if (prom_histogram_quantile(body, "etcd_network_peer_round_trip_time_seconds", 0.99, &rtt, &n) == 0) {
                res->measured = xasprintf("%.2f ms (%.0f probes since etcd started)", rtt * 1000, n);
                res->value = json_object_new_double(rtt * 1000);
        } else
                res->measured = xstrdup("no peer probes (a one-member cluster?)");

        bool have_changes = prom_counter(body, "etcd_server_leader_changes_seen_total", &changes) == 0;
        bool have_failures = prom_counter(body, "etcd_server_heartbeat_send_failures_total", &failures) == 0;
        res = check_results_add(out, xstrdup("etcd leader changes, failed heartbeats"), CHECK_OK);
        _cleanup_free_ char *c = have_changes ? xasprintf("%.0f", changes) : xstrdup("?");
        _cleanup_free_ char *f = have_failures ? xasprintf("%.0f", failures) : xstrdup("?");
        res->measured = xasprintf("%s leader changes, %s heartbeat send failures since etcd started", c, f);
        res->threshold = xstrdup("shown");
        res->source = xstrdup("etcd troubleshooting guide: frequent leader changes and failed heartbeats are the symptom the other checks explain");
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "leader_changes", have_changes ? json_object_new_double(changes) : NULL);
        json_object_object_add(j, "heartbeat_send_failures", have_failures ? json_object_new_double(failures) : NULL);
        res->value = j;
        strv_push(&res->notes, xasprintf("from %s", url));
        return 0;
}

const struct check_ops etcd_metrics_check_ops = {
        .kind = "etcd-metrics",
        .parse = em_parse,
        .spec_to_json = em_to_json,
        .spec_free = em_free,
        .judge = em_judge,
};
