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
 * SIGHUP reloads the policy (a bad one keeps the old); SIGTERM/SIGINT exit, changes kept.
 *
 * The kernel's side of each source is in agent/kernel/ (rtnl_events.c, proc_events.c,
 * cgroup_watch.c, mount_watch.c); how etcd (re)starts are seen is daemon_procs.c, what the
 * agent leaves alone daemon_fight.c, what it tells daemon_status.c. */
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "daemon.h"
#include "daemon_int.h"
#include "kernel/memtrim.h"
#include "kernel/mount_watch.h"
#include "kernel/proc.h"
#include "kernel/rtnl_events.h"

static const char *const kind_names[_K_MAX] = {
        [K_SYSCTL] = "sysctl",       [K_IOPRIO] = "io-priority", [K_TC] = "traffic-priority",
        [K_NIC] = "nic-offload",     [K_MOUNT] = "mount-options",
};

void agent_say(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("medic agent: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
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
                        agent_say("%s", run.rep.errors[i]);
                goto out;
        }
        t[2] = now_us();
        agent_follow_journal(a);
        run.repair_skip = a->skip;
        if (engine_recover(&run) < 0) {
                for (size_t i = 0; run.rep.errors && run.rep.errors[i]; i++)
                        agent_say("%s", run.rep.errors[i]);
                goto out;
        }
        t[3] = now_us();
        code = start ? engine_apply(&run) : engine_repair(&run, kinds, NULL, cause);
        t[4] = now_us();
        for (size_t i = 0; i < run.rep.n_rows; i++) {
                const struct row *r = &run.rep.rows[i];
                if (r->status == ROW_CHANGED) {
                        a->repairs += !start;
                        agent_say("%s %s: %s → %s (%s)", start ? "applied" : "repaired", r->object, r->current ? r->current : "?",
                            r->wanted ? r->wanted : "?", cause);
                        if (!start && agent_fight(a, r->object)) {
                                _cleanup_free_ char *msg = xasprintf(
                                        "changed back %ld times within %llu s by someone else: the agent stops repairing it until reload%s",
                                        a->opt.fight_limit, FIGHT_WINDOW_USEC / 1000000,
                                        streq(r->kind, "sysctl") ? " (a write to /proc/sys names no writer)" : "");
                                agent_say("%s: %s", r->object, msg);
                                (void) audit_event(&run, EV_CONFLICT, run.rep.change, r->action, r->kind, r->object,
                                                   r->current_json, r->wanted_json, "conflict", msg);
                                strv_push(&a->given_up, xstrdup(r->object));
                                agent_rebuild_skip(a);
                        }
                } else if (r->status == ROW_FAILED || r->status == ROW_CONFLICT)
                        agent_say("%s %s: %s (%s)", r->status == ROW_FAILED ? "could not repair" : "conflict on", r->object,
                            r->reason ? r->reason : "?", cause);
        }
        for (size_t i = 0; run.rep.errors && run.rep.errors[i]; i++)
                agent_say("%s", run.rep.errors[i]);
        if (run.rep.change > a->last_set)
                a->last_set = run.rep.change;
        if (!start && run.rep.change)
                agent_write_status(a, cause);
        if (start || (mask & (1u << K_IOPRIO)))
                agent_fallback_refresh(a);
        if (a->opt.prometheus)
                agent_write_metrics(a, &run.rep);
        t[5] = now_us();
        agent_trace(cause, t, ELEMENTSOF(t));
        (void) code;
out:
        run.policy = NULL;
        run.repair_skip = NULL;
        run_done(&run);
        agent_status(a);
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

void agent_mark(struct agent *a, unsigned mask, const char *fmt, ...) {
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

static void on_rtnl_event(const struct rtnl_event *ev, void *u) {
        struct agent *a = u;

        if (!ev)
                /* Lost events: look at everything the network kinds own. */
                agent_mark(a, (1u << K_TC) | (1u << K_NIC), "rtnetlink events lost (ENOBUFS)");
        else
                agent_mark(a, (1u << K_TC) | (1u << K_NIC), "%s: %s", ev->ifname, ev->what);
}

static int on_rtnl(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *u) {
        (void) rtnl_events_drain(fd, on_rtnl_event, u);
        return 0;
}

/* ---- mounts ---- */

static int on_mounts(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *u) {
        mount_watch_ack(fd);
        agent_mark(u, 1u << K_MOUNT, "the mount table changed");
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
                agent_say("SIGHUP: %s is invalid; keeping the policy that runs:", a->opt.policy_path);
                for (size_t i = 0; i < err.n; i++)
                        agent_say("  %s", err.msgs[i]);
                perr_done(&err);
                return 0;
        }
        perr_done(&err);
        policy_free(a->policy);
        a->policy = p;
        settings(a, a->given);
        agent_fights_forget(a);
        strv_free(a->given_up);
        strv_free(a->rolled_back);
        strv_free(a->cg_known);
        a->given_up = a->rolled_back = a->cg_known = NULL;
        agent_rebuild_skip(a);
        listen_for(a);
        sdev.source_set_time_relative(a->sysctl_timer, a->opt.sysctl_interval_s * 1000000ULL);
        agent_say("SIGHUP: policy %s reloaded (sha256 %s)", p->name, p->sha256);
        sdev.notify(0, "RELOADING=1");
        repair(a, 0, "policy reloaded", true);
        sdev.notify(0, "READY=1");
        return 0;
}

static int on_term(sd_event_source *s _unused_, const struct signalfd_siginfo *si, void *u) {
        struct agent *a = u;
        agent_say("%s: exiting; changes stay in place", strsignal((int) si->ssi_signo));
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

        a.rtnl_fd = rtnl_events_open();
        if (a.rtnl_fd < 0)
                agent_say("cannot listen to rtnetlink (%s): traffic-priority and nic-offload are not watched", strerror(-a.rtnl_fd));
        else
                sdev.add_io(a.e, &a.rtnl_src, a.rtnl_fd, EPOLLIN, on_rtnl, &a);
        agent_procs_start(&a);
        a.mnt_fd = mount_watch_open();
        if (a.mnt_fd < 0)
                agent_say("cannot watch the mount table (%s): mount-options are checked at the sysctl timer", strerror(-a.mnt_fd));
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
        agent_write_status(&a, NULL);
        sdev.notify(0, "READY=1");
        agent_say("running with policy %s (%s); sysctls checked every %ld s", a.policy->name, a.opt.policy_path,
            a.opt.sysctl_interval_s);
        /* Start-up (parsing, recovery, the first apply) touched far more code than waiting
         * and repairing will: give its clean pages back before going idle. */
        r = memtrim_release(NULL);
        if (r < 0)
                agent_say("start-up pages not given back: %s", strerror(-r));
        r = sdev.loop(a.e);
        code = r < 0 ? EXIT_FAILURES : EXIT_NOTHING;
out:
        {
                /* The event sources go before the watch whose descriptor cg_src reads. */
                sd_event_source *sources[] = { a.rtnl_src, a.proc_src, a.mnt_src, a.cg_src,
                                               a.cg_again, a.debounce, a.sysctl_timer };
                for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                        if (sources[i])
                                sdev.source_unref(sources[i]);
        }
        cgroup_watch_free(a.cgw);
        if (a.e)
                sdev.event_unref(a.e);
        closep(&a.rtnl_fd);
        closep(&a.proc_fd);
        closep(&a.mnt_fd);
        agent_fights_forget(&a);
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
