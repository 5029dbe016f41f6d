/* threads: the io-priority target of the fault suite. A process named COMM with N threads
 * in all (the main one and N-1 more) that does nothing until killed; PIDFILE gets its pid
 * once every thread exists, so the harness never sees it half started.
 *
 *   threads COMM N PIDFILE */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *idle_thread(void *arg) {
        (void) arg;
        for (;;)
                pause();
        return NULL;
}

int main(int argc, char **argv) {
        char tmp[4096];
        FILE *f;
        int n;

        if (argc != 4 || (n = atoi(argv[2])) < 1) {
                fprintf(stderr, "usage: threads COMM N PIDFILE\n");
                return 64;
        }
        /* Threads inherit the name: every thread's comm is COMM. */
        prctl(PR_SET_NAME, argv[1], 0, 0, 0);
        for (int i = 1; i < n; i++) {
                pthread_t t;
                if (pthread_create(&t, NULL, idle_thread, NULL)) {
                        perror("threads: pthread_create");
                        return 1;
                }
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp", argv[3]);
        if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", (int) getpid()) < 0 || fclose(f) || rename(tmp, argv[3])) {
                perror("threads: pidfile");
                return 1;
        }
        for (;;)
                pause();
}
