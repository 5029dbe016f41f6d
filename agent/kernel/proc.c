/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "../util.h"
#include "proc.h"
#include "sdlib.h"

void proc_found_done(struct proc_found *f) {
        free(f->procs);
        free(f->rule);
        free(f->problems);
        *f = (struct proc_found) { 0 };
}

const char *process_rule_name(enum process_rule_kind k) {
        static const char *const names[_RULE_KIND_MAX] = {
                [RULE_UNIT] = "unit",
                [RULE_COMM] = "comm",
                [RULE_EXE] = "exe",
                [RULE_PIDFILE] = "pidfile",
        };
        return k < _RULE_KIND_MAX ? names[k] : "?";
}

char *process_rules_describe(const struct process_rule *rules, size_t n_rules) {
        char *s = xstrdup("");
        for (size_t i = 0; i < n_rules; i++) {
                char *n = xasprintf("%s%s%s %s", s, i == 0 ? "" : " or ", process_rule_name(rules[i].kind),
                                    rules[i].value);
                free(s);
                s = n;
        }
        return s;
}

/* One read of /proc/PID/stat: comm (16 bytes, optional), state (optional), start time. */
static int proc_stat(pid_t pid, char *ret_comm, char *ret_state, uint64_t *ret_starttime) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int) pid), *s = NULL;
        unsigned long long v;
        char *open, *p;
        int r;

        r = read_file(path, &s, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        /* comm may hold spaces and ')': it runs from the first '(' to the last ')'. */
        open = strchr(s, '(');
        p = strrchr(s, ')');
        if (!open || !p || p < open || p[1] != ' ' || !p[2])
                return -EIO;
        if (ret_comm)
                snprintf(ret_comm, 16, "%.*s", (int) (p - open - 1), open + 1);
        if (ret_state)
                *ret_state = p[2];
        p++;
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        if (sscanf(p, " %llu", &v) != 1)
                return -EIO;
        *ret_starttime = v;
        return 0;
}

int proc_starttime(pid_t pid, uint64_t *ret) {
        return proc_stat(pid, NULL, NULL, ret);
}

int proc_comm_at(int proc_fd, const char *pid, char ret[static 16]) {
        /* 64 bytes is the kernel's longest comm line (a workqueue worker's, with its
         * queue's name); what is past it would be cut below anyway. */
        char path[32], buf[128];
        size_t len = strlen(pid);
        ssize_t n;
        int fd, r = 0;

        if (len + sizeof("/comm") > sizeof path)
                return -ESRCH; /* no pid is that long */
        memcpy(path, pid, len);
        memcpy(path + len, "/comm", sizeof("/comm"));
        fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        /* One read: procfs hands out the whole line at once, and the scan does this for
         * every process of the host (a second read only to see the end was a quarter of
         * the syscalls). */
        do
                n = read(fd, buf, sizeof buf - 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                r = -errno;
        close(fd);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        buf[n] = 0;
        len = strcspn(buf, "\n");
        len = len < 15 ? len : 15;
        memcpy(ret, buf, len);
        ret[len] = 0;
        return 0;
}

int proc_tasks(pid_t pid, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/task", (int) pid);
        _cleanup_free_ pid_t *tids = NULL;
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return errno == ENOENT ? -ESRCH : -errno;
        while ((de = readdir(d))) {
                unsigned long long v;
                if (parse_uint(de->d_name, INT_MAX, &v) < 0)
                        continue;
                tids = xrealloc(tids, (n + 1) * sizeof(*tids));
                tids[n++] = (pid_t) v;
        }
        closedir(d);
        *ret = TAKE_PTR(tids);
        *ret_n = n;
        return 0;
}

static void add_match(struct proc_found *f, pid_t pid) {
        struct proc_match m = { .pid = pid };
        char state;

        for (size_t i = 0; i < f->n; i++)
                if (f->procs[i].pid == pid)
                        return;
        int r = proc_stat(pid, m.comm, &state, &m.starttime);
        if (r < 0) {
                /* Gone meanwhile is no match; anything else (no file descriptor left, an
                 * I/O error) means medic could not look. */
                if (r != -ENOENT && r != -ESRCH && !f->error) {
                        f->error = r;
                        char *p = xasprintf("%s%s/proc/%d/stat: %s", f->problems ? f->problems : "",
                                            f->problems ? "; " : "", (int) pid, strerror(-r));
                        free(f->problems);
                        f->problems = p;
                }
                return;
        }
        /* A zombie has no threads left to set: it is not the running etcd. */
        if (state == 'Z' || state == 'X')
                return;
        f->procs = xrealloc(f->procs, (f->n + 1) * sizeof(*f->procs));
        f->procs[f->n++] = m;
}

/* The hierarchy systemd tracks units in, which is also the one sd_pid_get_unit() reads:
 * cgroup2 at /sys/fs/cgroup (unified); in hybrid mode the cgroup2 at
 * /sys/fs/cgroup/unified (systemd ≥ 233 tracks there, name=systemd is kept only for
 * compatibility); in legacy mode the v1 name=systemd hierarchy. */
static const char *unit_hierarchy(void) {
        struct statfs fs;
        struct stat st;

        if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return "/sys/fs/cgroup";
        if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                return "/sys/fs/cgroup/unified";
        if (stat("/sys/fs/cgroup/systemd/cgroup.procs", &st) == 0)
                return "/sys/fs/cgroup/systemd";
        return NULL;
}

/* A unit's cgroup sits in its slice's directory, and slices nest (a-b.slice lives in
 * a.slice/). Without asking systemd over D-Bus we look in the root and in every *.slice
 * directory: a few readdir calls, not a walk of the whole tree. */
static char *find_unit_dir(const char *dir, const char *unit, unsigned depth) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, unit);
        struct stat st;
        DIR *d;
        struct dirent *de;
        char *found = NULL;

        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                return TAKE_PTR(p);
        if (depth >= 8 || !(d = opendir(dir)))
                return NULL;
        while (!found && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (de->d_type != DT_DIR || n <= 6 || !streq(de->d_name + n - 6, ".slice"))
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
                found = find_unit_dir(sub, unit, depth + 1);
        }
        closedir(d);
        return found;
}

