/* SPDX-License-Identifier: GPL-2.0-or-later */
/* medic agent: stays running and puts the policy back as soon as the kernel says something
 * changed. One sd-event loop; every source is an announcement from the kernel except the
 * sysctl timer (the kernel announces no sysctl write):
 *
 *   rtnetlink RTNLGRP_LINK, RTNLGRP_TC   traffic-priority, nic-offload (a features change is
 *                                        an RTM_NEWLINK too: NETDEV_FEAT_CHANGE)
 *   proc connector exec/comm events      io-priority, for a process a target's rules find;
 *     or, where it does not serve medic,  inotify on cgroup.events of etcd's cgroup (v2)
 *   POLLPRI on the host's mountinfo      mount-options
 *   timer (--sysctl-interval, 60 s)      sysctl
 *
 * Events mark kinds dirty; a short timer then runs one repair per burst (engine_repair()),
 * a change set of kind repair with the first event as its cause. An object changed back by
 * someone else too often is left alone (a fight, reported once as a conflict). A CLI
 * rollback is respected: its objects stay rolled back until the next apply or reload.
 * SIGHUP reloads the policy (a bad one keeps the old); SIGTERM/SIGINT exit, changes kept. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <net/if.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "caps.h"
#include "kernel/cgroup_watch.h"
#include "daemon.h"
#include "engine_int.h"
#include "kernel/mountns.h"
#include "kernel/proc.h"
#include "kernel/sdlib.h"
#include "prometheus.h"

#define DEBOUNCE_USEC 2000ULL /* a burst of netlink messages is one repair */
#define FIGHT_DEFAULT 5       /* repairs of one object ... */
#define FIGHT_WINDOW_USEC (60ULL * 1000000) /* ... within this long: a fight */

enum { K_SYSCTL, K_IOPRIO, K_TC, K_NIC, K_MOUNT, _K_MAX };
static const char *const kind_names[_K_MAX] = {
        [K_SYSCTL] = "sysctl",       [K_IOPRIO] = "io-priority", [K_TC] = "traffic-priority",
        [K_NIC] = "nic-offload",     [K_MOUNT] = "mount-options",
};

struct fight {
        char *object;
        uint64_t *t;
        size_t n;
};

struct agent {
        struct options opt;
        const struct options *given; /* as the command line said */
        struct policy *policy;
        sd_event *e;
        sd_event_source *debounce, *sysctl_timer, *rtnl_src, *proc_src, *mnt_src;
        int rtnl_fd, proc_fd, mnt_fd;
        unsigned dirty; /* 1 << K_* */
        unsigned kinds; /* the kinds the policy has: events of others are not listened to */
        char *cause;    /* the first event of this burst */
        unsigned repairs;
        unsigned last_set; /* the newest change set the agent has looked at */
        char **given_up;   /* fights: left alone until reload */
        char **rolled_back; /* objects an operator rolled back: left alone until apply/reload */
        char **skip;        /* the two above, for the engine */
        struct fight *fights;
        size_t n_fights;
        char *proc_note;    /* how etcd (re)starts are seen */
        char *proc_why;     /* why the proc connector does not serve the agent, or NULL */
        struct cgroup_watch *cgw; /* without the proc connector: etcd's cgroups (v2) */
        sd_event_source *cg_src, *cg_again;
        unsigned cg_again_step;
        char **cg_known;    /* cgroups target processes were found in: watched until reload */
        char *last_repair;  /* "TIME cause" */
        uint64_t t_event;   /* when the first event of this burst was read (µs, monotonic) */
        pid_t *new_pids;    /* this burst's processes from the proc connector ... */
        size_t n_new_pids;
        bool scan_all;      /* ... unless another cause means every process is looked at */
        bool marking_pid;
};

static uint64_t now_us(void) {
        return now_monotonic_ns() / 1000;
}

