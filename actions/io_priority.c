/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io-priority: ionice for every thread of the target's processes.
 *
 * I/O priority is per thread: `ionice -p PID` changes one thread of a Go program that has
 * dozens. medic sets every thread with ioprio_set(IOPRIO_WHO_PROCESS, tid) and walks
 * /proc/PID/task again until no new thread appears. A process is named by pid *and* start
 * time, so a restarted etcd is never mistaken for the one that was changed. */
#include <json-c/json.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "../agent/kernel/blockdev.h"
#include "../agent/kernel/proc.h"
#include "../agent/ynode.h"
#include "action.h"
#include "target.h"

#define DEFAULT_DATA_DIR "/var/lib/etcd"
/* Enough passes for a Go runtime that starts threads while we walk; each pass that finds
 * no new thread ends the walk. */
#define MAX_PASSES 64

static const char *const class_names[] = {
        [IOPRIO_CLASS_NONE] = "none",
        [IOPRIO_CLASS_RT] = "realtime",
        [IOPRIO_CLASS_BE] = "best-effort",
        [IOPRIO_CLASS_IDLE] = "idle",
};

struct iop_thread {
        pid_t tid;
        int class;
        int level;
};

/* An io-priority state is the policy's entry (target, class, level, data dir, journal
 * thread) and, once planned, the process it names. Its JSON is the policy's own keys, with
 * the process and its threads under "observed".
 *
 * A planned state is about one process: the target's (journal_thread false), or, when the
 * entry asks for it, the data dir's ext4 journal thread (journal_thread true: this item is
 * the entry's journal-thread part, and its before reads as an entry that asks for it).
 *
 * Where a read differs from a wanted state it must: ioprio is per thread, and a process
 * some of whose threads hold another value (medic stopped between two ioprio_set calls,
 * or someone's ionice on one thread) has no single class. So a read records every thread
 * as the kernel holds it, and class/level are the main thread's (new threads inherit it). A
 * wanted state has no threads: every thread, present or born later, is to hold class/level. */
struct iop_state {
        char *target;   /* the policy's process target, by name */
        int class;
        int level;
        char *data_dir; /* whose disk's scheduler the notes look at, whose journal thread */
        bool journal_thread; /* parsed: the data dir's jbd2 thread too; planned: this is it */
        const struct target *t; /* a parsed state: the target the plan resolves */
        const struct ynode *at;

        pid_t pid;      /* planned and read: the process (0 in a parsed state) */
        uint64_t starttime;
        char comm[16];
        char *found_by;             /* planned: "unit etcd.service", for the notes */
        struct iop_thread *threads; /* read: every thread */
        size_t n;
};

static int class_from_name(const char *s) {
        for (int c = 0; c < (int) ELEMENTSOF(class_names); c++)
                if (streq(class_names[c], s))
                        return c;
        return -1;
}

static const char *class_name(int c) {
        return c >= 0 && c < (int) ELEMENTSOF(class_names) ? class_names[c] : "?";
}

static bool has_levels(int class) {
        return class == IOPRIO_CLASS_RT || class == IOPRIO_CLASS_BE;
}

static bool prio_eq(int c1, int l1, int c2, int l2) {
        return c1 == c2 && (!has_levels(c1) || l1 == l2);
}

static void iop_free(void *p) {
        struct iop_state *s = p;
        if (!s)
                return;
        free(s->target);
        free(s->threads);
        free(s->found_by);
        free(s->data_dir);
        free(s);
}

/* "best-effort/4", "idle": what class and level say, as the policy would. */
static char *prio_str(int class, int level) {
        return has_levels(class) ? xasprintf("%s/%d", class_name(class), level) : xstrdup(class_name(class));
}

/* A new state for the process p with what s asks of it: the policy's part is copied. */
static struct iop_state *state_for(const struct iop_state *s, pid_t pid, uint64_t starttime, const char *comm) {
        struct iop_state *w = xcalloc(1, sizeof(*w));
        w->target = xstrdup(s->target);
        w->class = s->class;
        w->level = s->level;
        w->data_dir = xstrdup(s->data_dir);
        w->journal_thread = s->journal_thread;
        w->pid = pid;
        w->starttime = starttime;
        str_copy(w->comm, comm, sizeof w->comm);
        return w;
}