char *cgroup_unit_dir(const char *root, const char *unit) {
        return find_unit_dir(root, unit, 0);
}

static void read_cgroup_procs(const char *dir, const char *unit, unsigned depth, struct proc_found *f) {
        _cleanup_free_ char *path = xasprintf("%s/cgroup.procs", dir), *s = NULL;
        DIR *d;
        struct dirent *de;

        int r = read_file(path, &s, NULL);
        if (r < 0 && r != -ENOENT && !f->error)
                f->error = r; /* the unit's cgroup is there, its members could not be read */
        if (r >= 0)
                for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n")) {
                        unsigned long long pid;
                        _cleanup_free_ char *u = NULL;
                        if (parse_uint(l, INT_MAX, &pid) < 0)
                                continue;
                        /* The kernel's membership is the fact; systemd's reading of it
                         * must agree, or the directory is not that unit's cgroup. */
                        if (sdlib_pid_get_unit((pid_t) pid, &u) < 0 || !streq(u, unit))
                                continue;
                        add_match(f, (pid_t) pid);
                }
        /* A unit with delegation keeps processes in sub-cgroups. */
        if (depth >= 4 || !(d = opendir(dir)))
                return;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
                read_cgroup_procs(sub, unit, depth + 1, f);
        }
        closedir(d);
}

static void find_by_unit(const char *unit, struct proc_found *f) {
        const char *root = unit_hierarchy();
        _cleanup_free_ char *dir = NULL;

        if (!root || !(dir = find_unit_dir(root, unit, 0)))
                return;
        read_cgroup_procs(dir, unit, 0, f);
}

/* An exe: rule compares /proc/PID/exe, which the kernel shows only to a reader that may
 * ptrace the process (another user's etcd needs CAP_SYS_PTRACE, see caps.h). Processes
 * whose link could not be read are counted, so that "no process found" can say why. */
static const pid_t *scan_only;
static size_t n_scan_only;

void proc_scan_only(const pid_t *pids, size_t n) {
        scan_only = pids;
        n_scan_only = n;
}

/* One process of a scan: does it match the rule? A process that could not be looked at
 * sets *error (the first such error only), or counts in *unreadable when only its exe link
 * was denied. It touches nothing else, so that two threads of a scan can run it at once. */
