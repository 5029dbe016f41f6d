/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The crowd for the process-lookup benchmark: run as PID 1 of a pid namespace of its own
 * (`unshare -p -f --mount-proc swarm ...`), it forks N-1 sleeping processes named
 * "worker" and one, the last and highest pid, named "etcd"; optionally moves that one
 * into a cgroup (writes its pid to the cgroup.procs file given); then runs COMMAND, kills
 * every child it forked and returns COMMAND's exit status.
 *
 *   usage: swarm [-c CGROUP_PROCS] N -- COMMAND [ARGS]
 *
 * It refuses to run as anything but PID 1, so that it can only ever be the init of a
 * namespace the benchmark created: when it exits the kernel kills whatever is left in
 * that namespace, whatever happened to the benchmark. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_sleeper(const char *comm, int ready_fd) {
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        prctl(PR_SET_NAME, comm);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Tell the parent this one exists under its name before anything is measured. */
        if (write(ready_fd, "", 1) != 1)
                _exit(1);
        close(ready_fd);
        for (;;)
                pause();
}

int main(int argc, char **argv) {
        const char *cgroup_procs = NULL;
        pid_t *pids, cmd;
        long n;
        int opt, p[2], status, rc = 1;

        while ((opt = getopt(argc, argv, "+c:")) != -1) {
                if (opt != 'c')
                        goto usage;
                cgroup_procs = optarg;
        }
        if (argc - optind < 2)
                goto usage;
        n = strtol(argv[optind], NULL, 10);
        if (n < 1 || n > 100000)
                goto usage;
        optind++;
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        if (optind >= argc)
                goto usage;
        if (getpid() != 1) {
                fprintf(stderr, "swarm: must be PID 1 of a new pid namespace (unshare -p -f --mount-proc)\n");
                return 1;
        }
        if (pipe(p) < 0 || !(pids = calloc((size_t) n, sizeof(*pids)))) {
                perror("swarm");
                return 1;
        }
        for (long i = 0; i < n; i++) {
                pids[i] = spawn_sleeper(i == n - 1 ? "etcd" : "worker", p[1]);
                if (pids[i] < 0) {
                        fprintf(stderr, "swarm: fork %ld of %ld: %s\n", i + 1, n, strerror(errno));
                        goto out;
                }
        }
        close(p[1]);
        for (long got = 0; got < n;) {
                char buf[4096];
                ssize_t r = read(p[0], buf, sizeof buf);
                if (r <= 0) {
                        fprintf(stderr, "swarm: only %ld of %ld processes started\n", got, n);
                        goto out;
                }
                got += r;
        }
        if (cgroup_procs) {
                FILE *f = fopen(cgroup_procs, "w");
                if (!f || fprintf(f, "%d\n", (int) pids[n - 1]) < 0 || fclose(f) != 0) {
                        fprintf(stderr, "swarm: %s: %s\n", cgroup_procs, strerror(errno));
                        goto out;
                }
        }
        cmd = fork();
        if (cmd == 0) {
                execvp(argv[optind], argv + optind);
                fprintf(stderr, "swarm: %s: %s\n", argv[optind], strerror(errno));
                _exit(127);
        }
        if (cmd > 0 && waitpid(cmd, &status, 0) == cmd)
                rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
out:
        for (long i = 0; i < n; i++)
                if (pids[i] > 0)
                        kill(pids[i], SIGKILL);
        while (wait(NULL) > 0 || errno == EINTR)
                ;
        return rc;
usage:
        fprintf(stderr, "usage: swarm [-c CGROUP_PROCS] N -- COMMAND [ARGS]\n");
        return 64;
}
