/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <string.h>

#include "../util.h"
#include "kstats.h"

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

/* cgroup v1: "N:cpu,cpuacct:/path" names the controller's hierarchy, mounted at
 * /sys/fs/cgroup/cpu,cpuacct; "-1" quota and a limit near 2^63 mean no limit. */
static char *v1_path(const char *text, const char *controller, char **ret_mount) {
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n'), *c1 = strchr(line, ':'), *c2;
                size_t len = nl ? (size_t) (nl - line) : strlen(line);
                if (c1 && (c2 = strchr(c1 + 1, ':')) && c2 < line + len) {
                        _cleanup_free_ char *ctrls = xstrndup(c1 + 1, (size_t) (c2 - c1 - 1));
                        char *save = NULL;
                        bool match = false;
                        _cleanup_free_ char *copy = xstrdup(ctrls);
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                                match = match || streq(t, controller);
                        if (match) {
                                *ret_mount = TAKE_PTR(ctrls);
                                return xstrndup(c2 + 1, (size_t) (line + len - c2 - 1));
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

static bool read_ll(const char *path, long long *ret) {
        _cleanup_free_ char *t = NULL;
        char *end;
        if (read_file(path, &t, NULL) < 0)
                return false;
        errno = 0;
        *ret = strtoll(t, &end, 10);
        return errno == 0 && end != t;
}

int cgroup_v1_limits(const char *root, const char *proc_cgroup, double *ret_cpus, char **ret_cpu_where, uint64_t *ret_mem,
                     char **ret_mem_where) {
        _cleanup_free_ char *cmount = NULL, *mmount = NULL;
        _cleanup_free_ char *cpath = v1_path(proc_cgroup, "cpu", &cmount), *mpath = v1_path(proc_cgroup, "memory", &mmount);
        double cpus = 0;
        uint64_t mem = 0;

        *ret_cpu_where = *ret_mem_where = NULL;
        for (char *p = cpath; p;) {
                const char *sub = streq(p, "/") ? "" : p;
                _cleanup_free_ char *q = root_path(root, "/sys/fs/cgroup/%s%s/cpu.cfs_quota_us", cmount, sub);
                _cleanup_free_ char *per = root_path(root, "/sys/fs/cgroup/%s%s/cpu.cfs_period_us", cmount, sub);
                long long quota, period;
                if (read_ll(q, &quota) && read_ll(per, &period) && quota > 0 && period > 0 &&
                    (cpus == 0 || (double) quota / (double) period < cpus)) {
                        cpus = (double) quota / (double) period;
                        free(*ret_cpu_where);
                        *ret_cpu_where = xstrdup(p);
                }
                char *slash = strrchr(p, '/');
                if (!slash || streq(p, "/"))
                        break;
                if (slash == p)
                        p[1] = 0;
                else
                        *slash = 0;
        }
        for (char *p = mpath; p;) {
                const char *sub = streq(p, "/") ? "" : p;
                _cleanup_free_ char *l = root_path(root, "/sys/fs/cgroup/%s%s/memory.limit_in_bytes", mmount, sub);
                long long lim;
                /* "No limit" is the largest page-aligned value below 2^63. */
                if (read_ll(l, &lim) && lim > 0 && lim < (1LL << 62) && (mem == 0 || (uint64_t) lim < mem)) {
                        mem = (uint64_t) lim;
                        free(*ret_mem_where);
                        *ret_mem_where = xstrdup(p);
                }
                char *slash = strrchr(p, '/');
                if (!slash || streq(p, "/"))
                        break;
                if (slash == p)
                        p[1] = 0;
                else
                        *slash = 0;
        }
        *ret_cpus = cpus;
        *ret_mem = mem;
        return 0;
}