static void say(const char *fmt, ...) _printf_(1, 2);
static void say(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("medic agent: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

static void status(struct agent *a) {
        size_t n = a->policy ? a->policy->n_actions : 0;
        _cleanup_free_ char *s = xasprintf("STATUS=%zu actions in policy %s, %u repairs since start%s%s%s%s", n,
                                           a->policy ? a->policy->name : "-", a->repairs,
                                           a->given_up ? "; left alone after a fight: " : "",
                                           a->given_up ? a->given_up[0] : "", a->proc_note ? "; " : "",
                                           a->proc_note ? a->proc_note : "");
        sdev.notify(0, s);
}

/* STATE/agent: who runs and what it last did, for `medic audit`. Rewritten (not fsync'd:
 * it is a view, the journal is the record) after each repair. */
static void write_status(struct agent *a, const char *last) {
        _cleanup_free_ char *path = xasprintf("%s/agent", a->opt.state_dir), *tmp = xasprintf("%s.tmp", path);
        _cleanup_free_ char *text = NULL;
        char now[40];
        FILE *f;

        rfc3339_now(now);
        if (last) {
                free(a->last_repair);
                a->last_repair = xasprintf("%s %s", now, last);
        }
        _cleanup_free_ char *alone = xstrdup("");
        for (size_t i = 0; a->given_up && a->given_up[i]; i++) {
                char *t = xasprintf("%s%s%s", alone, i ? ", " : "", a->given_up[i]);
                free(alone);
                alone = t;
        }
        text = xasprintf("pid %d\nrepairs %u\nlast-repair %s\nleft-alone %s\n", (int) getpid(), a->repairs,
                         a->last_repair ? a->last_repair : "-", *alone ? alone : "-");
        f = fopen(tmp, "we");
        if (!f)
                return;
        fputs(text, f);
        if (fclose(f) == 0)
                (void) rename(tmp, path);
}

static void rebuild_skip(struct agent *a) {
        strv_free(a->skip);
        a->skip = NULL;
        for (size_t i = 0; a->given_up && a->given_up[i]; i++)
                strv_push(&a->skip, xstrdup(a->given_up[i]));
        for (size_t i = 0; a->rolled_back && a->rolled_back[i]; i++)
                strv_push(&a->skip, xstrdup(a->rolled_back[i]));
}

/* Change sets the agent did not make since it last looked: an operator's rollback keeps its
 * objects rolled back; an operator's apply makes them the agent's again. */
static void follow_journal(struct agent *a) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n = 0;
        bool changed = false;

        if (journal_list(a->opt.state_dir, &ids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL;
                if (ids[i] <= a->last_set)
                        continue;
                a->last_set = ids[i];
                if (journal_load(a->opt.state_dir, ids[i], &cs, &why) < 0)
                        continue;
                if (cs->kind == SET_KIND_APPLY) {
                        strv_free(a->rolled_back);
                        a->rolled_back = NULL;
                        changed = true;
                } else if (cs->kind == SET_KIND_ROLLBACK) {
                        for (size_t k = 0; k < cs->n_items; k++)
                                if (cs->items[k].state == ITEM_CHANGED && !strv_contains(a->rolled_back, cs->items[k].object)) {
                                        strv_push(&a->rolled_back, xstrdup(cs->items[k].object));
                                        say("%s was rolled back by change set %u: left alone until the next apply or reload",
                                            cs->items[k].object, cs->id);
                                }
                        changed = true;
                }
        }
        if (changed)
                rebuild_skip(a);
}

/* Someone keeps changing an object back: stop fighting, say so once. */
static bool fight(struct agent *a, const char *object) {
        struct fight *f = NULL;
        uint64_t t = now_us();

        for (size_t i = 0; i < a->n_fights; i++)
                if (streq(a->fights[i].object, object))
                        f = &a->fights[i];
        size_t limit = (size_t) a->opt.fight_limit;

        if (limit == 0)
                return false;
        if (!f) {
                a->fights = xrealloc(a->fights, (a->n_fights + 1) * sizeof(*a->fights));
                f = &a->fights[a->n_fights++];
                *f = (struct fight) { .object = xstrdup(object), .t = xcalloc(limit, sizeof(uint64_t)) };
        }
        if (f->n == limit) {
                memmove(f->t, f->t + 1, (limit - 1) * sizeof(*f->t));
                f->n--;
        }
        f->t[f->n++] = t;
        return f->n == limit && t - f->t[0] <= FIGHT_WINDOW_USEC;
}

/* --prometheus FILE: after each pass, the items that pass looked at (all of them at start and
 * reload, the kinds an event named after that) and the agent's counters. */
static void write_metrics(struct agent *a, const struct report *rep) {
        static struct set_counts sets;
        _cleanup_free_ char *why = NULL;

        prometheus_count_sets(a->opt.state_dir, &sets);
        if (prometheus_write(a->opt.prometheus, rep, &sets, a->repairs, &why) < 0)
                say("cannot write the metrics file %s", why);
}

static void fallback_refresh(struct agent *a);

/* Test hook MEDIC_AGENT_TRACE=FILE: one line per pass with its steps' monotonic times (µs),
 * for the latency benchmark to say where a repair's time goes. */
static void trace(const char *cause, const uint64_t *t, size_t n) {
        const char *path = test_hook("MEDIC_AGENT_TRACE");
        FILE *f;

        if (!path || !(f = fopen(path, "ae")))
                return;
        fprintf(f, "%d", (int) getpid());
        for (size_t i = 0; i < n; i++)
                fprintf(f, " %llu", (unsigned long long) t[i]);
        fprintf(f, " %s\n", cause);
        fclose(f);
}

static void repair(struct agent *a, unsigned mask, const char *cause, bool start) {
        _cleanup_strv_ char **kinds = NULL;
        struct run run;
        int code;
        /* event, pass start, locked, journal followed and recovered, repaired, done */
        uint64_t t[6] = { a->t_event, now_us() };

        for (int k = 0; k < _K_MAX; k++)
                if (mask & (1u << k))
                        strv_push(&kinds, xstrdup(kind_names[k]));
        run_init(&run, &a->opt, "agent");
        run.policy = a->policy;
        run.keep_caps = true;
        if (run_lock(&run) < 0 || run_open_audit_log(&run) < 0) {
                for (size_t i = 0; run.rep.errors && run.rep.errors[i]; i++)
                        say("%s", run.rep.errors[i]);
                goto out;
        }
        t[2] = now_us();
        follow_journal(a);
        run.repair_skip = a->skip;
        if (engine_recover(&run) < 0) {
                for (size_t i = 0; run.rep.errors && run.rep.errors[i]; i++)
                        say("%s", run.rep.errors[i]);
                goto out;
        }
        t[3] = now_us();
        code = start ? engine_apply(&run) : engine_repair(&run, kinds, NULL, cause);
        t[4] = now_us();
        for (size_t i = 0; i < run.rep.n_rows; i++) {
                const struct row *r = &run.rep.rows[i];
                if (r->status == ROW_CHANGED) {
                        a->repairs += !start;
                        say("%s %s: %s → %s (%s)", start ? "applied" : "repaired", r->object, r->current ? r->current : "?",
                            r->wanted ? r->wanted : "?", cause);
                        if (!start && fight(a, r->object)) {
                                _cleanup_free_ char *msg = xasprintf(
                                        "changed back %ld times within %llu s by someone else: the agent stops repairing it until reload%s",
                                        a->opt.fight_limit, FIGHT_WINDOW_USEC / 1000000,
                                        streq(r->kind, "sysctl") ? " (a write to /proc/sys names no writer)" : "");
                                say("%s: %s", r->object, msg);
                                (void) audit_event(&run, EV_CONFLICT, run.rep.change, r->action, r->kind, r->object,
                                                   r->current_json, r->wanted_json, "conflict", msg);
                                strv_push(&a->given_up, xstrdup(r->object));
                                rebuild_skip(a);
                        }
                } else if (r->status == ROW_FAILED || r->status == ROW_CONFLICT)
                        say("%s %s: %s (%s)", r->status == ROW_FAILED ? "could not repair" : "conflict on", r->object,
                            r->reason ? r->reason : "?", cause);
        }
        for (size_t i = 0; run.rep.errors && run.rep.errors[i]; i++)
                say("%s", run.rep.errors[i]);
        if (run.rep.change > a->last_set)
                a->last_set = run.rep.change;
        if (!start && run.rep.change)
                write_status(a, cause);
        if (start || (mask & (1u << K_IOPRIO)))
                fallback_refresh(a);
        if (a->opt.prometheus)
                write_metrics(a, &run.rep);
        t[5] = now_us();
        trace(cause, t, ELEMENTSOF(t));
        (void) code;
out:
        run.policy = NULL;
        run.repair_skip = NULL;
        run_done(&run);
        status(a);
}

static int on_debounce(sd_event_source *s _unused_, uint64_t usec _unused_, void *u) {
        struct agent *a = u;
        unsigned mask = a->dirty;
        _cleanup_free_ char *cause = TAKE_PTR(a->cause);

        _cleanup_free_ pid_t *pids = TAKE_PTR(a->new_pids);
        size_t n = a->n_new_pids;
        bool all = a->scan_all;

        a->dirty = 0;
        a->n_new_pids = 0;
        a->scan_all = false;
        /* Only process events: the targets' comm: and exe: rules look at the new processes
         * alone, not at every process on the host. */
        if ((mask & (1u << K_IOPRIO)) && !all && n > 0)
                proc_scan_only(pids, n);
        if (mask)
                repair(a, mask, cause ? cause : "kernel event", false);
        proc_scan_only(NULL, 0);
        return 0;
}

static void mark(struct agent *a, unsigned mask, const char *fmt, ...) _printf_(3, 4);
static void mark(struct agent *a, unsigned mask, const char *fmt, ...) {
        va_list ap;

        mask &= a->kinds;
        if (!mask)
                return;
        if ((mask & (1u << K_IOPRIO)) && !a->marking_pid)
                a->scan_all = true;
        if (!a->dirty) {
                sdev.source_set_time_relative(a->debounce, DEBOUNCE_USEC);
                sdev.source_set_enabled(a->debounce, SD_EVENT_ONESHOT);
        }
        a->dirty |= mask;
        if (!a->cause) {
                a->t_event = now_us();
                va_start(ap, fmt);
                a->cause = xvasprintf(fmt, ap);
                va_end(ap);
        }
}

/* ---- rtnetlink ---- */

static int rtnl_open(void) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
                                  .nl_groups = (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_TC - 1)) };
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static const char *rtm_name(int type) {
        switch (type) {
        case RTM_NEWLINK: return "link changed";
        case RTM_DELLINK: return "link deleted";
        case RTM_NEWQDISC: return "qdisc added or changed";
        case RTM_DELQDISC: return "qdisc deleted";
        case RTM_NEWTCLASS: return "class added or changed";
        case RTM_DELTCLASS: return "class deleted";
        case RTM_NEWTFILTER: return "filter added or changed";
        case RTM_DELTFILTER: return "filter deleted";
        default: return "rtnetlink event";
        }
}

