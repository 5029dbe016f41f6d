/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The agent's kernel announcements, parsed from messages built here as the kernel sends
 * them: the proc connector's exec and comm events (and nothing else it sends), rtnetlink's
 * link and tc messages (and not a route), and the cheap look at a process an event names.
 * No privilege needed. */
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "../../agent/kernel/proc_events.h"
#include "../../agent/kernel/rtnl_events.h"
#include "../../agent/util.h"

/* ---- proc connector ---- */

struct cn_event_msg {
        struct nlmsghdr h;
        struct cn_msg cn;
        struct proc_event ev;
} __attribute__((packed));

static size_t put_proc(char *buf, size_t off, unsigned idx, unsigned what, pid_t tgid) {
        struct cn_event_msg m = {
                .h = { .nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_DONE },
                .cn = { .id = { .idx = idx, .val = CN_VAL_PROC }, .len = sizeof(struct proc_event) },
                .ev = { .what = what },
        };
        if (what == PROC_EVENT_EXEC)
                m.ev.event_data.exec.process_tgid = tgid;
        else if (what == PROC_EVENT_COMM)
                m.ev.event_data.comm.process_tgid = tgid;
        else if (what == PROC_EVENT_FORK)
                m.ev.event_data.fork.child_tgid = tgid;
        memcpy(buf + off, &m, sizeof(m));
        return off + NLMSG_ALIGN(sizeof(m));
}

struct pids {
        pid_t p[8];
        size_t n;
};

static void got_pid(pid_t pid, void *u) {
        struct pids *ps = u;
        assert_true(ps->n < ELEMENTSOF(ps->p));
        ps->p[ps->n++] = pid;
}

static void test_proc_exec_and_comm_only(void **state _unused_) {
        char buf[1024];
        size_t len = 0;
        struct pids ps = { .n = 0 };

        len = put_proc(buf, len, CN_IDX_PROC, PROC_EVENT_FORK, 11);
        len = put_proc(buf, len, CN_IDX_PROC, PROC_EVENT_EXEC, 1234);
        len = put_proc(buf, len, CN_IDX_PROC + 1, PROC_EVENT_EXEC, 55); /* another connector's */
        len = put_proc(buf, len, CN_IDX_PROC, PROC_EVENT_EXIT, 12);
        len = put_proc(buf, len, CN_IDX_PROC, PROC_EVENT_COMM, 99);
        proc_events_parse(buf, len, got_pid, &ps);
        assert_int_equal(ps.n, 2);
        assert_int_equal(ps.p[0], 1234);
        assert_int_equal(ps.p[1], 99);

        /* A message cut short ends the walk there. */
        ps.n = 0;
        proc_events_parse(buf, len - 1, got_pid, &ps);
        assert_int_equal(ps.n, 1);
        assert_int_equal(ps.p[0], 1234);
}

/* ---- rtnetlink ---- */

struct rtnl_seen {
        char text[8][64];
        int type[8];
        size_t n;
};

static void got_rtnl(const struct rtnl_event *ev, void *u) {
        struct rtnl_seen *s = u;
        assert_non_null(ev);
        assert_true(s->n < ELEMENTSOF(s->text));
        s->type[s->n] = ev->type;
        snprintf(s->text[s->n++], sizeof(s->text[0]), "%s: %s", ev->ifname, ev->what);
}

static size_t put_rtnl(char *buf, size_t off, int type, int ifindex) {
        struct nlmsghdr h = { .nlmsg_type = (unsigned short) type };
        char *p = buf + off;

        memset(p, 0, NLMSG_SPACE(sizeof(struct ifinfomsg)) + NLMSG_SPACE(sizeof(struct tcmsg)));
        if (type == RTM_NEWLINK || type == RTM_DELLINK) {
                struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
                h.nlmsg_len = NLMSG_LENGTH(sizeof(ifi));
                memcpy(NLMSG_DATA(p), &ifi, sizeof(ifi));
        } else if (type == RTM_NEWROUTE) {
                struct rtmsg rt = { .rtm_family = AF_INET };
                h.nlmsg_len = NLMSG_LENGTH(sizeof(rt));
                memcpy(NLMSG_DATA(p), &rt, sizeof(rt));
        } else {
                struct tcmsg tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex };
                h.nlmsg_len = NLMSG_LENGTH(sizeof(tc));
                memcpy(NLMSG_DATA(p), &tc, sizeof(tc));
        }
        memcpy(p, &h, sizeof(h));
        return off + NLMSG_ALIGN(h.nlmsg_len);
}

