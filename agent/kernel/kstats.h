/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The kernel's statistics the diagnosis checks read: /proc/diskstats, PSI
 * (/proc/pressure/{cpu,io}), a thread's schedstat, /proc/meminfo, a process's cgroup v2
 * path and its cpu.max / memory.max. Parsers take the text (tests feed fixtures from
 * tests/data/kstats); readers take a root prefix ("" on a real host) and the ids. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One /proc/diskstats line. Fields 16/17 (flush requests, ms flushing) exist since Linux
 * 5.5; on older kernels has_flush is false. */
struct diskstat {
        unsigned major, minor;
        char name[32];
        uint64_t reads, ms_reading, writes, ms_writing, in_flight, ms_io;
        uint64_t flushes, ms_flushing;
        bool has_flush;
};

/* The line of the device named name ("vda"), or of major:minor when name is NULL; -ENOENT
 * when there is none. */
int diskstats_parse(const char *text, const char *name, unsigned major, unsigned minor, struct diskstat *ret);
int diskstats_read(const char *root, const char *name, unsigned major, unsigned minor, struct diskstat *ret);

/* PSI: "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" (and "full ..."). */
struct psi {
        double some_avg10, some_avg60, full_avg10;
        uint64_t some_total_us, full_total_us;
        bool has_full;
};
int psi_parse(const char *text, struct psi *ret);
/* resource: "cpu", "io", "memory". -ENOENT: the kernel has no PSI (CONFIG_PSI, psi=0). */
int psi_read(const char *root, const char *resource, struct psi *ret);

/* /proc/PID/task/TID/schedstat: time on the CPU, time waiting on a run queue (ns), slices. */
struct schedstat {
        uint64_t run_ns, wait_ns, slices;
};
int schedstat_parse(const char *text, struct schedstat *ret);
/* The sum over every thread of pid now; ret_threads: how many were read. */
int schedstat_process(const char *root, pid_t pid, struct schedstat *ret, unsigned *ret_threads);

/* /proc/meminfo's MemTotal in bytes. */
int meminfo_total_parse(const char *text, uint64_t *ret);
int meminfo_total(const char *root, uint64_t *ret);

/* The cgroup v2 path of pid ("/system.slice/etcd.service"), from /proc/PID/cgroup's "0::"
 * line; -ENOENT when the process is in no v2 hierarchy. */
int cgroup_path_parse(const char *text, char **ret);
int cgroup_path(const char *root, pid_t pid, char **ret);
/* cpu.max "max 100000" / "50000 100000": the quota in CPUs (0 = no limit). */
int cpu_max_parse(const char *text, double *ret_cpus);
/* memory.max "max" / bytes (0 = no limit). */
int memory_max_parse(const char *text, uint64_t *ret);
/* The tightest cpu.max and memory.max from the cgroup up to the root of the hierarchy
 * (a parent's limit binds its children); *where_* the cgroup that sets it. */
int cgroup_limits(const char *root, const char *cgpath, double *ret_cpus, char **ret_cpu_where, uint64_t *ret_mem,
                  char **ret_mem_where);
/* The same from cgroup v1's cpu (cpu.cfs_quota_us / cpu.cfs_period_us) and memory
 * (memory.limit_in_bytes) hierarchies named in proc_cgroup (the text of /proc/PID/cgroup). */
int cgroup_v1_limits(const char *root, const char *proc_cgroup, double *ret_cpus, char **ret_cpu_where, uint64_t *ret_mem,
                     char **ret_mem_where);