static int on_rtnl(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *u) {
        struct agent *a = u;
        char buf[16384];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == ENOBUFS) {
                                /* Lost events: look at everything the network kinds own. */
                                mark(a, (1u << K_TC) | (1u << K_NIC), "rtnetlink events lost (ENOBUFS)");
                                continue;
                        }
                        break;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        int ifindex = 0;
                        char ifname[32] = "?";
                        if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
                                ifindex = ((struct ifinfomsg *) NLMSG_DATA(h))->ifi_index;
                        else if (h->nlmsg_type >= RTM_NEWQDISC && h->nlmsg_type <= RTM_GETTFILTER)
                                ifindex = ((struct tcmsg *) NLMSG_DATA(h))->tcm_ifindex;
                        else
                                continue;
                        if (ifindex > 0 && !if_indextoname((unsigned) ifindex, ifname))
                                snprintf(ifname, sizeof ifname, "ifindex %d", ifindex);
                        mark(a, (1u << K_TC) | (1u << K_NIC), "%s: %s", ifname, rtm_name(h->nlmsg_type));
                }
        }
        return 0;
}

/* ---- the proc connector ---- */

/* The kernel answers a listen request at once with an ack (PROC_EVENT_NONE, our ack + 1) —
 * unless it ignores the request: the proc connector serves only the initial pid and user
 * namespaces and says nothing to anyone else, who still gets the events other listeners
 * asked for, with pids of a namespace it cannot see. So no ack means no process events. */
