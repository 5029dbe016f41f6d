/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The agent's state, shared by its files: daemon.c (the loop: sources, debounce, repair,
 * reload), daemon_procs.c (how etcd (re)starts are seen), daemon_fight.c (what the agent
 * leaves alone: fights, an operator's rollbacks), daemon_status.c (what it tells: STATUS=,
 * STATE/agent, the metrics file, the trace hook). */

#include "engine_int.h"
#include "kernel/cgroup_watch.h"
#include "kernel/sdlib.h"

#define DEBOUNCE_USEC 2000ULL /* a burst of netlink messages is one repair */
#define FIGHT_DEFAULT 5       /* repairs of one object ... */
#define FIGHT_WINDOW_USEC (60ULL * 1000000) /* ... within this long: a fight */

enum { K_SYSCTL, K_IOPRIO, K_TC, K_NIC, K_MOUNT, _K_MAX };

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

static inline uint64_t now_us(void) {
        return now_monotonic_ns() / 1000;
}

/* daemon.c */
void agent_say(const char *fmt, ...) _printf_(1, 2);
/* An event: marks kinds (1 << K_*) dirty for the next repair; the first cause of a burst
 * names it. */
void agent_mark(struct agent *a, unsigned mask, const char *fmt, ...) _printf_(3, 4);

/* daemon_procs.c */
/* The proc connector, or where it does not serve the agent, etcd's cgroups. */
void agent_procs_start(struct agent *a);
/* Without the proc connector: the cgroups watched follow the policy's process targets. */
void agent_fallback_refresh(struct agent *a);

/* daemon_fight.c */
void agent_rebuild_skip(struct agent *a);
void agent_follow_journal(struct agent *a);
bool agent_fight(struct agent *a, const char *object);
void agent_fights_forget(struct agent *a);

/* daemon_status.c */
void agent_status(struct agent *a);
void agent_write_status(struct agent *a, const char *last);
void agent_write_metrics(struct agent *a, const struct report *rep);
void agent_trace(const char *cause, const uint64_t *t, size_t n);