static bool scan_one(int proc_fd, const char *name, enum process_rule_kind kind, const char *value,
                     const char *want_exe, int *error, unsigned *unreadable) {
        char buf[PATH_MAX];

        if (kind == RULE_COMM) {
                char comm[16];
                int r = proc_comm_at(proc_fd, name, comm);
                /* A process that cannot be read for want of a file descriptor may be the
                 * one looked for: that is not "not found". */
                if (r < 0 && r != -ENOENT && r != -ESRCH && r != -EACCES && !*error)
                        *error = r;
                return r >= 0 && streq(comm, value);
        } else {
                char link[32];
                ssize_t n;
                if (strlen(name) + sizeof("/exe") > sizeof link)
                        return false; /* no pid is that long */
                memcpy(stpcpy(link, name), "/exe", sizeof("/exe"));
                n = readlinkat(proc_fd, link, buf, sizeof buf - 1);
                if (n < 0 && (errno == EACCES || errno == EPERM))
                        (*unreadable)++;
                else if (n < 0 && errno != ENOENT && errno != ESRCH && !*error)
                        *error = -errno;
                if (n <= 0)
                        return false;
                buf[n] = 0;
                return streq(buf, value) || streq_ptr(buf, want_exe);
        }
}

/* PF_KTHREAD of include/linux/sched.h, in /proc/PID/stat's flags: the kernel's own thread. */
#define PF_KTHREAD 0x00200000u

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return x < y ? -1 : x > y;
}

int proc_kernel_threads(int proc_fd, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *stat = NULL, *children = NULL;
        _cleanup_free_ pid_t *pids = NULL;
        unsigned long long flags;
        size_t n = 0;
        const char *p;
        char *end;
        int r;

        *ret = NULL;
        *ret_n = 0;
        /* Pid 2 is kthreadd only where the kernel's threads are seen: not in a pid namespace
         * of its own, where it is whatever process got that pid. Its flags say which. */
        r = read_file_at(proc_fd, "2/stat", &stat, NULL);
        if (r < 0)
                return r;
        p = strrchr(stat, ')');
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags) != 1)
                return -EBADMSG;
        if (!(flags & PF_KTHREAD))
                return 0;
        /* Its children: every other kernel thread (CONFIG_PROC_CHILDREN; without it, none
         * is skipped). */
        r = read_file_at(proc_fd, "2/task/2/children", &children, NULL);
        if (r < 0)
                return r;
        pids = xgrow(pids, n, sizeof(*pids));
        pids[n++] = 2;
        for (p = children; *p;) {
                unsigned long long v;
                while (*p == ' ' || *p == '\n')
                        p++;
                if (!*p)
                        break;
                errno = 0;
                v = strtoull(p, &end, 10);
                if (end == p || errno != 0 || v == 0 || v > INT_MAX)
                        return -EBADMSG;
                pids = xgrow(pids, n, sizeof(*pids));
                pids[n++] = (pid_t) v;
                p = end;
        }
        qsort(pids, n, sizeof(*pids), cmp_pid);
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

/* /proc is read this much at a time. A host of a few hundred processes fits in one batch
 * (one getdents64 call, then the processes, then the call that says the end). */
#define PROC_BATCH (32 * 1024)
/* Once two threads share a scan they take batches this small (~170 processes, ~1 ms of
 * work): a thread left with a big batch at the end would keep the other waiting. */
#define PROC_BATCH_SHARED (4 * 1024)
/* With at least this many processes in the first batch the scan takes a second thread.
 * Below it the scan is one thread, and its system calls are the same in every run: the
 * fault-injection suite counts them on a host of ~70 processes. */
#define SCAN_THREAD_MIN 512

/* What one thread of a scan found. */
struct scan_part {
        int proc_fd;
        enum process_rule_kind kind;
        const char *value, *want_exe;
        char *dents;
        size_t batch;
        struct proc_found *f; /* the main thread adds its matches here at once */
        pid_t *pids;          /* the second thread's matches, added after it ends */
        size_t n_pids;
        int *error;           /* the main thread's is f->error, the second thread's own_error */
        int own_error;
        unsigned unreadable;
        const pid_t *kthreads; /* sorted; never a target, so never opened */
        size_t n_kthreads;
        cpu_set_t cpus; /* the second thread's: what medic may run on */
};