static int proc_open(char **ret_why) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
        uint32_t nonce = (uint32_t) getpid() ^ (uint32_t) now_us();
        struct {
                struct nlmsghdr h;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = NLMSG_DONE },
                .cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .ack = nonce,
                        .len = sizeof(enum proc_cn_mcast_op) },
                .op = PROC_CN_MCAST_LISTEN,
        };
        uint64_t deadline = now_us() + 250000;
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
        int r;

        if (fd < 0) {
                *ret_why = xasprintf("proc connector: %s", strerror(errno));
                return -errno;
        }
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || send(fd, &req, sizeof(req), 0) < 0) {
                r = -errno;
                *ret_why = xasprintf("proc connector: %s%s", strerror(-r),
                                     r == -ECONNREFUSED ? ", it serves only the initial network namespace" : "");
                close(fd);
                return r;
        }
        for (uint64_t t; (t = now_us()) < deadline;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (poll(&p, 1, (int) ((deadline - t) / 1000) + 1) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; n > 0 && NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        struct cn_msg *cn = NLMSG_DATA(h);
                        struct proc_event ev = { 0 };
                        if (cn->id.idx != CN_IDX_PROC || cn->ack != nonce + 1)
                                continue;
                        memcpy(&ev, cn->data, cn->len < sizeof(ev) ? cn->len : sizeof(ev));
                        if (ev.what != PROC_EVENT_NONE)
                                continue;
                        if (ev.event_data.ack.err == 0)
                                return fd;
                        *ret_why = xasprintf("proc connector: %s", strerror((int) ev.event_data.ack.err));
                        close(fd);
                        return -(int) ev.event_data.ack.err;
                }
        }
        *ret_why = xstrdup("the proc connector did not answer: it serves only the initial pid and user namespaces, and medic runs in another");
        close(fd);
        return -EPERM;
}

