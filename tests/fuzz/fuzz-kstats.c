/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel statistics parsers of the diagnosis checks (agent/kstats.c) on arbitrary
 * text: /proc/diskstats (by name and by major:minor), PSI, a thread's schedstat,
 * /proc/meminfo, /proc/PID/cgroup (the v2 path, and the v1 controllers' lines with the
 * walk up their hierarchies) and cgroup v2's cpu.max and memory.max. Every parser is given
 * the whole input, as each is given a whole file. The cgroup walks read under a root that
 * does not exist: only the path handling runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/kernel/kstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NO_ROOT "/nonexistent/medic-fuzz-kstats"

static void die(const char *what) {
        fprintf(stderr, "%s\n", what);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;
        struct diskstat d, d2;
        struct psi p;
        struct schedstat ss;
        uint64_t u;
        double cpus;
        char *path = NULL, *cpu_where = NULL, *mem_where = NULL;

        if (size > 1 << 16)
                return 0;
        /* The readers hand the parsers a NUL-terminated file. */
        text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = 0;

        /* The first line names the device the way the disk checks ask for one. */
        if (diskstats_parse(text, "vda", 0, 0, &d) == 0 && strcmp(d.name, "vda") != 0)
                die("diskstats: asked for vda, got another device");
        if (sscanf(text, " %*u %*u %31s", d2.name) == 1 && diskstats_parse(text, d2.name, 0, 0, &d) == 0) {
                if (strcmp(d.name, d2.name) != 0)
                        die("diskstats: asked for one device by name, got another");
                if (diskstats_parse(text, NULL, d.major, d.minor, &d2) == 0 && (d2.major != d.major || d2.minor != d.minor))
                        die("diskstats: asked for major:minor, got another");
                if (!d.has_flush && (d.flushes || d.ms_flushing))
                        die("diskstats: flush counters without fields 16-17");
        }
        (void) psi_parse(text, &p);
        (void) schedstat_parse(text, &ss);
        if (meminfo_total_parse(text, &u) == 0 && u % 1024)
                die("meminfo: MemTotal is in kB");
        if (cpu_max_parse(text, &cpus) == 0 && !(cpus >= 0))
                die("cpu.max: a negative or NaN quota");
        (void) memory_max_parse(text, &u);

        if (cgroup_path_parse(text, &path) == 0) {
                if (strchr(path, '\n'))
                        die("cgroup: the v2 path runs past its line");
                if (cgroup_limits(NO_ROOT, path, &cpus, &cpu_where, &u, &mem_where) < 0 || cpus != 0 || u != 0 ||
                    cpu_where || mem_where)
                        die("cgroup: limits found under a root that does not exist");
                free(path);
        }
        if (cgroup_v1_limits(NO_ROOT, text, &cpus, &cpu_where, &u, &mem_where) < 0 || cpus != 0 || u != 0 || cpu_where ||
            mem_where)
                die("cgroup v1: limits found under a root that does not exist");
        free(text);
        return 0;
}