static int iop_parse(const struct ynode *node, const struct policy *pol, void **ret_state, struct perr *err) {
        static const char *const keys[] = { "target", "class", "level", "data-dir", "journal-thread", NULL };
        const struct ynode *v;
        struct iop_state *s;
        const char *str;
        int r = 0;

        if (ynode_expect(node, YNODE_MAP, "io-priority", err) < 0)
                return -EINVAL;
        if (ynode_check_keys(node, "io-priority", keys, err) < 0)
                r = -EINVAL;
        s = xcalloc(1, sizeof(*s));
        s->at = node;
        s->class = -1;
        s->level = 4; /* the kernel's default best-effort level */

        if (!(v = ynode_get(node, "target"))) {
                perr_add(err, node, "io-priority: missing 'target' (a process target)");
                r = -EINVAL;
        } else if (ynode_string(v, "io-priority.target", &str, err) < 0)
                r = -EINVAL;
        else if (!(s->t = policy_target(pol, str))) {
                perr_add(err, v, "io-priority.target: no target named '%s'", str);
                r = -EINVAL;
        } else if (s->t->kind != TARGET_PROCESS) {
                perr_add(err, v, "io-priority.target: '%s' is not a process target", str);
                r = -EINVAL;
        }
        if (!(v = ynode_get(node, "class"))) {
                perr_add(err, node, "io-priority: missing 'class' (realtime, best-effort, idle or none)");
                r = -EINVAL;
        } else if (ynode_string(v, "io-priority.class", &str, err) < 0)
                r = -EINVAL;
        else if ((s->class = class_from_name(str)) < 0) {
                perr_add(err, v, "io-priority.class: '%s' is not realtime, best-effort, idle or none", str);
                r = -EINVAL;
        }
        if ((v = ynode_get(node, "level"))) {
                unsigned long long lv;
                if (ynode_uint(v, "io-priority.level", 0, 7, &lv, err) < 0)
                        r = -EINVAL;
                else if (s->class >= 0 && !has_levels(s->class)) {
                        perr_add(err, v, "io-priority.level: class %s has no levels (only realtime and best-effort do)",
                                 class_name(s->class));
                        r = -EINVAL;
                } else
                        s->level = (int) lv;
        }
        if (s->class >= 0 && !has_levels(s->class))
                s->level = 0;
        if ((v = ynode_get(node, "data-dir"))) {
                if (ynode_string(v, "io-priority.data-dir", &str, err) < 0)
                        r = -EINVAL;
                else if (str[0] != '/') {
                        perr_add(err, v, "io-priority.data-dir: '%s' must be an absolute path", str);
                        r = -EINVAL;
                } else
                        s->data_dir = xstrdup(str);
        }
        if ((v = ynode_get(node, "journal-thread")) && ynode_bool(v, "io-priority.journal-thread", &s->journal_thread, err) < 0)
                r = -EINVAL;
        if (r < 0) {
                iop_free(s);
                return r;
        }
        s->target = xstrdup(s->t->name);
        if (!s->data_dir)
                s->data_dir = xstrdup(DEFAULT_DATA_DIR);
        *ret_state = s;
        return 0;
}

static void iop_claims(const void *state, claim_fn fn, void *userdata) {
        const struct iop_state *s = state;
        _cleanup_free_ char *obj = xasprintf("target %s", s->target);
        _cleanup_free_ char *val = xasprintf("%s/%d", class_name(s->class), s->level);
        fn(userdata, obj, val, s->at);
        if (s->journal_thread) {
                _cleanup_free_ char *jobj = xasprintf("journal thread of %s", s->data_dir);
                fn(userdata, jobj, val, s->at);
        }
}

/* The ext4 journal thread of the data dir's file system, jbd2/<device>-8: etcd's
 * fdatasync waits for the journal commit it does, and its I/O does not inherit etcd's
 * priority (make bench-effect: under bfq, realtime for etcd and this thread cut put p99
 * where realtime for etcd alone did less). A kernel thread has one task, so it is one
 * more process item: recorded, set, read back and given back like etcd's. */