/* The processes of one batch of /proc entries. */
static void scan_batch(struct scan_part *p, ssize_t got) {
        for (ssize_t off = 0; off < got;) {
                const struct dirent64 *de = (const struct dirent64 *) (p->dents + off);
                unsigned long long pid;

                off += de->d_reclen;
                if (!isdigit((unsigned char) de->d_name[0]) || parse_uint(de->d_name, INT_MAX, &pid) < 0)
                        continue;
                pid_t key = (pid_t) pid;
                if (p->n_kthreads && bsearch(&key, p->kthreads, p->n_kthreads, sizeof(pid_t), cmp_pid))
                        continue;
                if (!scan_one(p->proc_fd, de->d_name, p->kind, p->value, p->want_exe, p->error, &p->unreadable))
                        continue;
                if (p->f)
                        add_match(p->f, (pid_t) pid);
                else {
                        p->pids = xrealloc(p->pids, (p->n_pids + 1) * sizeof(*p->pids));
                        p->pids[p->n_pids++] = (pid_t) pid;
                }
        }
}

/* The next batch of /proc: > 0 bytes of entries, 0 at the end, < 0 when it cannot be read. */
static ssize_t next_batch(struct scan_part *p) {
        for (;;) {
                ssize_t got = getdents64(p->proc_fd, p->dents, p->batch);
                if (got >= 0 || errno != EINTR) {
                        /* Part of /proc unread: whatever was not seen may be the one. */
                        if (got < 0 && !*p->error)
                                *p->error = -errno;
                        return got;
                }
        }
}

/* Batches until /proc ends. Two threads may run this on the one /proc fd at once: the
 * kernel serializes getdents64 on a file (f_pos_lock) and moves its position on, so each
 * call gets the next entries and every process is seen by exactly one thread. */
static void *scan_batches(void *arg) {
        struct scan_part *p = arg;
        ssize_t got;

        while ((got = next_batch(p)) > 0)
                scan_batch(p, got);
        return NULL;
}

static int cmp_match(const void *a, const void *b) {
        pid_t x = ((const struct proc_match *) a)->pid, y = ((const struct proc_match *) b)->pid;
        return x < y ? -1 : x > y;
}

/* Starts a second thread that takes batches as the main one does. On a host of 10,000
 * processes the scan is ~6.5 µs of kernel time per process (two dentry lookups with pid
 * revalidation, seq_file set-up and teardown, memcg accounting of the file and its
 * buffer), all of it in open/read/close of /proc/PID/comm, plus ~1 µs of getdents64; and
 * no interface that a process with medic's capabilities may use names every process's
 * comm at once (taskstats needs CAP_NET_ADMIN, a BPF task iterator CAP_BPF). A second CPU
 * is the one way left to cut the wall time. One thread more, not one per CPU: medic
 * shares the host with etcd. It blocks every signal (the main thread keeps handling
 * them) and is always joined before the scan returns. */
/* The second thread, started on another CPU than the main one's: back to every CPU medic
 * may use, and the kernel may move it from there. */
static void *helper_main(void *arg) {
        struct scan_part *p = arg;

        (void) sched_setaffinity(0, sizeof(p->cpus), &p->cpus);
        return scan_batches(p);
}

static bool start_helper(struct scan_part *helper, pthread_t *ret) {
        cpu_set_t others;
        pthread_attr_t attr;
        sigset_t all, old;
        int r, me;

        if (sched_getaffinity(0, sizeof helper->cpus, &helper->cpus) < 0 || CPU_COUNT(&helper->cpus) < 2)
                return false;
        /* Where it starts: any CPU but this thread's, the kernel choosing which. Left to
         * itself the kernel often put it beside its parent and kept it there (no migration
         * in 72 ms): a scan of 10,000 processes then took as long as with one thread. */
        others = helper->cpus;
        me = sched_getcpu();
        if (me >= 0 && me < CPU_SETSIZE)
                CPU_CLR(me, &others);
        if (pthread_attr_init(&attr) != 0)
                return false;
        if (CPU_COUNT(&others) > 0)
                (void) pthread_attr_setaffinity_np(&attr, sizeof(others), &others);
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(ret, &attr, helper_main, helper);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);
        return r == 0; /* without it the main thread reads every batch itself */
}