/* Would one of the policy's process targets find pid? Cheap checks only: its comm, exe,
 * cgroup (unit) and pidfiles; io-priority's plan does the real lookup. */
static bool is_target(const struct agent *a, pid_t pid) {
        _cleanup_free_ char *comm = NULL, *cgroup = NULL, *path = NULL;
        char exe[4096];
        ssize_t n;

        path = xasprintf("/proc/%d/comm", (int) pid);
        (void) read_line_file(path, &comm);
        free(path);
        path = xasprintf("/proc/%d/exe", (int) pid);
        n = readlink(path, exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = 0;
        free(path);
        path = xasprintf("/proc/%d/cgroup", (int) pid);
        (void) read_file(path, &cgroup, NULL);
        for (size_t i = 0; i < a->policy->n_targets; i++) {
                const struct target *t = &a->policy->targets[i];
                for (size_t j = 0; t->kind == TARGET_PROCESS && j < t->n_rules; j++) {
                        const struct process_rule *rule = &t->rules[j];
                        _cleanup_free_ char *unit = NULL, *pidtext = NULL;
                        switch (rule->kind) {
                        case RULE_COMM:
                                if (streq(comm, rule->value))
                                        return true;
                                break;
                        case RULE_EXE:
                                if (streq(exe, rule->value))
                                        return true;
                                break;
                        case RULE_UNIT:
                                unit = xasprintf("/%s\n", rule->value);
                                if (cgroup && strstr(cgroup, unit))
                                        return true;
                                break;
                        case RULE_PIDFILE:
                                if (read_line_file(rule->value, &pidtext) >= 0 && atoi(pidtext) == pid)
                                        return true;
                                break;
                        case _RULE_KIND_MAX:
                                break;
                        }
                }
        }
        return false;
}

static int on_proc(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *u) {
        struct agent *a = u;
        char buf[4096];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == ENOBUFS) {
                                mark(a, 1u << K_IOPRIO, "process events lost (ENOBUFS): looking again");
                                continue;
                        }
                        break;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        struct cn_msg *cn = NLMSG_DATA(h);
                        struct proc_event ev = { 0 };
                        pid_t pid;
                        if (cn->id.idx != CN_IDX_PROC)
                                continue;
                        /* The event sits 36 bytes into the message (nlmsghdr + cn_msg): not
                         * aligned for its u64 timestamp, so it is copied out, not cast. */
                        memcpy(&ev, cn->data, cn->len < sizeof(ev) ? cn->len : sizeof(ev));
                        if (ev.what == PROC_EVENT_EXEC)
                                pid = ev.event_data.exec.process_tgid;
                        else if (ev.what == PROC_EVENT_COMM)
                                pid = ev.event_data.comm.process_tgid;
                        else
                                continue;
                        if (is_target(a, pid)) {
                                a->new_pids = xrealloc(a->new_pids, (a->n_new_pids + 1) * sizeof(*a->new_pids));
                                a->new_pids[a->n_new_pids++] = pid;
                                a->marking_pid = true;
                                mark(a, 1u << K_IOPRIO, "pid %d started", (int) pid);
                                a->marking_pid = false;
                        }
                }
        }
        return 0;
}

/* ---- without the proc connector: etcd's cgroups ---- */

/* The cgroups to watch: each process target's unit (where systemd puts it when it is not
 * running: system.slice) and every cgroup a target's process was found in since the start
 * or the last reload (etcd's next start is most likely where the last one ran). */
static char **fallback_dirs(struct agent *a, const char *root) {
        char **dirs = NULL;

        for (size_t i = 0; a->policy && i < a->policy->n_targets; i++) {
                const struct target *t = &a->policy->targets[i];
                struct proc_found f = { 0 };
                if (t->kind != TARGET_PROCESS)
                        continue;
                for (size_t j = 0; j < t->n_rules; j++) {
                        char *d;
                        struct stat st;
                        _cleanup_free_ char *slice = xasprintf("%s/system.slice", root);
                        if (t->rules[j].kind != RULE_UNIT)
                                continue;
                        d = cgroup_unit_dir(root, t->rules[j].value);
                        if (!d)
                                d = stat(slice, &st) == 0 ? xasprintf("%s/%s", slice, t->rules[j].value)
                                                          : xasprintf("%s/%s", root, t->rules[j].value);
                        if (strv_contains(dirs, d))
                                free(d);
                        else
                                strv_push(&dirs, d);
                }
                (void) proc_find(t->rules, t->n_rules, &f);
                for (size_t k = 0; k < f.n && k < 8; k++) {
                        char *d = cgroup_of_pid(root, f.procs[k].pid);
                        if (!d || strv_contains(a->cg_known, d))
                                free(d);
                        else
                                strv_push(&a->cg_known, d);
                }
                proc_found_done(&f);
        }
        for (size_t k = 0; a->cg_known && a->cg_known[k]; k++)
                if (!strv_contains(dirs, a->cg_known[k]))
                        strv_push(&dirs, xstrdup(a->cg_known[k]));
        return dirs;
}