static int plan_journal_thread(struct ctx *ctx, const struct iop_state *s, struct plan_list *out) {
        const char *dir = s->data_dir;
        _cleanup_free_ char *obj = xasprintf("journal thread of %s", dir), *dev = NULL;
        struct proc_found f = { 0 };
        struct stat st;
        char comm[16];
        int r;

        if (stat(dir, &st) < 0) {
                plan_list_finding(out, TAKE_PTR(obj), xasprintf("data dir %s: %s; cannot find its journal thread", dir, strerror(errno)),
                                  prio_str(s->class, s->level));
                return 0;
        }
        r = block_dev_name("/sys", st.st_dev, &dev);
        if (r < 0) {
                plan_list_finding(out, TAKE_PTR(obj),
                                  r == -ENODEV ? xasprintf("data dir %s is not on a block device: it has no journal thread", dir)
                                               : xasprintf("data dir %s: cannot name its block device: %s", dir, strerror(-r)),
                                  prio_str(s->class, s->level));
                return 0;
        }
        /* The kernel cuts a thread's name to 15 bytes, and so does snprintf here. */
        snprintf(comm, sizeof comm, "jbd2/%s-8", dev);
        struct process_rule rule = { .kind = RULE_COMM, .value = comm, .kernel = true };
        r = proc_find(&rule, 1, &f);
        if (r < 0) {
                ctx_fail(ctx, "%s: cannot look for %s: %s", obj, comm, f.problems ? f.problems : strerror(-r));
                proc_found_done(&f);
                return r;
        }
        if (f.n == 0)
                plan_list_finding(out, TAKE_PTR(obj),
                                  xasprintf("no thread %s: the file system of %s (on %s) has no ext4 journal of its own", comm, dir, dev),
                                  prio_str(s->class, s->level));
        for (size_t i = 0; i < f.n; i++) {
                struct iop_state *w = state_for(s, f.procs[i].pid, f.procs[i].starttime, f.procs[i].comm);
                w->journal_thread = true;
                w->found_by = xasprintf("comm %s: the journal thread of %s (on %s)", comm, dir, dev);
                plan_list_add(out, xasprintf("pid %d (%s)", (int) w->pid, w->comm), w, NULL);
        }
        proc_found_done(&f);
        return 0;
}

static int iop_plan(struct ctx *ctx, const void *state, struct plan_list *out) {
        const struct iop_state *s = state;
        struct proc_found f = { 0 };
        int r;

        r = proc_find(s->t->rules, s->t->n_rules, &f);
        if (r < 0) {
                /* Not "no process": medic could not look. Planning without the process
                 * would apply the rest and call the set complete. */
                ctx_fail(ctx, "%s: cannot look for its process: %s", s->target,
                         f.problems ? f.problems : strerror(-r));
                proc_found_done(&f);
                return r;
        }
        if (f.n == 0) {
                _cleanup_free_ char *rules = process_rules_describe(s->t->rules, s->t->n_rules);
                plan_list_finding(out, xasprintf("target %s", s->target),
                                  xasprintf("%s: no process found by %s%s%s", s->target, rules,
                                            f.problems ? "; " : "", f.problems ? f.problems : ""),
                                  prio_str(s->class, s->level));
        }
        for (size_t i = 0; i < f.n; i++) {
                struct iop_state *w = state_for(s, f.procs[i].pid, f.procs[i].starttime, f.procs[i].comm);
                _cleanup_free_ pid_t *tids = NULL;
                size_t nt = 0;

                w->journal_thread = false; /* the target's process: the thread is an item of its own */

                w->found_by = xstrdup(f.rule);
                (void) proc_tasks(w->pid, &tids, &nt);
                plan_list_add(out, xasprintf("pid %d (%s), %zu threads", (int) w->pid, w->comm, nt), w, NULL);
        }
        proc_found_done(&f);
        return s->journal_thread ? plan_journal_thread(ctx, s, out) : 0;
}

