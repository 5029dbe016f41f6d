/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How the agent sees etcd (re)start, for io-priority: the proc connector's exec and comm
 * events for a process one of the policy's process targets would find; where the
 * connector does not serve medic, cgroup.events of etcd's cgroups (v2); else only the
 * sysctl timer. */
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "daemon_int.h"
#include "kernel/proc.h"
#include "kernel/proc_events.h"

/* Would one of the policy's process targets find pid? io-priority's plan then looks with
 * the whole rule list. */
static bool is_target(const struct agent *a, pid_t pid) {
        for (size_t i = 0; i < a->policy->n_targets; i++) {
                const struct target *t = &a->policy->targets[i];
                if (t->kind == TARGET_PROCESS && proc_rules_match(pid, t->rules, t->n_rules))
                        return true;
        }
        return false;
}

static void on_proc_event(pid_t pid, void *u) {
        struct agent *a = u;

        if (pid == 0) {
                agent_mark(a, 1u << K_IOPRIO, "process events lost (ENOBUFS): looking again");
                return;
        }
        if (!is_target(a, pid))
                return;
        a->new_pids = xrealloc(a->new_pids, (a->n_new_pids + 1) * sizeof(*a->new_pids));
        a->new_pids[a->n_new_pids++] = pid;
        a->marking_pid = true;
        agent_mark(a, 1u << K_IOPRIO, "pid %d started", (int) pid);
        a->marking_pid = false;
}

static int on_proc(sd_event_source *s _unused_, int fd, uint32_t revents _unused_, void *u) {
        (void) proc_events_drain(fd, on_proc_event, u);
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

void agent_fallback_refresh(struct agent *a) {
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
                agent_say("%s", note);
        free(a->proc_note);
        a->proc_note = note;
}

static int on_cg_again(sd_event_source *s, uint64_t usec _unused_, void *u) {
        struct agent *a = u;

        agent_mark(a, 1u << K_IOPRIO, "a process entered etcd's cgroup: looked at again (a wrapper may exec etcd after it entered)");
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
        agent_mark(a, 1u << K_IOPRIO, "%s", cause);
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
                agent_say("%s", a->proc_note);
                return;
        }
        r = cgroup_watch_new(&a->cgw);
        if (r < 0) {
                a->proc_note = xasprintf("no process events: %s; no inotify (%s): etcd (re)starts found at the sysctl timer only",
                                         a->proc_why, strerror(-r));
                agent_say("%s", a->proc_note);
                return;
        }
        sdev.add_io(a->e, &a->cg_src, cgroup_watch_fd(a->cgw), EPOLLIN, on_cgroup, a);
        sdev.add_time_relative(a->e, &a->cg_again, CLOCK_MONOTONIC, 100000, 1000, on_cg_again, a);
        sdev.source_set_enabled(a->cg_again, SD_EVENT_OFF);
}

void agent_procs_start(struct agent *a) {
        a->proc_fd = proc_events_open(&a->proc_why);
        if (a->proc_fd < 0)
                fallback_start(a);
        else
                sdev.add_io(a->e, &a->proc_src, a->proc_fd, EPOLLIN, on_proc, a);
}