static void fallback_refresh(struct agent *a) {
        _cleanup_strv_ char **dirs = NULL;
        _cleanup_free_ char *what = NULL;
        char *note;

        if (!a->cgw)
                return;
        dirs = a->kinds & (1u << K_IOPRIO) ? fallback_dirs(a, cgroup2_root()) : NULL;
        if (!(a->kinds & (1u << K_IOPRIO))) {
                (void) cgroup_watch_set(a->cgw, NULL);
                note = xasprintf("no process events: %s; no io-priority action needs them", a->proc_why);
        } else if (cgroup_watch_set(a->cgw, dirs) > 0) {
                what = cgroup_watch_describe(a->cgw);
                note = xasprintf("no process events: %s; etcd (re)starts seen through cgroup.events of %s, and at the sysctl timer",
                                 a->proc_why, what);
        } else
                note = xasprintf("no process events: %s; no cgroup of a process target to watch yet: etcd (re)starts found at the sysctl timer",
                                 a->proc_why);
        if (!streq_ptr(note, a->proc_note))
                say("%s", note);
        free(a->proc_note);
        a->proc_note = note;
}

static int on_cg_again(sd_event_source *s, uint64_t usec _unused_, void *u) {
        struct agent *a = u;

        mark(a, 1u << K_IOPRIO, "a process entered etcd's cgroup: looked at again (a wrapper may exec etcd after it entered)");
        if (a->cg_again_step++ == 0) {
                sdev.source_set_time_relative(s, 1000000);
                sdev.source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static int on_cgroup(sd_event_source *s _unused_, int fd _unused_, uint32_t revents _unused_, void *u) {
        struct agent *a = u;
        _cleanup_free_ char *cause = NULL;
        bool filled = false;

        if (cgroup_watch_read(a->cgw, &cause, &filled) <= 0)
                return 0;
        mark(a, 1u << K_IOPRIO, "%s", cause);
        /* The first process of a unit is often not etcd yet (systemd's fork, a wrapper
         * script): two more looks, 0.1 s and 1 s later, find what it execs. */
        if (filled) {
                a->cg_again_step = 0;
                sdev.source_set_time_relative(a->cg_again, 100000);
                sdev.source_set_enabled(a->cg_again, SD_EVENT_ONESHOT);
        }
        return 0;
}

/* The proc connector does not serve this agent: watch etcd's cgroups where cgroup v2 is
 * mounted; else only the sysctl timer finds a restarted etcd. */
static void fallback_start(struct agent *a) {
        const char *root = cgroup2_root();
        int r;

        if (!root) {
                a->proc_note = xasprintf("no process events: %s; no cgroup v2 mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified: etcd (re)starts found at the sysctl timer only",
                                         a->proc_why);
                say("%s", a->proc_note);
                return;
        }
        r = cgroup_watch_new(&a->cgw);
        if (r < 0) {
                a->proc_note = xasprintf("no process events: %s; no inotify (%s): etcd (re)starts found at the sysctl timer only",
                                         a->proc_why, strerror(-r));
                say("%s", a->proc_note);
                return;
        }
        sdev.add_io(a->e, &a->cg_src, cgroup_watch_fd(a->cgw), EPOLLIN, on_cgroup, a);
        sdev.add_time_relative(a->e, &a->cg_again, CLOCK_MONOTONIC, 100000, 1000, on_cg_again, a);
        sdev.source_set_enabled(a->cg_again, SD_EVENT_OFF);
}

/* ---- mounts ---- */

static int mnt_open(void) {
        struct host_view v = { 0 };
        _cleanup_free_ char *why = NULL, *path = NULL;
        int fd;

        if (host_view_open(&v, &why) < 0)
                path = xstrdup("/proc/self/mountinfo");
        else
                path = v.other_ns ? xasprintf("/proc/%d/mountinfo", (int) v.host_pid) : xstrdup("/proc/self/mountinfo");
        host_view_done(&v);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int on_mounts(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *u) {
        struct agent *a = u;
        char buf[4096];

        /* POLLPRI stays raised until the table is read again from the start. */
        (void) lseek(fd, 0, SEEK_SET);
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        host_view_invalidate();
        mark(a, 1u << K_MOUNT, "the mount table changed");
        return 0;
}

/* Listens only for what the policy's kinds need: an agent with nothing to do for a source
 * is not woken by it. */
static void listen_for(struct agent *a) {
        a->kinds = 0;
        for (size_t i = 0; a->policy && i < a->policy->n_actions; i++)
                for (int k = 0; k < _K_MAX; k++)
                        if (streq(a->policy->actions[i].ops->kind, kind_names[k]))
                                a->kinds |= 1u << k;
        if (a->rtnl_src)
                sdev.source_set_enabled(a->rtnl_src, a->kinds & ((1u << K_TC) | (1u << K_NIC)) ? SD_EVENT_ON : SD_EVENT_OFF);
        if (a->proc_src)
                sdev.source_set_enabled(a->proc_src, a->kinds & (1u << K_IOPRIO) ? SD_EVENT_ON : SD_EVENT_OFF);
        if (a->mnt_src)
                sdev.source_set_enabled(a->mnt_src, a->kinds & (1u << K_MOUNT) ? SD_EVENT_ON : SD_EVENT_OFF);
        if (a->sysctl_timer)
                sdev.source_set_enabled(a->sysctl_timer,
                                        a->kinds & ((1u << K_SYSCTL) | (a->proc_fd < 0 ? 1u << K_IOPRIO : 0)) ? SD_EVENT_ONESHOT
                                                                                                         : SD_EVENT_OFF);
}

/* A flag on the command line wins over the policy's agent: section, which wins over the
 * defaults. */
static void settings(struct agent *a, const struct options *given) {
        a->opt.sysctl_interval_s = given->sysctl_interval_s > 0 ? given->sysctl_interval_s
                                   : a->policy->agent_sysctl_interval > 0 ? a->policy->agent_sysctl_interval
                                                                           : 60;
        a->opt.fight_limit = given->fight_limit >= 0 ? given->fight_limit
                             : a->policy->agent_fight_limit >= 0 ? a->policy->agent_fight_limit
                                                                  : FIGHT_DEFAULT;
}

/* ---- timer and signals ---- */

static int on_sysctl_timer(sd_event_source *s, uint64_t usec _unused_, void *u) {
        struct agent *a = u;
        unsigned mask = 1u << K_SYSCTL;

        /* Without process events, etcd restarts are found here too. */
        if (a->proc_fd < 0)
                mask |= 1u << K_IOPRIO;
        repair(a, mask, "sysctl timer", false);
        sdev.source_set_time_relative(s, a->opt.sysctl_interval_s * 1000000ULL);
        sdev.source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_hup(sd_event_source *s _unused_, const struct signalfd_siginfo *si _unused_, void *u) {
        struct agent *a = u;
        struct policy *p = NULL;
        struct perr err = { 0 };

        if (policy_load(a->opt.policy_path, &p, &err) < 0) {
                say("SIGHUP: %s is invalid; keeping the policy that runs:", a->opt.policy_path);
                for (size_t i = 0; i < err.n; i++)
                        say("  %s", err.msgs[i]);
                perr_done(&err);
                return 0;
        }
        perr_done(&err);
        policy_free(a->policy);
        a->policy = p;
        settings(a, a->given);
        for (size_t i = 0; i < a->n_fights; i++) {
                free(a->fights[i].object);
                free(a->fights[i].t);
        }
        a->n_fights = 0;
        strv_free(a->given_up);
        strv_free(a->rolled_back);
        strv_free(a->cg_known);
        a->given_up = a->rolled_back = a->cg_known = NULL;
        rebuild_skip(a);
        listen_for(a);
        sdev.source_set_time_relative(a->sysctl_timer, a->opt.sysctl_interval_s * 1000000ULL);
        say("SIGHUP: policy %s reloaded (sha256 %s)", p->name, p->sha256);
        sdev.notify(0, "RELOADING=1");
        repair(a, 0, "policy reloaded", true);
        sdev.notify(0, "READY=1");
        return 0;
}

static int on_term(sd_event_source *s _unused_, const struct signalfd_siginfo *si, void *u) {
        struct agent *a = u;
        say("%s: exiting; changes stay in place", strsignal((int) si->ssi_signo));
        sdev.notify(0, "STOPPING=1");
        sdev.exit(a->e, 0);
        return 0;
}

int agent_run(struct run *boot) {
        struct agent a = { .opt = *boot->opt, .rtnl_fd = -1, .proc_fd = -1, .mnt_fd = -1 };
        sigset_t ss;
        int r, code = EXIT_CANNOT;

        r = sdlib_event_load();
        if (r < 0) {
                report_error(&boot->rep, "medic agent needs libsystemd (libsystemd0): %s", strerror(-r));
                return EXIT_CANNOT;
        }
        a.policy = TAKE_PTR(boot->policy);
        a.given = boot->opt;
        settings(&a, a.given);
        /* One lock wait per repair: a CLI apply or rollback finishes first. Shorter than the
         * unit's WatchdogSec=, so a stuck CLI run does not get the agent killed. */
        a.opt.wait_ms = 20 * 1000;

        sigemptyset(&ss);
        sigaddset(&ss, SIGHUP);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigprocmask(SIG_BLOCK, &ss, NULL);
        if (sdev.event_new(&a.e) < 0) {
                report_error(&boot->rep, "cannot create the event loop");
                goto out;
        }
        sdev.add_signal(a.e, NULL, SIGHUP, on_hup, &a);
        sdev.add_signal(a.e, NULL, SIGTERM, on_term, &a);
        sdev.add_signal(a.e, NULL, SIGINT, on_term, &a);
        /* Accuracy 1 µs: sd-event takes 0 for its default, 250 ms, and moves the wake-up
         * anywhere within that window to coalesce timers; that was the repairs' tail. */
        sdev.add_time_relative(a.e, &a.debounce, CLOCK_MONOTONIC, DEBOUNCE_USEC, 1, on_debounce, &a);
        sdev.source_set_enabled(a.debounce, SD_EVENT_OFF);

        a.rtnl_fd = rtnl_open();
        if (a.rtnl_fd < 0)
                say("cannot listen to rtnetlink (%s): traffic-priority and nic-offload are not watched", strerror(-a.rtnl_fd));
        else
                sdev.add_io(a.e, &a.rtnl_src, a.rtnl_fd, EPOLLIN, on_rtnl, &a);
        a.proc_fd = proc_open(&a.proc_why);
        if (a.proc_fd < 0)
                fallback_start(&a);
        else
                sdev.add_io(a.e, &a.proc_src, a.proc_fd, EPOLLIN, on_proc, &a);
        a.mnt_fd = mnt_open();
        if (a.mnt_fd < 0)
                say("cannot watch the mount table (%s): mount-options are checked at the sysctl timer", strerror(-a.mnt_fd));
        else
                sdev.add_io(a.e, &a.mnt_src, a.mnt_fd, EPOLLPRI, on_mounts, &a);
        sdev.add_time_relative(a.e, &a.sysctl_timer, CLOCK_MONOTONIC, a.opt.sysctl_interval_s * 1000000ULL, 1000,
                               on_sysctl_timer, &a);
        listen_for(&a);
        sdev.set_watchdog(a.e, 1);

        /* The start: interrupted sets recovered, the policy applied as one change set. What
         * was rolled back before the agent started is the past: this apply supersedes it. */
        (void) journal_next_id(a.opt.state_dir, &a.last_set);
        a.last_set--;
        repair(&a, 0, "agent started", true);
        write_status(&a, NULL);
        sdev.notify(0, "READY=1");
        say("running with policy %s (%s); sysctls checked every %ld s", a.policy->name, a.opt.policy_path,
            a.opt.sysctl_interval_s);
        r = sdev.loop(a.e);
        code = r < 0 ? EXIT_FAILURES : EXIT_NOTHING;
out:
        if (a.rtnl_src)
                sdev.source_unref(a.rtnl_src);
        if (a.proc_src)
                sdev.source_unref(a.proc_src);
        if (a.mnt_src)
                sdev.source_unref(a.mnt_src);
        if (a.cg_src)
                sdev.source_unref(a.cg_src);
        if (a.cg_again)
                sdev.source_unref(a.cg_again);
        cgroup_watch_free(a.cgw);
        if (a.debounce)
                sdev.source_unref(a.debounce);
        if (a.sysctl_timer)
                sdev.source_unref(a.sysctl_timer);
        if (a.e)
                sdev.event_unref(a.e);
        closep(&a.rtnl_fd);
        closep(&a.proc_fd);
        closep(&a.mnt_fd);
        for (size_t i = 0; i < a.n_fights; i++) {
                free(a.fights[i].object);
                free(a.fights[i].t);
        }
        free(a.fights);
        strv_free(a.given_up);
        strv_free(a.rolled_back);
        strv_free(a.skip);
        free(a.cause);
        free(a.proc_note);
        free(a.proc_why);
        free(a.new_pids);
        strv_free(a.cg_known);
        free(a.last_repair);
        policy_free(a.policy);
        {
                _cleanup_free_ char *path = xasprintf("%s/agent", a.opt.state_dir);
                (void) unlink(path);
        }
        return code;
}
