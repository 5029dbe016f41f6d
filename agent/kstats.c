/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <string.h>

#include "kstats.h"
#include "util.h"

static char *root_path(const char *root, const char *fmt, ...) _printf_(2, 3);
static char *root_path(const char *root, const char *fmt, ...) {
        _cleanup_free_ char *p = NULL;
        va_list ap;
        va_start(ap, fmt);
        p = xvasprintf(fmt, ap);
        va_end(ap);
        return xasprintf("%s%s", root ? root : "", p);
}

int diskstats_parse(const char *text, const char *name, unsigned major, unsigned minor, struct diskstat *ret) {
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                struct diskstat d = { 0 };
                uint64_t f[17] = { 0 };
                int n = 0, consumed = 0;

                if (sscanf(line, " %u %u %31s%n", &d.major, &d.minor, d.name, &consumed) == 3 &&
                    (name ? streq(d.name, name) : d.major == major && d.minor == minor)) {
                        const char *p = line + consumed;
                        char *end;
                        while (n < 17) {
                                while (*p == ' ' || *p == '\t')
                                        p++;
                                if (*p == '\n' || !*p)
                                        break;
                                f[n++] = strtoull(p, &end, 10);
                                if (end == p)
                                        return -EINVAL;
                                p = end;
                        }
                        if (n < 11)
                                return -EINVAL;
                        d.reads = f[0];
                        d.ms_reading = f[3];
                        d.writes = f[4];
                        d.ms_writing = f[7];
                        d.in_flight = f[8];
                        d.ms_io = f[9];
                        if (n >= 17) {
                                d.flushes = f[15];
                                d.ms_flushing = f[16];
                                d.has_flush = true;
                        }
                        *ret = d;
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

int diskstats_read(const char *root, const char *name, unsigned major, unsigned minor, struct diskstat *ret) {
        _cleanup_free_ char *path = root_path(root, "/proc/diskstats"), *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r < 0)
                return r;
        return diskstats_parse(text, name, major, minor, ret);
}

static int psi_line(const char *line, double *avg10, double *avg60, uint64_t *total) {
        return sscanf(line, "avg10=%lf avg60=%lf avg300=%*f total=%" SCNu64, avg10, avg60, total) == 3 ? 0 : -EINVAL;
}

int psi_parse(const char *text, struct psi *ret) {
        struct psi p = { 0 };
        bool some = false;
        const char *s;
        double unused;

        if ((s = strstr(text, "some ")) && psi_line(s + 5, &p.some_avg10, &p.some_avg60, &p.some_total_us) == 0)
                some = true;
        if ((s = strstr(text, "full ")) && psi_line(s + 5, &p.full_avg10, &unused, &p.full_total_us) == 0)
                p.has_full = true;
        if (!some)
                return -EINVAL;
        *ret = p;
        return 0;
}

int psi_read(const char *root, const char *resource, struct psi *ret) {
        _cleanup_free_ char *path = root_path(root, "/proc/pressure/%s", resource), *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r == -EOPNOTSUPP)
                return -ENOENT; /* psi=0 on the kernel command line: the files exist, reads fail */
        if (r < 0)
                return r;
        return psi_parse(text, ret);
}

int schedstat_parse(const char *text, struct schedstat *ret) {
        struct schedstat s;
        if (sscanf(text, "%" SCNu64 " %" SCNu64 " %" SCNu64, &s.run_ns, &s.wait_ns, &s.slices) != 3)
                return -EINVAL;
        *ret = s;
        return 0;
}

int schedstat_process(const char *root, pid_t pid, struct schedstat *ret, unsigned *ret_threads) {
        _cleanup_free_ char *dir = root_path(root, "/proc/%d/task", (int) pid);
        struct schedstat sum = { 0 };
        unsigned n = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                struct schedstat s;
                if (de->d_name[0] == '.')
                        continue;
                path = xasprintf("%s/%s/schedstat", dir, de->d_name);
                /* A thread that ended since readdir has nothing left to count. */
                if (read_file(path, &text, NULL) < 0 || schedstat_parse(text, &s) < 0)
                        continue;
                sum.run_ns += s.run_ns;
                sum.wait_ns += s.wait_ns;
                sum.slices += s.slices;
                n++;
        }
        closedir(d);
        if (n == 0)
                return -ENOENT; /* no schedstat: CONFIG_SCHED_INFO off, or the process is gone */
        *ret = sum;
        if (ret_threads)
                *ret_threads = n;
        return 0;
}

