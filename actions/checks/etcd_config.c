/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd-config: the troubleshooting guide's cause 4, timeouts that do not fit. etcd's tuning
 * guide: heartbeat-interval about the peer round-trip time (0.5-1.5×), election-timeout
 * about 10× the heartbeat (etcd refuses less than 5×) and at most 50,000 ms, the same on
 * every member. The values are read as the running etcd resolved them (flags, ETCD_*
 * variables, or the config file, which then overrides both) and shown with their origin. */
#include <json-c/json.h>
#include <string.h>

#include "../../agent/kernel/etcd_conf.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define TUNING "etcd tuning guide: election timeout about 10× the heartbeat interval (etcd refuses under 5×)"

struct ec_spec {
        const struct target *target;
        double min_ratio;
        double max_election_ms;
};

static void ec_free(void *p) {
        free(p);
}

static int ec_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "min-election-ratio", "max-election-timeout", NULL };
        struct ec_spec *s;
        const struct ynode *x;
        unsigned long long v;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "etcd-config", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->min_ratio = 10;
        s->max_election_ms = 50000;
        if (ynode_check_keys(node, "etcd-config", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "etcd-config", pol, true, &s->target, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "min-election-ratio"))) {
                if (ynode_uint(x, "etcd-config.min-election-ratio", 5, 1000, &v, err) < 0)
                        r = -EINVAL;
                else
                        s->min_ratio = (double) v;
        }
        if ((x = ynode_get(node, "max-election-timeout")) &&
            check_parse_ms(x, "etcd-config.max-election-timeout", 1, 50000, &s->max_election_ms, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int ec_to_json(const void *spec, struct json_object **ret) {
        const struct ec_spec *s = spec;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "target", json_object_new_string(s->target->name));
        json_object_object_add(j, "min-election-ratio", json_object_new_int64((int64_t) s->min_ratio));
        json_object_object_add(j, "max-election-timeout", json_object_new_double(s->max_election_ms));
        *ret = j;
        return 0;
}

/* The notes every row of one etcd carries: where its configuration came from. */
static void conf_notes(const struct etcd_view *v, char ***notes) {
        if (v->conf->config_file && !v->conf->config_file_error)
                strv_push(notes, xasprintf("etcd reads its configuration from %s; it ignores its other flags and ETCD_* variables",
                                           v->conf->config_file));
        if (v->conf->config_file_error)
                strv_push(notes, xasprintf("cannot read etcd's config file %s: values shown are its flags' and variables'",
                                           v->conf->config_file_error));
        for (size_t i = 0; v->conf->ignored && v->conf->ignored[i]; i++)
                strv_push(notes, xasprintf("ignored by etcd (config file given): %s", v->conf->ignored[i]));
        if (v->not_found)
                strv_push(notes, xstrdup(v->not_found));
}

/* The tuning guide asks for the same heartbeat interval and election timeout on every
 * member. etcd's API shows no member's timeouts, so medic compares the members it can read:
 * those running on this host (a test cluster, or several members on one machine). */
static void same_on_members(const struct etcd_view *v, long long hb, long long el, const struct etcd_member *m, size_t n,
                            struct check_results *out) {
        struct check_result *res = check_results_add(
                out, xasprintf("etcd pid %d: timeouts of the cluster's members on this host", (int) v->pid), CHECK_OK);
        struct json_object *arr = json_object_new_array();
        _cleanup_free_ char *measured = NULL, *differ = NULL;
        const char *self = v->conf->v[ETCD_NAME].value;

        res->threshold = xstrdup("the same on every member");
        res->source = xstrdup("etcd tuning guide: the same heartbeat interval and election timeout on every member");
        measured = xasprintf("%s (pid %d, this one) %lld/%lld ms", self, (int) v->pid, hb, el);
        for (size_t i = 0; i < n; i++) {
                long long mhb = 0, mel = 0;
                char *x;
                if (!m[i].conf) {
                        strv_push(&res->notes, xstrdup(m[i].problem));
                        continue;
                }
                const char *name = m[i].conf->v[ETCD_NAME].value;
                bool nums = etcd_conf_ll(m[i].conf, ETCD_HEARTBEAT_INTERVAL, &mhb) &&
                            etcd_conf_ll(m[i].conf, ETCD_ELECTION_TIMEOUT, &mel);
                _cleanup_free_ char *hb_from = etcd_value_origin(m[i].conf, ETCD_HEARTBEAT_INTERVAL);
                _cleanup_free_ char *el_from = etcd_value_origin(m[i].conf, ETCD_ELECTION_TIMEOUT);
                struct json_object *j = json_object_new_object();

                json_object_object_add(j, "name", json_object_new_string(name));
                json_object_object_add(j, "pid", json_object_new_int(m[i].pid));
                json_object_object_add(j, "heartbeat-interval", nums ? json_object_new_int64(mhb) : NULL);
                json_object_object_add(j, "election-timeout", nums ? json_object_new_int64(mel) : NULL);
                json_object_array_add(arr, j);
                x = xasprintf("%s; %s (pid %d) %s/%s ms", measured, name, (int) m[i].pid,
                              m[i].conf->v[ETCD_HEARTBEAT_INTERVAL].value, m[i].conf->v[ETCD_ELECTION_TIMEOUT].value);
                free(measured);
                measured = x;
                if (m[i].problem)
                        strv_push(&res->notes, xstrdup(m[i].problem));
                if (nums && mhb == hb && mel == el)
                        continue;
                x = xasprintf("%s%s%s (pid %d) has heartbeat-interval %s ms (%s) and election-timeout %s ms (%s)",
                              differ ? differ : "", differ ? "; " : "", name, (int) m[i].pid,
                              m[i].conf->v[ETCD_HEARTBEAT_INTERVAL].value, hb_from, m[i].conf->v[ETCD_ELECTION_TIMEOUT].value,
                              el_from);
                free(differ);
                differ = x;
        }
        res->measured = TAKE_PTR(measured);
        res->value = arr;
        strv_push(&res->notes, xstrdup("members on other hosts cannot be seen from here: compare this row of medic diagnose on each of them"));
        if (differ) {
                res->status = CHECK_FINDING;
                res->advice = xasprintf("%s, where this member has %lld/%lld ms: set the same heartbeat-interval and election-timeout "
                                        "on every member; medic does not change etcd's configuration",
                                        differ, hb, el);
        }
}

static int ec_judge(struct check_run *cr, const void *spec, void *sample _unused_, struct check_results *out) {
        const struct ec_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        struct check_result *res;
        long long hb = 0, el = 0, snap = 0;
        int r;

        if (!v || v->pid <= 0 || !v->conf) {
                res = check_results_add(out, xstrdup("etcd: heartbeat and election timeout"), CHECK_UNKNOWN);
                res->why = xstrdup(v && v->not_found ? v->not_found : "etcd not running");
                return 0;
        }
        _cleanup_free_ char *hb_from = etcd_value_origin(v->conf, ETCD_HEARTBEAT_INTERVAL);
        _cleanup_free_ char *el_from = etcd_value_origin(v->conf, ETCD_ELECTION_TIMEOUT);
        bool ok_hb = etcd_conf_ll(v->conf, ETCD_HEARTBEAT_INTERVAL, &hb) && hb > 0;
        bool ok_el = etcd_conf_ll(v->conf, ETCD_ELECTION_TIMEOUT, &el) && el > 0;
        struct etcd_member *members = NULL;
        size_t n_members = 0;

        if (ok_hb && ok_el)
                (void) check_local_members(cr, v, &members, &n_members);

        res = check_results_add(out, xasprintf("etcd pid %d: election-timeout / heartbeat-interval", (int) v->pid), CHECK_OK);
        res->threshold = xasprintf("≥ %g×", s->min_ratio);
        res->source = xstrdup(TUNING);
        conf_notes(v, &res->notes);
        if (n_members == 0)
                strv_push(&res->notes, xstrdup("the other members' timeouts cannot be seen from this host (etcd's API does not show them): "
                                               "compare this row of medic diagnose on each member"));
        if (!ok_hb || !ok_el) {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("not numbers: heartbeat-interval '%s' (%s), election-timeout '%s' (%s)",
                                     v->conf->v[ETCD_HEARTBEAT_INTERVAL].value, hb_from,
                                     v->conf->v[ETCD_ELECTION_TIMEOUT].value, el_from);
        } else {
                double ratio = (double) el / (double) hb;
                struct json_object *j = json_object_new_object();
                json_object_object_add(j, "heartbeat-interval", json_object_new_int64(hb));
                json_object_object_add(j, "heartbeat-interval-from", json_object_new_string(hb_from));
                json_object_object_add(j, "election-timeout", json_object_new_int64(el));
                json_object_object_add(j, "election-timeout-from", json_object_new_string(el_from));
                json_object_object_add(j, "ratio", json_object_new_double(ratio));
                res->value = j;
                res->measured = xasprintf("%lld ms / %lld ms = %.1f× (%s; %s)", el, hb, ratio, el_from, hb_from);
                if (ratio < s->min_ratio) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("set election-timeout to %lld ms or more (%g× the heartbeat) on every member, "
                                                "where it is set (%s); medic does not change etcd's configuration%s",
                                                (long long) (s->min_ratio * (double) hb), s->min_ratio, el_from,
                                                ratio < 5 ? ". etcd itself refuses under 5×" : "");
                }
        }

        res = check_results_add(out, xasprintf("etcd pid %d: election-timeout", (int) v->pid), CHECK_OK);
        res->threshold = xasprintf("≤ %g ms", s->max_election_ms);
        res->source = xstrdup("etcd tuning guide: the election timeout's upper limit is 50,000 ms");
        if (ok_el) {
                res->measured = xasprintf("%lld ms (%s)", el, el_from);
                res->value = json_object_new_int64(el);
                if ((double) el > s->max_election_ms) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("lower election-timeout (%s) to %g ms or less: a longer timeout leaves the cluster "
                                                "without a leader for that long when one fails",
                                                el_from, s->max_election_ms);
                }
        } else {
                res->status = CHECK_UNKNOWN;
                res->why = xasprintf("election-timeout '%s' is not a number", v->conf->v[ETCD_ELECTION_TIMEOUT].value);
        }

        if (n_members > 0)
                same_on_members(v, hb, el, members, n_members, out);
        etcd_members_free(members, n_members);

        /* The tuning guide sets the heartbeat at about the peer round trip (0.5-1.5×); a
         * longer one only reacts later, a shorter one sends heartbeats the network cannot
         * answer in time: that is the finding. */
        double rtt;
        unsigned port = 0;
        res = check_results_add(out, xasprintf("etcd pid %d: heartbeat-interval / peer RTT", (int) v->pid), CHECK_OK);
        res->threshold = xstrdup("≥ 0.5× the RTT");
        res->source = xstrdup("etcd tuning guide: heartbeat interval about the round-trip time between members, 0.5-1.5×");
        r = ok_hb ? check_peer_rtt(v, &rtt, &port) : -EINVAL;
        if (r < 0) {
                res->status = CHECK_UNKNOWN;
                res->why = r == -ENOENT ? xasprintf("no peer connection etcd sent on in the last seconds (port %u): a one-member cluster, or etcd in another network namespace", port)
                                        : xasprintf("peer RTT not measured: %s", strerror(-r));
        } else {
                res->measured = xasprintf("%lld ms (%s) = %.0f× the peer RTT %.2f ms (sock_diag, port %u)", hb, hb_from,
                                          rtt > 0 ? (double) hb / rtt : 0, rtt, port);
                res->value = json_object_new_double(rtt > 0 ? (double) hb / rtt : 0);
                if ((double) hb < 0.5 * rtt) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("raise heartbeat-interval (%s) to about the peer RTT, %.0f ms, and election-timeout to "
                                                "10× that, on every member", hb_from, rtt);
                }
        }

        /* Shown, not judged: the right value depends on the memory and the write rate. */
        _cleanup_free_ char *snap_from = etcd_value_origin(v->conf, ETCD_SNAPSHOT_COUNT);
        res = check_results_add(out, xasprintf("etcd pid %d: snapshot-count", (int) v->pid), CHECK_OK);
        if (etcd_conf_ll(v->conf, ETCD_SNAPSHOT_COUNT, &snap)) {
                res->measured = xasprintf("%lld (%s)", snap, snap_from);
                res->value = json_object_new_int64(snap);
        } else
                res->measured = xasprintf("'%s' (%s)", v->conf->v[ETCD_SNAPSHOT_COUNT].value, snap_from);
        res->threshold = xstrdup("shown");
        res->source = xstrdup("etcd tuning guide: snapshot-count (10,000 by default since etcd 3.6, 100,000 before); lower it when memory runs high");
        return 0;
}

const struct check_ops etcd_config_check_ops = {
        .kind = "etcd-config",
        .parse = ec_parse,
        .spec_to_json = ec_to_json,
        .spec_free = ec_free,
        .judge = ec_judge,
};