static void test_rtnl_link_and_tc(void **state _unused_) {
        char buf[1024];
        size_t len = 0;
        struct rtnl_seen s = { .n = 0 };
        char gone[64];

        len = put_rtnl(buf, len, RTM_NEWLINK, 1); /* lo: ifindex 1 in every network namespace */
        len = put_rtnl(buf, len, RTM_NEWROUTE, 1);
        len = put_rtnl(buf, len, RTM_DELQDISC, 0x7ffffff0);
        len = put_rtnl(buf, len, RTM_NEWTFILTER, 0); /* a shared filter block's: no link */
        len = put_rtnl(buf, len, RTM_NEWTCLASS, 1);
        rtnl_events_parse(buf, len, got_rtnl, &s);
        assert_int_equal(s.n, 4);
        assert_int_equal(s.type[0], RTM_NEWLINK);
        assert_string_equal(s.text[0], "lo: link changed");
        snprintf(gone, sizeof(gone), "ifindex %d: qdisc deleted", 0x7ffffff0);
        assert_string_equal(s.text[1], gone);
        assert_string_equal(s.text[2], "?: filter added or changed");
        assert_int_equal(s.type[3], RTM_NEWTCLASS);
        assert_string_equal(s.text[3], "lo: class added or changed");
}

/* ---- would a target find the process an event named ---- */

static void test_rules_match_own_process(void **state) {
        const char *dir = *state;
        _cleanup_free_ char *pidfile = xasprintf("%s/pid", dir), *other = xasprintf("%s/other", dir);
        _cleanup_free_ char *pidtext = xasprintf("%d\n", (int) getpid()), *comm_text = NULL, *cg = NULL;
        /* The executable as the scan reads it: through a /proc directory fd, by pid.
         * valgrind answers a readlink of /proc/self/exe with the program it runs, while
         * the kernel's link (what medic compares) names valgrind's own tool. */
        _cleanup_close_ int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char exe[4096], rel[32];
        pid_t me = getpid();
        FILE *f;

        assert_true(proc_fd >= 0);
        snprintf(rel, sizeof(rel), "%d/exe", (int) me);
        ssize_t n = readlinkat(proc_fd, rel, exe, sizeof(exe) - 1);

        assert_true(n > 0);
        exe[n] = 0;
        assert_int_equal(read_line_file("/proc/self/comm", &comm_text), 0);
        assert_non_null(f = fopen(pidfile, "we"));
        fputs(pidtext, f);
        fclose(f);
        assert_non_null(f = fopen(other, "we"));
        fputs("1\n", f);
        fclose(f);

        struct process_rule comm = { .kind = RULE_COMM, .value = comm_text };
        struct process_rule wrong_comm = { .kind = RULE_COMM, .value = (char *) "no-such-comm" };
        struct process_rule by_exe = { .kind = RULE_EXE, .value = exe };
        struct process_rule by_pidfile = { .kind = RULE_PIDFILE, .value = pidfile };
        struct process_rule other_pidfile = { .kind = RULE_PIDFILE, .value = other };
        struct process_rule unit = { .kind = RULE_UNIT, .value = (char *) "no-such.service" };
        assert_true(proc_rules_match(me, &comm, 1));
        assert_false(proc_rules_match(me, &wrong_comm, 1));
        assert_true(proc_rules_match(me, &by_exe, 1));
        assert_true(proc_rules_match(me, &by_pidfile, 1));
        assert_false(proc_rules_match(me, &other_pidfile, 1));
        assert_false(proc_rules_match(me, &unit, 1));
        /* Any rule of the list will do. */
        struct process_rule rules[] = { unit, wrong_comm, by_exe };
        assert_true(proc_rules_match(me, rules, ELEMENTSOF(rules)));
        assert_false(proc_rules_match(me, rules, 2));

        /* An exe: rule through a symlink matches as the scan does (by the real path). */
        _cleanup_free_ char *link = xasprintf("%s/exe-link", dir);
        assert_int_equal(symlink(exe, link), 0);
        struct process_rule by_link = { .kind = RULE_EXE, .value = link };
        assert_true(proc_rules_match(me, &by_link, 1));

        /* unit: the cgroup's last component matches, a prefix of it does not. */
        assert_int_equal(read_file("/proc/self/cgroup", &cg, NULL), 0);
        char *line = strrchr(cg, '/');
        if (line && line[1] && line[1] != '\n') {
                line[strcspn(line, "\n")] = 0;
                _cleanup_free_ char *last = xstrdup(line + 1), *prefix = xstrndup(line + 1, strlen(line + 1) - 1);
                struct process_rule mine = { .kind = RULE_UNIT, .value = last };
                struct process_rule part = { .kind = RULE_UNIT, .value = prefix };
                assert_true(proc_rules_match(me, &mine, 1));
                if (prefix[0])
                        assert_false(proc_rules_match(me, &part, 1));
        }

        /* A process that is gone matches nothing. */
        assert_false(proc_rules_match(0x3ffffff0, &by_exe, 1));
        assert_false(proc_rules_match(0x3ffffff0, &comm, 1));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_proc_exec_and_comm_only),
                cmocka_unit_test(test_rtnl_link_and_tc),
                cmocka_unit_test_setup_teardown(test_rules_match_own_process, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