static uint64_t iop_caps(const void *state _unused_) {
        /* Whatever the state: every change needs the same. */
        /* Other users' processes (etcd runs as etcd) and the realtime class. */
        return CAP_TO_MASK(CAP_SYS_NICE);
}

static int ioprio_get_tid(pid_t tid, int *class, int *level) {
        long v = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
        if (v < 0)
                return -errno;
        *class = (int) IOPRIO_PRIO_CLASS(v);
        *level = (int) IOPRIO_PRIO_DATA(v);
        return 0;
}

static int ioprio_set_tid(pid_t tid, int class, int level) {
        if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, tid, IOPRIO_PRIO_VALUE(class, has_levels(class) ? level : 0)) < 0)
                return -errno;
        return 0;
}

static int check_same_process(struct ctx *ctx, const struct iop_state *s) {
        uint64_t st;
        int r = proc_starttime(s->pid, &st);
        if (r == -ESRCH || (r >= 0 && st != s->starttime)) {
                ctx_fail(ctx, "pid %d (%s) is gone (the process restarted since): this change is void", (int) s->pid, s->comm);
                return -ESRCH;
        }
        if (r < 0)
                ctx_fail(ctx, "reading /proc/%d/stat: %s", (int) s->pid, strerror(-r));
        return r;
}

static int iop_read(struct ctx *ctx, const void *state, void **ret_have) {
        const struct iop_state *s = state;
        _cleanup_free_ pid_t *tids = NULL;
        struct iop_state *h;
        size_t nt = 0;
        int r;

        r = check_same_process(ctx, s);
        if (r < 0)
                return r;
        r = proc_tasks(s->pid, &tids, &nt);
        if (r < 0) {
                ctx_fail(ctx, "listing /proc/%d/task: %s", (int) s->pid, strerror(-r));
                return r;
        }
        /* The policy's part comes along, so that a read journalled as before is a policy. */
        h = state_for(s, s->pid, s->starttime, s->comm);
        h->threads = xcalloc(nt, sizeof(*h->threads));
        h->class = IOPRIO_CLASS_NONE;
        for (size_t i = 0; i < nt; i++) {
                struct iop_thread t = { .tid = tids[i] };
                r = ioprio_get_tid(tids[i], &t.class, &t.level);
                if (r == -ESRCH)
                        continue; /* the thread ended while we looked */
                if (r < 0) {
                        ctx_fail(ctx, "ioprio_get(%d): %s", (int) tids[i], strerror(-r));
                        iop_free(h);
                        return r;
                }
                if (t.tid == s->pid)
                        h->class = t.class, h->level = t.level;
                h->threads[h->n++] = t;
        }
        if (h->n == 0) {
                iop_free(h);
                ctx_fail(ctx, "pid %d (%s) is gone: this change is void", (int) s->pid, s->comm);
                return -ESRCH;
        }
        *ret_have = h;
        return 0;
}

/* What `s` wants for thread tid: its own recorded value in a snapshot, else the process's. */
static void expected_for(const struct iop_state *s, pid_t tid, int *class, int *level) {
        for (size_t i = 0; i < s->n; i++)
                if (s->threads[i].tid == tid) {
                        *class = s->threads[i].class;
                        *level = s->threads[i].level;
                        return;
                }
        *class = s->class;
        *level = s->level;
}

static bool iop_same(const void *want, const void *have) {
        const struct iop_state *w = want, *h = have;

        if (w->pid != h->pid || w->starttime != h->starttime)
                return false;
        /* Two wanted states (no threads read): the process's value is all there is. read()
         * never returns a state without threads (the process is gone then). */
        if (h->n == 0)
                return w->n == 0 && prio_eq(w->class, w->level, h->class, h->level);
        /* Every thread must hold its value: some threads set and others not is drift. */
        for (size_t i = 0; i < h->n; i++) {
                int c, l;
                expected_for(w, h->threads[i].tid, &c, &l);
                if (!prio_eq(c, l, h->threads[i].class, h->threads[i].level))
                        return false;
        }
        return true;
}

