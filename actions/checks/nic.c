/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nic: the troubleshooting guide's cause 6, a NIC that corrupts or drops packets. etcd sees
 * it as dropped peer messages and slow heartbeats; the kernel counts it per interface
 * (/sys/class/net/IF/statistics). A counter that grows during the interval is a finding;
 * what accumulated since boot is shown. The guide's fix is turning checksum offload off,
 * which is medic's nic-offload item (shipped in audit mode). */
#include <json-c/json.h>
#include <string.h>

#include "../../agent/kernel/kmsg.h"
#include "../../agent/kernel/netif.h"
#include "../../agent/ynode.h"
#include "../action.h"
#include "../target.h"
#include "check.h"

static const char *const counters[] = { "rx_crc_errors", "rx_frame_errors", "rx_errors", "tx_errors" };
#define N_COUNTERS ELEMENTSOF(counters)

struct nic_spec {
        char *interface;
};

struct nic_if {
        char name[IF_NAMESIZE];
        int ifindex;
        unsigned log_lines; /* kernel log lines about trouble on this interface */
        char *log_last;
        uint64_t a[N_COUNTERS];
        bool ok[N_COUNTERS];
};

struct nic_sample {
        struct nic_if *ifs;
        size_t n;
        char *why;
        uint64_t t0;
};

static void nic_spec_free(void *p) {
        struct nic_spec *s = p;
        free(s->interface);
        free(s);
}

static void nic_sample_free(void *p) {
        struct nic_sample *s = p;
        for (size_t i = 0; i < s->n; i++)
                free(s->ifs[i].log_last);
        free(s->ifs);
        free(s->why);
        free(s);
}

static int nic_parse(const struct ynode *node, const struct policy *pol, void **ret_spec, struct perr *err) {
        static const char *const keys[] = { "interface", NULL };
        struct nic_spec *s;
        const struct ynode *x;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "nic", err) < 0)
                return -EINVAL;
        s = xcalloc(1, sizeof(*s));
        if (ynode_check_keys(node, "nic", keys, err) < 0)
                r = -EINVAL;
        if (!(x = ynode_get(node, "interface")))
                s->interface = xstrdup("auto");
        else if (policy_interface(x, pol, "nic.interface", &s->interface, err) < 0)
                r = -EINVAL;
        *ret_spec = s;
        return r;
}

static int nic_to_json(const void *spec, struct json_object **ret) {
        const struct nic_spec *s = spec;
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "interface", json_object_new_string(s->interface));
        *ret = j;
        return 0;
}

