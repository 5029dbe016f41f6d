/* killat: run a command under ptrace, count every system call its process tree makes, and
 * at the K-th one either kill the process making it or make that one call fail.
 *
 *   killat [-T SECONDS] [-o LOG] [-r RESULT] [-n K -f kill|ERRNO [-x NAME]] -- CMD [ARG...]
 *
 *   -o LOG     one line per system call entry: "K TID NAME DETAIL", DETAIL being the file
 *              behind an fd argument or the path argument, where the call has one
 *   -n K       the point: the K-th system call entry, counted over every thread and child
 *              of CMD together (1 = CMD's own execve)
 *   -f kill    at the point, SIGKILL the thread group making the call; the call never runs
 *   -f ERRNO   at the point, skip the call and make it return -ERRNO (ENOSPC, EIO, ENOBUFS,
 *              EMFILE, or a number)
 *   -x NAME    the call expected at the point; if the K-th call is another one, nothing is
 *              injected and RESULT says "mismatch" (the run was not the one counted)
 *   -T SECONDS kill the whole tree after SECONDS and exit 124, like timeout(1): a hang
 *   -r RESULT  "total N" and, when the point was reached, "point K TID NAME DETAIL"
 *
 * The exit status is CMD's (128 + signal when a signal ended it).
 *
 * The count must number the same call the same way in every run, so that point K of the
 * sweep is one place in medic. Two processes running at once would interleave their calls
 * differently each time; so a process that forks is held at its fork until the child exits
 * (as a one-CPU scheduler that runs the child first would do), and only then goes on. A
 * child that waits for its parent would wait forever: after 500 ms without a call from the
 * child, the parent is let go (the order is then not guaranteed, and -x says so).
 *
 * Why not strace: `strace -e inject=SET:error=E:when=N` counts N per system call (the N-th
 * write), not over all calls, and its `when=` counter is per tracee; a sweep that wants
 * "the k-th call of the whole run, whatever it is" needs one global counter, and a kill and
 * an error at the same counted point. This is that counter and nothing more.
 *
 * The error is injected the way the kernel allows a tracer to: at syscall-entry-stop the
 * call number is set to -1 (the kernel then skips the call), and at syscall-exit-stop the
 * return register is set to -ERRNO. x86-64 only for errors; kills work everywhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sysnames.h" /* generated: static const struct { long nr; const char *name; } sysnames[] */

#define MAX_TASKS 4096

struct task {
        pid_t tid;
        int inject;      /* errno to set at this task's next syscall-exit-stop, 0 = none */
        pid_t held_for;  /* stopped at its fork until this child exits, 0 = running */
};

static struct task tasks[MAX_TASKS];
static size_t n_tasks;
static pid_t gone[MAX_TASKS]; /* tasks that exited, so that a late fork event is not held */
static size_t n_gone;
static volatile sig_atomic_t timed_out, release_due;
static timer_t release_timer;

static const char *sys_name(long nr) {
        static char buf[32];
        for (size_t i = 0; i < sizeof(sysnames) / sizeof(sysnames[0]); i++)
                if (sysnames[i].nr == nr)
                        return sysnames[i].name;
        snprintf(buf, sizeof(buf), "syscall_%ld", nr);
        return buf;
}

static struct task *task_find(pid_t tid, int add) {
        for (size_t i = 0; i < n_tasks; i++)
                if (tasks[i].tid == tid)
                        return &tasks[i];
        if (!add || n_tasks == MAX_TASKS)
                return NULL;
        tasks[n_tasks] = (struct task) { .tid = tid };
        return &tasks[n_tasks++];
}

static void task_drop(pid_t tid) {
        if (n_gone < MAX_TASKS)
                gone[n_gone++] = tid;
        for (size_t i = 0; i < n_tasks; i++)
                if (tasks[i].tid == tid) {
                        tasks[i] = tasks[--n_tasks];
                        return;
                }
}

static int task_gone(pid_t tid) {
        for (size_t i = 0; i < n_gone; i++)
                if (gone[i] == tid)
                        return 1;
        return 0;
}

/* (Re)starts the 500 ms after which held parents are let go. */
static void arm_release(void) {
        struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = 500 * 1000 * 1000 } };
        timer_settime(release_timer, 0, &its, NULL);
}

