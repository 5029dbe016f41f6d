/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The policy loader on arbitrary bytes: YAML → a policy and its JSON, or FILE:LINE:COL
 * errors. A line "#~" splits the input into up to four files, loaded as one policy
 * directory merged in name order, so that targets, names and claims across files are
 * fuzzed too; without one the input is a single policy file. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/policy.h"

#define SPLIT "\n#~\n"
#define MAX_FILES 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_files(void) {
        char path[128];
        for (int i = 0; i < MAX_FILES; i++) {
                snprintf(path, sizeof(path), "%s/%d0.yaml", dir, i + 1);
                unlink(path);
        }
        snprintf(path, sizeof(path), "%s/policy.yaml", dir);
        unlink(path);
}

static void remove_dir(void) {
        remove_files();
        rmdir(dir);
}

static void write_or_die(const char *path, const uint8_t *p, size_t n) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (n && write(fd, p, n) != (ssize_t) n) || close(fd) < 0) {
                perror(path);
                abort();
        }
}

/* Every message names where: "FILE:LINE:COL: ..." (line and column from 1), or "FILE: ..."
 * for a whole file, where FILE is the policy directory or one of its files. */
static bool positioned(const char *m) {
        unsigned line = 0, col = 0;
        const char *rest;
        int n = 0;

        if (strncmp(m, dir, strlen(dir)) != 0)
                return false;
        rest = m + strlen(dir);
        if (*rest == '/')
                rest += strcspn(rest, ":");
        if (rest[0] == ':' && rest[1] == ' ')
                return true;
        return sscanf(rest, ":%u:%u: %n", &line, &col, &n) == 2 && n > 0 && line >= 1 && col >= 1;
}

static void check_errors(const struct perr *err) {
        for (size_t i = 0; i < err->n; i++)
                if (!positioned(err->msgs[i])) {
                        fprintf(stderr, "policy error without FILE:LINE:COL: %s\n", err->msgs[i]);
                        abort();
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct policy *p = NULL;
        struct perr err = { 0 };
        const uint8_t *part = data, *end = data + size;
        char path[128];
        int n = 0, r;

        if (!dir[0]) {
                const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
                snprintf(dir, sizeof(dir), "%s/medic-fuzz-policy.XXXXXX", base);
                if (!mkdtemp(dir))
                        abort();
                atexit(remove_dir);
        }
        remove_files();

        while (n < MAX_FILES) {
                const uint8_t *cut = n + 1 < MAX_FILES ? memmem(part, (size_t) (end - part), SPLIT, strlen(SPLIT)) : NULL;
                const uint8_t *stop = cut ? cut + 1 : end; /* the file keeps its last newline */

                snprintf(path, sizeof(path), "%s/%d0.yaml", dir, n + 1);
                write_or_die(path, part, (size_t) (stop - part));
                n++;
                if (!cut)
                        break;
                part = cut + strlen(SPLIT);
        }
        if (n == 1) {
                /* One file: load it by its own path, as `medic --policy FILE` does. */
                char one[128];
                snprintf(one, sizeof(one), "%s/policy.yaml", dir);
                if (rename(path, one) < 0)
                        abort();
                r = policy_load(one, &p, &err);
        } else
                r = policy_load(dir, &p, &err);

        if (r >= 0) {
                struct json_object *j = NULL;
                if (err.n > 0 || policy_to_json(p, &j) < 0) {
                        fprintf(stderr, "policy loaded with errors, or not writable as JSON\n");
                        abort();
                }
                (void) json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY);
                json_object_put(j);
                policy_free(p);
        } else if (err.n == 0) {
                fprintf(stderr, "policy refused without an error message (%d)\n", r);
                abort();
        }
        check_errors(&err);
        perr_done(&err);
        return 0;
}