/* ioprio is per thread: a medic stopped between two threads' ioprio_set leaves some
 * threads at the old value and some at the new. Its own partial change is exactly that:
 * the same process, every thread at what before or after says for it. */
static bool iop_in_between(const void *before, const void *after, const void *have) {
        const struct iop_state *b = before, *a = after, *h = have;

        if (h->pid != b->pid || h->starttime != b->starttime || a->pid != b->pid || a->starttime != b->starttime ||
            h->n == 0)
                return false;
        for (size_t i = 0; i < h->n; i++) {
                int cb, lb, ca, la;
                expected_for(b, h->threads[i].tid, &cb, &lb);
                expected_for(a, h->threads[i].tid, &ca, &la);
                if (!prio_eq(cb, lb, h->threads[i].class, h->threads[i].level) &&
                    !prio_eq(ca, la, h->threads[i].class, h->threads[i].level))
                        return false;
        }
        return true;
}

static bool seen(const pid_t *done, size_t n, pid_t tid) {
        for (size_t i = 0; i < n; i++)
                if (done[i] == tid)
                        return true;
        return false;
}

/* Sets every thread to what target wants, walking /proc/PID/task until a pass finds no
 * thread it has not set: Go starts threads while we work. */
static int set_all_threads(struct ctx *ctx, const struct iop_state *target) {
        _cleanup_free_ pid_t *done = NULL;
        size_t n_done = 0;
        int r;

        r = check_same_process(ctx, target);
        if (r < 0)
                return r;
        for (int pass = 0; pass < MAX_PASSES; pass++) {
                _cleanup_free_ pid_t *tids = NULL;
                size_t nt = 0, fresh = 0;

                r = proc_tasks(target->pid, &tids, &nt);
                if (r < 0) {
                        ctx_fail(ctx, "listing /proc/%d/task: %s", (int) target->pid, strerror(-r));
                        return r;
                }
                for (size_t i = 0; i < nt; i++) {
                        int c, l, hc = -1, hl = -1;
                        if (seen(done, n_done, tids[i]))
                                continue;
                        expected_for(target, tids[i], &c, &l);
                        /* A thread started by one medic already set has its creator's
                         * priority: it needs no write, and does not count as news. Without
                         * this a process that starts threads all the time (a Go runtime
                         * under load) never gives a pass without new threads. */
                        if (ioprio_get_tid(tids[i], &hc, &hl) == 0 && hc == c && (!has_levels(c) || hl == l)) {
                                done = xrealloc(done, (n_done + 1) * sizeof(*done));
                                done[n_done++] = tids[i];
                                continue;
                        }
                        r = ioprio_set_tid(tids[i], c, l);
                        if (r == -ESRCH)
                                continue;
                        if (r == -EPERM) {
                                ctx_fail(ctx, "ioprio_set(%d): not permitted (needs CAP_SYS_NICE for other users' processes and the realtime class)",
                                         (int) tids[i]);
                                return r;
                        }
                        if (r < 0) {
                                ctx_fail(ctx, "ioprio_set(%d, %s/%d): %s", (int) tids[i], class_name(c), l, strerror(-r));
                                return r;
                        }
                        done = xrealloc(done, (n_done + 1) * sizeof(*done));
                        done[n_done++] = tids[i];
                        fresh++;
                }
                if (fresh == 0)
                        return 0;
        }
        ctx_fail(ctx, "pid %d keeps starting threads: gave up after %d passes", (int) target->pid, MAX_PASSES);
        return -EAGAIN;
}

/* Also the restore: each thread a snapshot recorded gets its own value back, threads born
 * since get the value the process had (its main thread's), from any mix of old and new. */
static int iop_apply(struct ctx *ctx, const void *want, const void *have _unused_) {
        return set_all_threads(ctx, want);
}

