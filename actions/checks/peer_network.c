/* SPDX-License-Identifier: GPL-2.0-or-later */
/* peer-network: the troubleshooting guide's cause 1, a slow or lossy network between members.
 * The guide asks for ping and traceroute; the kernel already knows the answer for the very
 * connections etcd's heartbeats use: tcp_info of every TCP socket on the peer port (the
 * sock_diag dump `ss -ti` reads), with its smoothed RTT, RTT variance, retransmissions and
 * lost segments. One row per peer address; retransmissions that grow during the interval
 * are shown. Only sockets of medic's own network namespace are visible. */
#include <json-c/json.h>
#include <string.h>

#include "../../agent/kernel/etcd_conf.h"
#include "../../agent/kernel/sockdiag.h"
#include "../../agent/ynode.h"
#include "../target.h"
#include "check.h"

#define SOURCE "etcd troubleshooting guide, cause 1: peer round-trip time consistently over 5 ms on a LAN; heartbeat-interval should be 0.5-1.5× it"

#define RECENT_MS 5000

struct pn_spec {
        const struct target *target;
        double max_rtt_ms;
        unsigned port; /* 0: from etcd's --listen-peer-urls */
};

struct pn_sample {
        uint16_t port;
        char *why;
        struct tcp_sock_info *socks;
        size_t n;
};

static void pn_free(void *p) {
        free(p);
}

static void pn_sample_free(void *p) {
        struct pn_sample *s = p;
        free(s->why);
        free(s->socks);
        free(s);
}

static int pn_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "target", "max-rtt", "port", NULL };
        struct pn_spec *s;
        const struct ynode *x;
        unsigned long long v;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "peer-network", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->max_rtt_ms = 5;
        if (ynode_check_keys(node, "peer-network", keys, err) < 0)
                r = -EINVAL;
        if (check_parse_target(node, "peer-network", pol, true, &s->target, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "max-rtt")) && check_parse_ms(x, "peer-network.max-rtt", 0.001, 10000, &s->max_rtt_ms, err) < 0)
                r = -EINVAL;
        if ((x = ynode_get(node, "port"))) {
                if (ynode_uint(x, "peer-network.port", 1, 65535, &v, err) < 0)
                        r = -EINVAL;
                else
                        s->port = (unsigned) v;
        }
        *ret_spec = s;
        return r;
}

static int pn_to_json(const void *spec, struct json_object **ret) {
        const struct pn_spec *s = spec;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "target", json_object_new_string(s->target->name));
        json_object_object_add(j, "max-rtt", json_object_new_double(s->max_rtt_ms));
        if (s->port)
                json_object_object_add(j, "port", json_object_new_int((int) s->port));
        *ret = j;
        return 0;
}

static int pn_begin(struct check_run *cr, const void *spec, void **ret_sample) {
        const struct pn_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        struct pn_sample *sm = xcalloc(1, sizeof(*sm));
        int r;

        *ret_sample = sm;
        sm->port = (uint16_t) s->port;
        if (!sm->port && v && v->conf)
                sm->port = (uint16_t) etcd_url_port(v->conf->v[ETCD_LISTEN_PEER_URLS].value, NULL);
        if (!sm->port)
                sm->port = 2380;
        r = sockdiag_tcp_port(sm->port, &sm->socks, &sm->n);
        if (r < 0)
                sm->why = xasprintf("sock_diag dump of TCP sockets: %s", strerror(-r));
        return 0;
}

struct peer {
        char addr[64];
        unsigned sockets;
        const struct tcp_sock_info *best; /* the socket data arrived on last */
        uint64_t retrans_now, retrans_grew;
        uint32_t lost;
};