static void release(pid_t child) {
        for (size_t i = 0; i < n_tasks; i++)
                if (tasks[i].held_for && (child == 0 || tasks[i].held_for == child)) {
                        tasks[i].held_for = 0;
                        ptrace(PTRACE_SYSCALL, tasks[i].tid, NULL, NULL);
                }
}

static int any_held(void) {
        for (size_t i = 0; i < n_tasks; i++)
                if (tasks[i].held_for)
                        return 1;
        return 0;
}

static int parse_errno(const char *s) {
        static const struct { const char *name; int e; } names[] = {
                { "ENOSPC", ENOSPC }, { "EIO", EIO }, { "ENOBUFS", ENOBUFS }, { "EMFILE", EMFILE },
                { "EINTR", EINTR }, { "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EDQUOT", EDQUOT },
                { "EACCES", EACCES }, { "EPERM", EPERM }, { "EBUSY", EBUSY },
        };
        char *end;
        long v;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (!strcmp(s, names[i].name))
                        return names[i].e;
        v = strtol(s, &end, 10);
        return (*s && !*end && v > 0 && v < 4096) ? (int) v : -1;
}

static pid_t tgid_of(pid_t tid) {
        char path[64], line[256];
        pid_t tgid = tid;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) tid);
        f = fopen(path, "re");
        if (!f)
                return tid;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "Tgid: %d", &tgid) == 1)
                        break;
        fclose(f);
        return tgid;
}

/* The tracee's string at ADDR, for the log only. */
static void peek_string(pid_t tid, uint64_t addr, char *buf, size_t size) {
        struct iovec local = { buf, size - 1 }, remote = { (void *) (uintptr_t) addr, size - 1 };
        ssize_t n;

        buf[0] = 0;
        if (!addr)
                return;
        n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        if (n <= 0) {
                /* A short string near the end of a mapping: the long read fails as a whole. */
                local.iov_len = remote.iov_len = 64 < size - 1 ? 64 : size - 1;
                n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
        }
        buf[n > 0 ? (size_t) n : 0] = 0;
}

static void fd_target(pid_t tid, long long fd, char *buf, size_t size) {
        char path[64];
        ssize_t n;

        if (fd == AT_FDCWD) {
                snprintf(buf, size, "cwd");
                return;
        }
        snprintf(path, sizeof(path), "/proc/%d/fd/%lld", (int) tid, fd);
        n = readlink(path, buf, size - 1);
        buf[n > 0 ? (size_t) n : 0] = 0;
}

/* What the call works on: the file behind its fd, or its path. */
static void describe(pid_t tid, const struct __ptrace_syscall_info *si, char *out, size_t size) {
        const uint64_t *a = si->entry.args;
        char s1[256], s2[256];
        long nr = (long) si->entry.nr;

        out[0] = 0;
        switch (nr) {
        case SYS_read: case SYS_write: case SYS_pread64: case SYS_pwrite64: case SYS_readv:
        case SYS_writev: case SYS_close: case SYS_fsync: case SYS_fdatasync: case SYS_ioctl:
        case SYS_sendmsg: case SYS_sendto: case SYS_recvmsg: case SYS_recvfrom: case SYS_fstat:
        case SYS_flock: case SYS_getdents64: case SYS_ftruncate: case SYS_lseek: case SYS_fcntl:
        case SYS_setsockopt: case SYS_getsockopt: case SYS_bind: case SYS_connect: case SYS_setns:
        case SYS_getsockname: case SYS_fchmod: case SYS_fchown:
                fd_target(tid, (long long) (int) a[0], s1, sizeof(s1));
                snprintf(out, size, "fd %d %s", (int) a[0], s1);
                break;
        case SYS_openat: case SYS_newfstatat: case SYS_statx: case SYS_unlinkat: case SYS_mkdirat:
        case SYS_mount_setattr: case SYS_open_tree: case SYS_readlinkat: case SYS_faccessat:
        case SYS_faccessat2:
                peek_string(tid, a[1], s1, sizeof(s1));
                snprintf(out, size, "%s", s1);
                break;
        case SYS_open: case SYS_stat: case SYS_lstat: case SYS_unlink: case SYS_mkdir:
        case SYS_readlink: case SYS_access: case SYS_execve:
                peek_string(tid, a[0], s1, sizeof(s1));
                snprintf(out, size, "%s", s1);
                break;
        case SYS_mount:
                peek_string(tid, a[1], s1, sizeof(s1));
                snprintf(out, size, "%s flags %#llx", s1, (unsigned long long) a[3]);
                break;
        case SYS_rename:
                peek_string(tid, a[0], s1, sizeof(s1));
                peek_string(tid, a[1], s2, sizeof(s2));
                snprintf(out, size, "%s -> %s", s1, s2);
                break;
        case SYS_renameat: case SYS_renameat2:
                peek_string(tid, a[1], s1, sizeof(s1));
                peek_string(tid, a[3], s2, sizeof(s2));
                snprintf(out, size, "%s -> %s", s1, s2);
                break;
        case SYS_ioprio_set:
                snprintf(out, size, "which %d who %d ioprio %#x", (int) a[0], (int) a[1], (unsigned) a[2]);
                break;
        default:
                break;
        }
        /* One line per call in the log. */
        for (char *p = out; *p; p++)
                if (*p == '\n' || *p == '\t')
                        *p = ' ';
}