static void iop_notes(struct ctx *ctx _unused_, const void *want, const void *have _unused_, char ***notes) {
        const struct iop_state *w = want;
        struct disk_sched *ds = NULL;
        size_t n = 0;
        struct stat st;
        int r;

        if (w->found_by)
                strv_push(notes, xasprintf("found by %s", w->found_by));
        /* The journal thread's item: the scheduler is the one etcd's item speaks of. */
        if (!w->data_dir || w->journal_thread)
                return;
        if (stat(w->data_dir, &st) < 0) {
                strv_push(notes, xasprintf("data dir %s: %s; cannot check its disk's I/O scheduler", w->data_dir, strerror(errno)));
                return;
        }
        r = block_schedulers("/sys", st.st_dev, &ds, &n);
        if (r == -ENODEV) {
                strv_push(notes, xasprintf("data dir %s is not on a block device: I/O priority has nothing to order", w->data_dir));
                return;
        }
        if (r < 0) {
                strv_push(notes, xasprintf("data dir %s: cannot find its disk's I/O scheduler: %s", w->data_dir, strerror(-r)));
                return;
        }
        /* What the scheduler orders by decides what this item can do: under mq-deadline
         * the guide's best-effort/0 is served like any best-effort thread (make
         * bench-effect measured no change there). */
        for (size_t i = 0; i < n; i++) {
                const char *h = sched_ioprio_honours(ds[i].sched);
                if (!h)
                        strv_push(notes, xasprintf("data dir %s is on %s (scheduler %s: medic does not know what of an I/O priority it honours)",
                                                   w->data_dir, ds[i].disk, ds[i].sched));
                else if (streq(h, "nothing"))
                        strv_push(notes, xasprintf("ionice has no effect on %s (scheduler %s honours nothing of an I/O priority); bfq honours class and level, mq-deadline the class only",
                                                   ds[i].disk, ds[i].sched));
                else if (streq(ds[i].sched, "mq-deadline") && has_levels(w->class))
                        strv_push(notes, xasprintf("data dir %s is on %s (scheduler %s, which honours the class only: level %d counts for nothing there)",
                                                   w->data_dir, ds[i].disk, ds[i].sched, w->level));
                else
                        strv_push(notes, xasprintf("data dir %s is on %s (scheduler %s, which honours %s)", w->data_dir,
                                                   ds[i].disk, ds[i].sched, h));
        }
        disk_sched_free(ds, n);
}

static char *iop_describe(const void *state) {
        const struct iop_state *s = state;
        size_t same = 0;

        if (s->n == 0)
                return prio_str(s->class, s->level);
        for (size_t i = 0; i < s->n; i++)
                same += prio_eq(s->threads[i].class, s->threads[i].level, s->class, s->level);
        _cleanup_free_ char *main = prio_str(s->class, s->level);
        if (same == s->n)
                return TAKE_PTR(main);
        return xasprintf("%s on %zu of %zu threads", main, same, s->n);
}

static int iop_to_json(const void *state, struct json_object **ret) {
        const struct iop_state *s = state;
        struct json_object *j = json_object_new_object(), *o, *th;

        if (s->target[0]) /* "": a set written before states named their target */
                json_object_object_add(j, "target", json_object_new_string(s->target));
        json_object_object_add(j, "class", json_object_new_string(class_name(s->class)));
        if (has_levels(s->class))
                json_object_object_add(j, "level", json_object_new_int(s->level));
        json_object_object_add(j, "data-dir", json_object_new_string(s->data_dir));
        if (s->journal_thread) /* only when set: policies without it normalise as before */
                json_object_object_add(j, "journal-thread", json_object_new_boolean(true));
        if (s->pid == 0) {
                *ret = j;
                return 0;
        }
        o = json_object_new_object();
        json_object_object_add(o, "pid", json_object_new_int(s->pid));
        json_object_object_add(o, "starttime", json_object_new_int64((int64_t) s->starttime));
        json_object_object_add(o, "comm", json_object_new_string(s->comm));
        if (s->n) {
                th = json_object_new_array();
                for (size_t i = 0; i < s->n; i++) {
                        struct json_object *t = json_object_new_object();
                        json_object_object_add(t, "tid", json_object_new_int(s->threads[i].tid));
                        json_object_object_add(t, "class", json_object_new_string(class_name(s->threads[i].class)));
                        json_object_object_add(t, "level", json_object_new_int(s->threads[i].level));
                        json_object_array_add(th, t);
                }
                json_object_object_add(o, "threads", th);
        }
        json_object_object_add(j, "observed", o);
        *ret = j;
        return 0;
}