static int pn_judge(struct check_run *cr, const void *spec, void *sample, struct check_results *out) {
        const struct pn_spec *s = spec;
        const struct etcd_view *v = check_run_etcd(cr, s->target);
        struct pn_sample *sm = sample;
        _cleanup_free_ struct tcp_sock_info *now = NULL;
        _cleanup_free_ struct peer *peers = NULL;
        _cleanup_free_ uint64_t *mine = NULL;
        size_t n_now = 0, n_peers = 0, n_mine = 0;
        _cleanup_free_ char *mine_why = NULL;
        struct check_result *res;
        int r;

        if (sm->why) {
                res = check_results_add(out, xasprintf("peers on port %u: round-trip time", sm->port), CHECK_UNKNOWN);
                res->why = xstrdup(sm->why);
                return 0;
        }
        r = sockdiag_tcp_port(sm->port, &now, &n_now);
        if (r < 0) {
                res = check_results_add(out, xasprintf("peers on port %u: round-trip time", sm->port), CHECK_UNKNOWN);
                res->why = xasprintf("sock_diag dump of TCP sockets: %s", strerror(-r));
                return 0;
        }
        /* Only etcd's own connections: other members on this host (or a test's cluster in
         * one namespace) hold sockets on the same port. */
        if (v && v->pid > 0 && (r = proc_socket_inodes(v->pid, &mine, &n_mine)) < 0)
                mine_why = xasprintf("cannot read /proc/%d/fd (%s): every connection on the port is counted", (int) v->pid,
                                     strerror(-r));
        for (size_t i = 0; i < n_now; i++) {
                const struct tcp_sock_info *t = &now[i];
                char addr[64];
                struct peer *p = NULL;
                bool own = !mine;

                for (size_t k = 0; k < n_mine && !own; k++)
                        own = mine[k] == t->inode;
                if (!own)
                        continue;

                tcp_sock_remote(t, addr, sizeof(addr));
                for (size_t k = 0; k < n_peers; k++)
                        if (streq(peers[k].addr, addr))
                                p = &peers[k];
                if (!p) {
                        peers = xrealloc(peers, (n_peers + 1) * sizeof(*peers));
                        p = &peers[n_peers++];
                        *p = (struct peer) { 0 };
                        str_copy(p->addr, addr, sizeof(p->addr));
                }
                p->sockets++;
                p->retrans_now += t->total_retrans;
                p->lost += t->lost;
                /* Growth is counted on connections seen in both samples: a new one brings its
                 * whole history, an ended one took its own away. */
                for (size_t k = 0; k < sm->n; k++)
                        if (sm->socks[k].inode == t->inode && t->inode && t->total_retrans > sm->socks[k].total_retrans)
                                p->retrans_grew += t->total_retrans - sm->socks[k].total_retrans;
                /* The RTT is measured on ACKs of data sent; an idle connection keeps the RTT of
                 * its last exchange. So: the largest RTT among the connections etcd sent on in
                 * the last few seconds (the streams that carry heartbeats and appends), else
                 * the one it sent on last. */
                if (!p->best)
                        p->best = t;
                else if (t->last_data_sent_ms < RECENT_MS && p->best->last_data_sent_ms < RECENT_MS) {
                        if (t->rtt_us > p->best->rtt_us)
                                p->best = t;
                } else if (t->last_data_sent_ms < p->best->last_data_sent_ms)
                        p->best = t;
        }
        if (n_peers == 0) {
                res = check_results_add(out, xasprintf("peers on port %u: round-trip time", sm->port), CHECK_UNKNOWN);
                res->why = xasprintf("no established TCP connection on port %u in medic's network namespace (%s)", sm->port,
                                     !v || v->pid <= 0 ? "etcd not running" : "a one-member cluster, or etcd runs in another network namespace");
                return 0;
        }
        for (size_t k = 0; k < n_peers; k++) {
                struct peer *p = &peers[k];
                double rtt = p->best->rtt_us / 1000.0, var = p->best->rttvar_us / 1000.0;
                struct json_object *j = json_object_new_object();

                res = check_results_add(out, xasprintf("peer %s (port %u): round-trip time", p->addr, sm->port), CHECK_OK);
                res->measured = xasprintf("%.2f ms ± %.2f (%u connections; retransmits %llu, lost %u)", rtt, var, p->sockets,
                                          (unsigned long long) p->retrans_now, p->lost);
                res->threshold = xasprintf("≤ %g ms", s->max_rtt_ms);
                res->source = xstrdup(SOURCE);
                if (mine_why)
                        strv_push(&res->notes, xstrdup(mine_why));
                json_object_object_add(j, "rtt_ms", json_object_new_double(rtt));
                json_object_object_add(j, "rttvar_ms", json_object_new_double(var));
                json_object_object_add(j, "connections", json_object_new_int((int) p->sockets));
                json_object_object_add(j, "total_retrans", json_object_new_int64((int64_t) p->retrans_now));
                json_object_object_add(j, "lost", json_object_new_int64(p->lost));
                res->value = j;
                json_object_object_add(j, "retrans_during_interval", json_object_new_int64((int64_t) p->retrans_grew));
                if (p->retrans_grew)
                        strv_push(&res->notes, xasprintf("%llu retransmissions to %s during the interval: packets are lost on the way",
                                                         (unsigned long long) p->retrans_grew, p->addr));
                if (rtt > s->max_rtt_ms) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("the path to %s is slow: check for congestion (medic's traffic-priority item puts "
                                                "peer traffic first) or distance; otherwise raise heartbeat-interval to about "
                                                "the RTT and election-timeout to 10× it on every member", p->addr);
                }
        }
        return 0;
}

int check_peer_rtt(const struct etcd_view *v, double *ret_ms, unsigned *ret_port) {
        _cleanup_free_ struct tcp_sock_info *socks = NULL;
        _cleanup_free_ uint64_t *mine = NULL;
        size_t n = 0, n_mine = 0;
        uint16_t port;
        double best = -1;
        int r;

        if (!v || v->pid <= 0 || !v->conf)
                return -ESRCH;
        port = (uint16_t) etcd_url_port(v->conf->v[ETCD_LISTEN_PEER_URLS].value, NULL);
        if (!port)
                port = 2380;
        *ret_port = port;
        r = proc_socket_inodes(v->pid, &mine, &n_mine);
        if (r < 0)
                return r;
        r = sockdiag_tcp_port(port, &socks, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool own = false;
                for (size_t k = 0; k < n_mine && !own; k++)
                        own = mine[k] == socks[i].inode;
                if (own && socks[i].last_data_sent_ms < RECENT_MS && socks[i].rtt_us / 1000.0 > best)
                        best = socks[i].rtt_us / 1000.0;
        }
        if (best < 0)
                return -ENOENT;
        *ret_ms = best;
        return 0;
}

const struct check_ops peer_network_check_ops = {
        .kind = "peer-network",
        .parse = pn_parse,
        .spec_to_json = pn_to_json,
        .spec_free = pn_free,
        .begin = pn_begin,
        .judge = pn_judge,
        .sample_free = pn_sample_free,
};