static void find_by_proc_scan(enum process_rule_kind kind, const char *value, bool kernel, struct proc_found *f,
                              char **problem) {
        _cleanup_free_ char *want_exe = kind == RULE_EXE ? realpath(value, NULL) : NULL;
        /* /proc read in batches, each process's file opened relative to it: on a host of
         * 10,000 processes the per-process syscalls are the whole cost. */
        _cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_free_ char *dents = NULL, *helper_dents = NULL;
        _cleanup_free_ pid_t *kthreads = NULL;
        struct scan_part main_part = {
                .proc_fd = proc_fd, .kind = kind, .value = value, .want_exe = want_exe, .batch = PROC_BATCH,
                .f = f, .error = &f->error,
        };
        struct scan_part helper = main_part;
        pthread_t helper_thread;
        bool threaded = false;
        size_t n0 = f->n;
        unsigned unreadable = 0;

        if (proc_fd < 0) {
                *problem = xasprintf("/proc: %s", strerror(errno));
                if (!f->error)
                        f->error = -errno;
                return;
        }
        if (scan_only) {
                /* The agent names the processes its events were about: only those. */
                for (size_t i = 0; i < n_scan_only; i++) {
                        char name[24];
                        snprintf(name, sizeof name, "%d", (int) scan_only[i]);
                        if (scan_one(proc_fd, name, kind, value, want_exe, &f->error, &unreadable))
                                add_match(f, scan_only[i]);
                }
        } else {
                ssize_t got, n_procs = 0;

                /* Most of a small host's /proc is the kernel's own threads (59 of 67 here),
                 * none of them a target of a comm: or exe: rule: two files name them all.
                 * Where they cannot be read, every process is opened as before. */
                (void) proc_kernel_threads(proc_fd, &kthreads, &main_part.n_kthreads);
                main_part.kthreads = kthreads;
                if (kernel && kthreads) {
                        /* A kernel thread is looked for among those alone. */
                        for (size_t i = 0; i < main_part.n_kthreads; i++) {
                                char name[24];
                                snprintf(name, sizeof name, "%d", (int) kthreads[i]);
                                if (scan_one(proc_fd, name, kind, value, want_exe, &f->error, &unreadable))
                                        add_match(f, kthreads[i]);
                        }
                        goto scanned;
                }
                if (kernel)
                        main_part.n_kthreads = 0;
                main_part.dents = dents = xmalloc(PROC_BATCH);
                got = next_batch(&main_part);
                for (ssize_t off = 0; off < got; off += ((const struct dirent64 *) (dents + off))->d_reclen) {
                        const char *name = ((const struct dirent64 *) (dents + off))->d_name;
                        unsigned long long pid;
                        if (parse_uint(name, INT_MAX, &pid) < 0)
                                continue;
                        pid_t key = (pid_t) pid;
                        n_procs += !(kthreads && bsearch(&key, kthreads, main_part.n_kthreads, sizeof(pid_t), cmp_pid));
                }
                if (n_procs >= SCAN_THREAD_MIN) {
                        helper.kthreads = main_part.kthreads;
                        helper.n_kthreads = main_part.n_kthreads;
                        helper.f = NULL;
                        helper.error = &helper.own_error;
                        helper.dents = helper_dents = xmalloc(PROC_BATCH_SHARED);
                        helper.batch = PROC_BATCH_SHARED;
                        threaded = start_helper(&helper, &helper_thread);
                        if (threaded)
                                main_part.batch = PROC_BATCH_SHARED;
                }
                if (got > 0) {
                        scan_batch(&main_part, got);
                        scan_batches(&main_part);
                }
                if (threaded) {
                        pthread_join(helper_thread, NULL);
                        for (size_t i = 0; i < helper.n_pids; i++)
                                add_match(f, helper.pids[i]);
                        free(helper.pids);
                        /* In pid order, as one thread would have found them. */
                        if (f->n - n0 > 1)
                                qsort(f->procs + n0, f->n - n0, sizeof(*f->procs), cmp_match);
                        if (!f->error)
                                f->error = helper.own_error;
                        main_part.unreadable += helper.unreadable;
                }
                unreadable = main_part.unreadable;
        }
scanned:
        if (f->n == 0 && unreadable > 0)
                *problem = xasprintf("/proc/PID/exe of %u processes could not be read (another user's, or with more capabilities than medic: that needs CAP_SYS_PTRACE)",
                                     unreadable);
}

/* A pidfile is a claim by whoever owns the file. A pid that is not running, or a process
 * that belongs to another user than a non-root pidfile owner, is stale: a finding. */