int meminfo_total_parse(const char *text, uint64_t *ret) {
        const char *s = strstr(text, "MemTotal:");
        unsigned long long kib;
        if (!s || sscanf(s + 9, " %llu kB", &kib) != 1)
                return -EINVAL;
        *ret = (uint64_t) kib * 1024;
        return 0;
}

int meminfo_total(const char *root, uint64_t *ret) {
        _cleanup_free_ char *path = root_path(root, "/proc/meminfo"), *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r < 0)
                return r;
        return meminfo_total_parse(text, ret);
}

int cgroup_path_parse(const char *text, char **ret) {
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                if (startswith(line, "0::")) {
                        size_t len = nl ? (size_t) (nl - line - 3) : strlen(line + 3);
                        *ret = xstrndup(line + 3, len);
                        return 0;
                }
                line = nl ? nl + 1 : NULL;
        }
        return -ENOENT;
}

int cgroup_path(const char *root, pid_t pid, char **ret) {
        _cleanup_free_ char *path = root_path(root, "/proc/%d/cgroup", (int) pid), *text = NULL;
        int r = read_file(path, &text, NULL);
        if (r < 0)
                return r;
        return cgroup_path_parse(text, ret);
}

int cpu_max_parse(const char *text, double *ret_cpus) {
        char quota[32];
        unsigned long long period;
        if (sscanf(text, "%31s %llu", quota, &period) != 2 || period == 0)
                return -EINVAL;
        if (streq(quota, "max")) {
                *ret_cpus = 0;
                return 0;
        }
        char *end;
        unsigned long long q = strtoull(quota, &end, 10);
        if (*end)
                return -EINVAL;
        *ret_cpus = (double) q / (double) period;
        return 0;
}

int memory_max_parse(const char *text, uint64_t *ret) {
        char *end;
        if (startswith(text, "max")) {
                *ret = 0;
                return 0;
        }
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cgroup_limits(const char *root, const char *cgpath, double *ret_cpus, char **ret_cpu_where, uint64_t *ret_mem,
                  char **ret_mem_where) {
        _cleanup_free_ char *cur = xstrdup(cgpath), *cpu_where = NULL, *mem_where = NULL;
        double cpus = 0;
        uint64_t mem = 0;

        for (;;) {
                const char *sub = cur[0] == '/' && cur[1] == 0 ? "" : cur;
                _cleanup_free_ char *p1 = root_path(root, "/sys/fs/cgroup%s/cpu.max", sub);
                _cleanup_free_ char *p2 = root_path(root, "/sys/fs/cgroup%s/memory.max", sub);
                _cleanup_free_ char *t = NULL;
                double c;
                uint64_t m;

                if (read_file(p1, &t, NULL) >= 0 && cpu_max_parse(t, &c) >= 0 && c > 0 && (cpus == 0 || c < cpus)) {
                        cpus = c;
                        free(cpu_where);
                        cpu_where = xstrdup(cur);
                }
                free(t);
                t = NULL;
                if (read_file(p2, &t, NULL) >= 0 && memory_max_parse(t, &m) >= 0 && m > 0 && (mem == 0 || m < mem)) {
                        mem = m;
                        free(mem_where);
                        mem_where = xstrdup(cur);
                }
                char *slash = strrchr(cur, '/');
                if (!slash || streq(cur, "/"))
                        break;
                if (slash == cur)
                        cur[1] = 0;
                else
                        *slash = 0;
        }
        *ret_cpus = cpus;
        *ret_mem = mem;
        *ret_cpu_where = TAKE_PTR(cpu_where);
        *ret_mem_where = TAKE_PTR(mem_where);
        return 0;
}