static int set_syscall_nr(pid_t tid, long nr) {
#if defined(__x86_64__)
        return ptrace(PTRACE_POKEUSER, tid, offsetof(struct user_regs_struct, orig_rax), nr);
#else
        (void) tid; (void) nr;
        errno = ENOSYS;
        return -1;
#endif
}

static int set_return(pid_t tid, long value) {
#if defined(__x86_64__)
        return ptrace(PTRACE_POKEUSER, tid, offsetof(struct user_regs_struct, rax), value);
#else
        (void) tid; (void) value;
        errno = ENOSYS;
        return -1;
#endif
}

static void on_alarm(int sig) {
        (void) sig;
        timed_out = 1;
}

static void on_release(int sig) {
        (void) sig;
        release_due = 1;
}

static void usage(void) {
        fprintf(stderr, "usage: killat [-T SECONDS] [-o LOG] [-r RESULT] [-n K -f kill|ERRNO [-x NAME]] -- CMD [ARG...]\n");
        exit(64);
}

int main(int argc, char **argv) {
        unsigned long long point = 0, count = 0;
        const char *log_path = NULL, *result_path = NULL, *fault = NULL, *expect = NULL;
        unsigned timeout = 0;
        int inject_errno = 0, fault_kill = 0, main_status = 0, reached = 0, mismatch = 0, opt;
        char point_line[1024] = "";
        FILE *log = NULL, *res;
        pid_t child;

        while ((opt = getopt(argc, argv, "+T:o:r:n:f:x:")) != -1) {
                switch (opt) {
                case 'T': timeout = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'o': log_path = optarg; break;
                case 'r': result_path = optarg; break;
                case 'n': point = strtoull(optarg, NULL, 10); break;
                case 'f': fault = optarg; break;
                case 'x': expect = optarg; break;
                default: usage();
                }
        }
        if (optind >= argc || (point && !fault) || (fault && !point))
                usage();
        if (fault) {
                if (!strcmp(fault, "kill"))
                        fault_kill = 1;
                else if ((inject_errno = parse_errno(fault)) < 0) {
                        fprintf(stderr, "killat: unknown errno '%s'\n", fault);
                        return 64;
                }
        }
#if !defined(__x86_64__)
        if (inject_errno) {
                fprintf(stderr, "killat: error injection is implemented for x86-64 only\n");
                return 64;
        }
#endif
        if (log_path && !(log = fopen(log_path, "we"))) {
                fprintf(stderr, "killat: %s: %s\n", log_path, strerror(errno));
                return 1;
        }

        child = fork();
        if (child < 0) {
                perror("killat: fork");
                return 1;
        }
        if (child == 0) {
                if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) {
                        perror("killat: PTRACE_TRACEME");
                        _exit(1);
                }
                raise(SIGSTOP);
                execvp(argv[optind], argv + optind);
                fprintf(stderr, "killat: %s: %s\n", argv[optind], strerror(errno));
                _exit(127);
        }

        {
                int st;
                if (waitpid(child, &st, 0) < 0 || !WIFSTOPPED(st)) {
                        fprintf(stderr, "killat: the child did not stop\n");
                        return 1;
                }
        }
        /* EXITKILL: if killat itself is killed (an outer timeout), so is the tree. */
        if (ptrace(PTRACE_SETOPTIONS, child, NULL,
                   PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
                   PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0) {
                perror("killat: PTRACE_SETOPTIONS");
                kill(child, SIGKILL);
                return 1;
        }
        task_find(child, 1);
        {
                struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: waitpid returns EINTR */
                struct sigaction sr = { .sa_handler = on_release };
                struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };

                sigaction(SIGALRM, &sa, NULL);
                sigaction(SIGUSR1, &sr, NULL);
                if (timer_create(CLOCK_MONOTONIC, &sev, &release_timer) < 0) {
                        perror("killat: timer_create");
                        kill(child, SIGKILL);
                        return 1;
                }
                if (timeout)
                        alarm(timeout);
        }
        ptrace(PTRACE_SYSCALL, child, NULL, NULL);

        while (n_tasks > 0) {
                int st, sig, event;
                pid_t tid = waitpid(-1, &st, __WALL);

                if (tid < 0) {
                        if (errno == EINTR && release_due) {
                                release_due = 0;
                                release(0);
                        }
                        if (errno == EINTR && timed_out) {
                                for (size_t i = 0; i < n_tasks; i++)
                                        kill(tasks[i].tid, SIGKILL);
                                continue;
                        }
                        if (errno == EINTR)
                                continue;
                        break; /* ECHILD */
                }
                if (WIFEXITED(st) || WIFSIGNALED(st)) {
                        if (tid == child)
                                main_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                        task_drop(tid);
                        release(tid);
                        continue;
                }
                if (!WIFSTOPPED(st))
                        continue;
                sig = WSTOPSIG(st);
                event = st >> 16;
                if (sig == (SIGTRAP | 0x80)) {
                        struct __ptrace_syscall_info si;
                        struct task *t = task_find(tid, 1);

                        if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(si), &si) <= 0) {
                                ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
                                continue;
                        }
                        if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
                                char detail[600];
                                const char *name = sys_name((long) si.entry.nr);

                                count++;
                                if (any_held())
                                        arm_release();
                                if (log || count == point) {
                                        describe(tid, &si, detail, sizeof(detail));
                                        if (log)
                                                fprintf(log, "%llu %d %s %s\n", count, (int) tid, name, detail);
                                }
                                if (count == point) {
                                        snprintf(point_line, sizeof(point_line), "%llu %d %s %s", count, (int) tid, name, detail);
                                        if (expect && strcmp(expect, name)) {
                                                mismatch = 1;
                                        } else if (fault_kill) {
                                                reached = 1;
                                                kill(tgid_of(tid), SIGKILL);
                                        } else {
                                                reached = 1;
                                                if (set_syscall_nr(tid, -1) < 0)
                                                        fprintf(stderr, "killat: cannot skip the call: %s\n", strerror(errno));
                                                else if (t)
                                                        t->inject = inject_errno;
                                        }
                                }
                        } else if (si.op == PTRACE_SYSCALL_INFO_EXIT && t && t->inject) {
                                if (set_return(tid, -(long) t->inject) < 0)
                                        fprintf(stderr, "killat: cannot set the return value: %s\n", strerror(errno));
                                t->inject = 0;
                        }
                        ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
                } else if (event == PTRACE_EVENT_FORK) {
                        /* Hold the parent until the child is gone: one numbering for every run. */
                        unsigned long new_pid = 0;
                        struct task *t = task_find(tid, 1);

                        ptrace(PTRACE_GETEVENTMSG, tid, NULL, &new_pid);
                        if (t && new_pid && !task_gone((pid_t) new_pid)) {
                                t->held_for = (pid_t) new_pid;
                                arm_release();
                        } else {
                                ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
                        }
                } else if (event) {
                        /* clone/vfork/exec: the new task reports on its own. */
                        ptrace(PTRACE_SYSCALL, tid, NULL, NULL);
                } else if (!task_find(tid, 0)) {
                        /* A new child's first stop (SIGSTOP from the automatic attach). */
                        task_find(tid, 1);
                        ptrace(PTRACE_SYSCALL, tid, NULL, sig == SIGSTOP ? NULL : (void *) (long) sig);
                } else {
                        ptrace(PTRACE_SYSCALL, tid, NULL, (void *) (long) (sig == SIGTRAP ? 0 : sig));
                }
        }

        if (log)
                fclose(log);
        if (result_path && (res = fopen(result_path, "we"))) {
                fprintf(res, "total %llu\n", count);
                if (mismatch)
                        fprintf(res, "mismatch %s\n", point_line);
                else if (reached)
                        fprintf(res, "point %s\n", point_line);
                if (timed_out)
                        fprintf(res, "timeout %u\n", timeout);
                fclose(res);
        }
        if (timed_out)
                return 124;
        return main_status;
}
