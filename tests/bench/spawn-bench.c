/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs a command N times (fork + exec from this small process, so the child's peak RSS is
 * its own, not an inherited high-water mark) and prints median/p90 wall time in ms, the
 * peak RSS in KiB, the fastest and slowest run in ms and the median CPU time (user +
 * system) of a run in ms, which a busy machine disturbs less than wall time:
 * "median_ms p90_ms max_rss_kib min_ms max_ms cpu_ms". Exit codes 0 and 2 count as
 * success (audit's compliant/drift); any other stops it with exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        int n = argc > 2 ? atoi(argv[1]) : 0;
        double *t, *c;
        long maxrss = 0;

        if (n <= 0) {
                fprintf(stderr, "usage: spawn-bench RUNS COMMAND [ARGS]\n");
                return 64;
        }
        t = calloc((size_t) n, sizeof(double));
        c = calloc((size_t) n, sizeof(double));
        if (!t || !c)
                return 1;
        for (int i = 0; i < n; i++) {
                struct timespec a, b;
                struct rusage ru;
                int status;
                pid_t pid;

                clock_gettime(CLOCK_MONOTONIC, &a);
                pid = fork();
                if (pid == 0) {
                        int fd = open("/dev/null", O_WRONLY);
                        dup2(fd, 1);
                        dup2(fd, 2);
                        execvp(argv[2], argv + 2);
                        _exit(127);
                }
                if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
                        return 1;
                clock_gettime(CLOCK_MONOTONIC, &b);
                if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 2)) {
                        fprintf(stderr, "%s exited with %d\n", argv[2], WEXITSTATUS(status));
                        return 1;
                }
                t[i] = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
                c[i] = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                       (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
                if (ru.ru_maxrss > maxrss)
                        maxrss = ru.ru_maxrss;
        }
        qsort(t, (size_t) n, sizeof(double), cmp);
        qsort(c, (size_t) n, sizeof(double), cmp);
        printf("%.3f %.3f %ld %.3f %.3f %.3f\n", t[n / 2], t[(n * 9) / 10], maxrss, t[0], t[n - 1], c[n / 2]);
        free(t);
        free(c);
        return 0;
}