static bool get_class(struct json_object *j, int *ret) {
        struct json_object *v;
        if (!json_object_object_get_ex(j, "class", &v) || !json_object_is_type(v, json_type_string))
                return false;
        *ret = class_from_name(json_object_get_string(v));
        return *ret >= 0;
}

static bool get_level(struct json_object *j, int class, bool required, int *ret) {
        int64_t v;
        if (!json_object_object_get_ex(j, "level", NULL) && !required) {
                *ret = has_levels(class) ? 4 : 0;
                return true;
        }
        if (!json_get_int(j, "level", &v) || v < 0 || v > 7)
                return false;
        *ret = (int) v;
        return true;
}

/* The policy's keys with the process under "observed"; or the form of journals written
 * before it, with pid, starttime, comm and threads beside class and level (no target: a
 * set left open across an upgrade restores all the same). */
static int iop_from_json(struct json_object *j, void **ret_state) {
        struct iop_state *s = xcalloc(1, sizeof(*s));
        struct json_object *th, *comm, *o = NULL, *jt;
        const char *str;
        bool old = json_object_object_get_ex(j, "pid", NULL);
        int64_t v;

        if (!json_object_is_type(j, json_type_object))
                goto bad;
        if (old)
                o = j;
        else if (json_object_object_get_ex(j, "observed", &o) && !json_object_is_type(o, json_type_object))
                goto bad;
        s->target = xstrdup((str = json_get_str(j, "target")) ? str : "");
        s->data_dir = xstrdup((str = json_get_str(j, "data-dir")) ? str : DEFAULT_DATA_DIR);
        if (s->data_dir[0] != '/')
                goto bad;
        if (!get_class(j, &s->class) || !get_level(j, s->class, old, &s->level))
                goto bad;
        if (json_object_object_get_ex(j, "journal-thread", &jt)) {
                if (!json_object_is_type(jt, json_type_boolean))
                        goto bad;
                s->journal_thread = json_object_get_boolean(jt);
        }
        if (!o) {
                *ret_state = s;
                return 0;
        }
        if (!json_get_int(o, "pid", &v) || v <= 0 || v > INT32_MAX)
                goto bad;
        s->pid = (pid_t) v;
        if (!json_get_int(o, "starttime", &v) || v < 0)
                goto bad;
        s->starttime = (uint64_t) v;
        if (json_object_object_get_ex(o, "comm", &comm) && json_object_is_type(comm, json_type_string))
                str_copy(s->comm, json_object_get_string(comm), sizeof s->comm);
        if (json_object_object_get_ex(o, "threads", &th) && json_object_is_type(th, json_type_array)) {
                size_t n = json_object_array_length(th);
                s->threads = xcalloc(n, sizeof(*s->threads));
                for (size_t i = 0; i < n; i++) {
                        struct json_object *t = json_object_array_get_idx(th, i);
                        struct iop_thread *x = &s->threads[s->n];
                        if (!json_get_int(t, "tid", &v) || v <= 0 || v > INT32_MAX)
                                goto bad;
                        x->tid = (pid_t) v;
                        if (!get_class(t, &x->class) || !json_get_int(t, "level", &v) || v < 0 || v > 7)
                                goto bad;
                        x->level = (int) v;
                        s->n++;
                }
        }
        *ret_state = s;
        return 0;
bad:
        iop_free(s);
        return -EBADMSG;
}

const struct action_ops io_priority_ops = {
        .kind = "io-priority",
        .parse = iop_parse,
        .claims = iop_claims,
        .plan = iop_plan,
        .caps = iop_caps,
        .read = iop_read,
        .same = iop_same,
        .apply = iop_apply,
        .in_between = iop_in_between,
        .notes = iop_notes,
        .describe = iop_describe,
        .to_json = iop_to_json,
        .from_json = iop_from_json,
        .free = iop_free,
};