static void find_by_pidfile(const char *pidfile, struct proc_found *f, char **problem) {
        _cleanup_free_ char *s = NULL, *statpath = NULL;
        unsigned long long pid;
        struct stat pst, st;
        int r;

        r = read_line_file(pidfile, &s);
        if (r < 0) {
                if (r != -ENOENT)
                        *problem = xasprintf("pidfile %s: %s", pidfile, strerror(-r));
                if (r != -ENOENT && r != -EACCES && r != -EPERM && !f->error)
                        f->error = r;
                return;
        }
        /* Not echoed: with CAP_DAC_READ_SEARCH medic may read a file its caller cannot. */
        if (parse_uint(s, INT_MAX, &pid) < 0 || pid == 0) {
                *problem = xasprintf("pidfile %s does not hold a pid", pidfile);
                return;
        }
        statpath = xasprintf("/proc/%llu", pid);
        if (stat(statpath, &st) < 0) {
                *problem = xasprintf("pidfile %s names pid %llu, which is not running", pidfile, pid);
                return;
        }
        if (stat(pidfile, &pst) == 0 && pst.st_uid != 0 && pst.st_uid != st.st_uid) {
                *problem = xasprintf("pidfile %s (owner uid %u) names pid %llu, which runs as uid %u: stale",
                                     pidfile, (unsigned) pst.st_uid, pid, (unsigned) st.st_uid);
                return;
        }
        add_match(f, (pid_t) pid);
}

/* Is pid in unit's cgroup, or in one below it? /proc/PID/cgroup names it by path, on v2's
 * "0::" line as on v1's name=systemd line. */
static bool pid_in_unit(pid_t pid, const char *unit) {
        _cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int) pid), *text = NULL;
        _cleanup_free_ char *needle = xasprintf("/%s", unit);
        size_t len = strlen(needle);

        if (read_file(path, &text, NULL) < 0)
                return false;
        for (const char *p = text; (p = strstr(p, needle)); p += len)
                if (p[len] == '\n' || p[len] == '/' || p[len] == 0)
                        return true;
        return false;
}

bool proc_rules_match(pid_t pid, const struct process_rule *rules, size_t n_rules) {
        _cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char name[24];
        bool hit = false;

        if (proc_fd < 0)
                return true; /* cannot tell: let the real lookup decide */
        snprintf(name, sizeof name, "%d", (int) pid);
        for (size_t i = 0; i < n_rules && !hit; i++) {
                const struct process_rule *rule = &rules[i];
                struct proc_found f = { 0 };
                _cleanup_free_ char *problem = NULL;
                unsigned unreadable = 0;

                switch (rule->kind) {
                case RULE_UNIT:
                        hit = pid_in_unit(pid, rule->value);
                        break;
                case RULE_COMM:
                case RULE_EXE: {
                        /* The scan's own comparison, for one process. */
                        _cleanup_free_ char *want_exe = rule->kind == RULE_EXE ? realpath(rule->value, NULL) : NULL;
                        if (scan_one(proc_fd, name, rule->kind, rule->value, want_exe, &f.error, &unreadable))
                                add_match(&f, pid);
                        break;
                }
                case RULE_PIDFILE:
                        find_by_pidfile(rule->value, &f, &problem);
                        break;
                case _RULE_KIND_MAX:
                        break;
                }
                for (size_t k = 0; k < f.n; k++)
                        hit = hit || f.procs[k].pid == pid;
                proc_found_done(&f);
        }
        return hit;
}

int proc_find(const struct process_rule *rules, size_t n_rules, struct proc_found *ret) {
        struct proc_found f = { 0 };

        for (size_t i = 0; i < n_rules && f.n == 0; i++) {
                const struct process_rule *rule = &rules[i];
                char *problem = NULL;

                switch (rule->kind) {
                case RULE_UNIT:
                        find_by_unit(rule->value, &f);
                        break;
                case RULE_COMM:
                case RULE_EXE:
                        find_by_proc_scan(rule->kind, rule->value, rule->kernel, &f, &problem);
                        break;
                case RULE_PIDFILE:
                        find_by_pidfile(rule->value, &f, &problem);
                        break;
                case _RULE_KIND_MAX:
                        break;
                }
                if (problem) {
                        char *p = xasprintf("%s%s%s", f.problems ? f.problems : "", f.problems ? "; " : "", problem);
                        free(f.problems);
                        free(problem);
                        f.problems = p;
                }
                if (f.n > 0)
                        f.rule = xasprintf("%s %s", process_rule_name(rule->kind), rule->value);
        }
        *ret = f;
        return f.n == 0 && f.error ? f.error : 0;
}