static int read_counter(struct check_run *cr, const char *ifname, const char *name, uint64_t *ret) {
        _cleanup_free_ char *path = check_path(cr, "/sys/class/net/%s/statistics/%s", ifname, name), *s = NULL;
        unsigned long long v;
        int r = read_line_file(path, &s);
        if (r < 0)
                return r;
        if (parse_uint(s, UINT64_MAX, &v) < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int nic_begin(struct check_run *cr, const void *spec, void **ret_sample) {
        const struct nic_spec *s = spec;
        struct nic_sample *sm = xcalloc(1, sizeof(*sm));
        _cleanup_free_ struct netif *ifs = NULL;
        size_t n = 0;
        int r;

        *ret_sample = sm;
        ctx_clear(cr->ctx);
        r = ctx_net_why(cr->ctx, netif_resolve(ctx_net(cr->ctx), s->interface, &ifs, &n));
        if (r < 0) {
                sm->why = xasprintf("interface %s: %s", s->interface, cr->ctx->errmsg ? cr->ctx->errmsg : strerror(-r));
                return 0;
        }
        sm->ifs = xcalloc(n, sizeof(*sm->ifs));
        sm->n = n;
        for (size_t i = 0; i < n; i++) {
                str_copy(sm->ifs[i].name, ifs[i].name, sizeof(sm->ifs[i].name));
                sm->ifs[i].ifindex = ifs[i].ifindex;
                for (size_t k = 0; k < N_COUNTERS; k++)
                        sm->ifs[i].ok[k] = read_counter(cr, ifs[i].name, counters[k], &sm->ifs[i].a[k]) >= 0;
        }
        sm->t0 = now_monotonic_ns();
        return 0;
}

/* The guide's `dmesg` step: kernel log lines that name the interface (or carry its
 * DEVICE=n<ifindex>) and say something is wrong. */
static bool troubled(const char *msg) {
        static const char *const words[] = { "error", "timeout", "timed out", "reset", "link is down", "hang",
                                             "watchdog", "crc", "dropp", "fail", NULL };
        _cleanup_free_ char *low = xstrdup(msg);
        for (char *c = low; *c; c++)
                *c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        for (const char *const *w = words; *w; w++)
                if (strstr(low, *w))
                        return true;
        return false;
}

static bool names_if(const struct kmsg_record *r, const struct nic_if *f) {
        char dev[24];
        size_t n = strlen(f->name);
        snprintf(dev, sizeof(dev), "n%d", f->ifindex);
        if (r->device && streq(r->device, dev))
                return true;
        for (const char *p = strstr(r->message, f->name); p; p = strstr(p + 1, f->name))
                if ((p == r->message || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'))) &&
                    (p[n] == ':' || p[n] == ' ' || p[n] == 0 || p[n] == ','))
                        return true;
        return false;
}

static void on_record(const struct kmsg_record *r, void *userdata) {
        struct nic_sample *sm = userdata;
        if (!troubled(r->message))
                return;
        for (size_t i = 0; i < sm->n; i++)
                if (names_if(r, &sm->ifs[i])) {
                        sm->ifs[i].log_lines++;
                        free(sm->ifs[i].log_last);
                        sm->ifs[i].log_last = xasprintf("[%llu.%06llu] %s", (unsigned long long) (r->usec / 1000000),
                                                        (unsigned long long) (r->usec % 1000000), r->message);
                }
}

static int nic_judge(struct check_run *cr, const void *spec _unused_, void *sample, struct check_results *out) {
        struct nic_sample *sm = sample;
        double secs = (double) (now_monotonic_ns() - sm->t0) / 1e9;
        _cleanup_free_ char *kmsg = check_path(cr, "/dev/kmsg");
        int klog = sm->why ? 0 : kmsg_read_all(kmsg, 200000, on_record, sm);

        if (sm->why) {
                struct check_result *res = check_results_add(out, xstrdup("peer interface: error counters"), CHECK_UNKNOWN);
                res->why = xstrdup(sm->why);
                return 0;
        }
        for (size_t i = 0; i < sm->n; i++) {
                struct nic_if *f = &sm->ifs[i];
                struct check_result *res = check_results_add(out, xasprintf("%s: error counters", f->name), CHECK_OK);
                _cleanup_free_ char *grew = xstrdup(""), *totals = xstrdup("");
                struct json_object *j = json_object_new_object();
                bool any = false;

                for (size_t k = 0; k < N_COUNTERS; k++) {
                        uint64_t b;
                        if (!f->ok[k] || read_counter(cr, f->name, counters[k], &b) < 0)
                                continue;
                        any = true;
                        json_object_object_add(j, counters[k], json_object_new_int64((int64_t) b));
                        if (b > f->a[k]) {
                                char *t = xasprintf("%s%s%s +%llu", grew, *grew ? ", " : "", counters[k],
                                                    (unsigned long long) (b - f->a[k]));
                                free(grew);
                                grew = t;
                        }
                        if (b > 0) {
                                char *t = xasprintf("%s%s%s %llu", totals, *totals ? ", " : "", counters[k], (unsigned long long) b);
                                free(totals);
                                totals = t;
                        }
                }
                res->value = j;
                if (!any) {
                        res->status = CHECK_UNKNOWN;
                        res->why = xasprintf("cannot read /sys/class/net/%s/statistics", f->name);
                        continue;
                }
                res->threshold = xstrdup("no growth");
                res->source = xstrdup("etcd troubleshooting guide, cause 6 (NIC errors drop peer messages)");
                res->measured = *grew ? xasprintf("%s in %.1f s", grew, secs) : xasprintf("no growth in %.1f s", secs);
                if (*totals)
                        strv_push(&res->notes, xasprintf("since the interface came up: %s", totals));
                if (klog < 0)
                        strv_push(&res->notes, xasprintf("kernel log not read: /dev/kmsg: %s%s", strerror(-klog),
                                                         klog == -EPERM || klog == -EACCES ? " (needs CAP_SYSLOG while kernel.dmesg_restrict=1)" : ""));
                else if (f->log_lines)
                        strv_push(&res->notes, xasprintf("kernel log: %u line%s about trouble on %s, the last: %s", f->log_lines,
                                                         f->log_lines == 1 ? "" : "s", f->name, f->log_last));
                else
                        strv_push(&res->notes, xasprintf("kernel log: nothing about trouble on %s", f->name));
                if (*grew) {
                        res->status = CHECK_FINDING;
                        res->advice = xasprintf("errors are growing on %s: check the cable, switch port and driver; the guide's fix "
                                                "is checksum offload off (the nic-offload item: set mode: enforce)", f->name);
                }
        }
        return 0;
}

const struct check_ops nic_check_ops = {
        .kind = "nic",
        .parse = nic_parse,
        .spec_to_json = nic_to_json,
        .spec_free = nic_spec_free,
        .begin = nic_begin,
        .judge = nic_judge,
        .sample_free = nic_sample_free,
};
