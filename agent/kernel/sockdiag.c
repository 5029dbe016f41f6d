/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "../util.h"
#include "sockdiag.h"

#define TCP_ESTABLISHED_STATE 1

void tcp_sock_remote(const struct tcp_sock_info *s, char *buf, size_t len) {
        if (!inet_ntop(s->family, s->remote, buf, (socklen_t) len))
                snprintf(buf, len, "?");
}

static void parse_one(const struct nlmsghdr *h, uint16_t port, struct tcp_sock_info **v, size_t *n) {
        const struct inet_diag_msg *m = NLMSG_DATA(h);
        size_t payload = h->nlmsg_len - NLMSG_LENGTH(0), off = NLMSG_ALIGN(sizeof(*m));
        struct tcp_sock_info s = { 0 };

        if (payload < sizeof(*m) || (m->idiag_family != AF_INET && m->idiag_family != AF_INET6))
                return;
        s.family = m->idiag_family;
        s.local_port = ntohs(m->id.idiag_sport);
        s.remote_port = ntohs(m->id.idiag_dport);
        if (s.local_port != port && s.remote_port != port)
                return;
        s.state = m->idiag_state;
        s.inode = m->idiag_inode;
        memcpy(s.local, m->id.idiag_src, s.family == AF_INET ? 4 : 16);
        memcpy(s.remote, m->id.idiag_dst, s.family == AF_INET ? 4 : 16);
        while (off + sizeof(struct rtattr) <= payload) {
                const struct rtattr *a = (const struct rtattr *) ((const char *) m + off);
                if (a->rta_len < sizeof(*a) || off + a->rta_len > payload)
                        break;
                if (a->rta_type == INET_DIAG_INFO) {
                        struct tcp_info ti = { 0 };
                        size_t l = a->rta_len - RTA_LENGTH(0);
                        /* Older kernels send a shorter struct: what is missing stays 0. */
                        memcpy(&ti, RTA_DATA(a), l < sizeof(ti) ? l : sizeof(ti));
                        s.rtt_us = ti.tcpi_rtt;
                        s.rttvar_us = ti.tcpi_rttvar;
                        s.retransmits = ti.tcpi_retransmits;
                        s.total_retrans = ti.tcpi_total_retrans;
                        s.lost = ti.tcpi_lost;
                        s.last_data_recv_ms = ti.tcpi_last_data_recv;
                        s.last_data_sent_ms = ti.tcpi_last_data_sent;
                }
                off += RTA_ALIGN(a->rta_len);
        }
        *v = xrealloc(*v, (*n + 1) * sizeof(**v));
        (*v)[(*n)++] = s;
}

int sockdiag_parse(const void *buf, size_t len, uint16_t port, struct tcp_sock_info **v, size_t *n) {
        for (const struct nlmsghdr *h = buf; NLMSG_OK(h, len);) {
                if (h->nlmsg_type == NLMSG_DONE)
                        return 1;
                if (h->nlmsg_type == NLMSG_ERROR) {
                        const struct nlmsgerr *e = NLMSG_DATA(h);
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                return -EBADMSG;
                        return e->error < 0 ? e->error : -EBADMSG;
                }
                if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
                        parse_one(h, port, v, n);
                /* NLMSG_NEXT subtracts the aligned length: a last message whose padding
                 * the buffer does not hold would wrap len around and send NLMSG_OK past
                 * the end. Such a message is the last one. */
                if (NLMSG_ALIGN(h->nlmsg_len) >= len)
                        break;
                h = NLMSG_NEXT(h, len);
        }
        return 0;
}

static int dump_family(int fd, int family, uint16_t port, struct tcp_sock_info **v, size_t *n) {
        struct {
                struct nlmsghdr h;
                struct inet_diag_req_v2 r;
        } req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = (uint32_t) family },
                .r = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP,
                       .idiag_ext = 1 << (INET_DIAG_INFO - 1), .idiag_states = 1 << TCP_ESTABLISHED_STATE },
        };
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        _cleanup_free_ char *buf = xmalloc(32768);

        if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        /* Bounded: the socket has a receive timeout, and a dump ends with NLMSG_DONE. */
        for (unsigned rounds = 0; rounds < 100000; rounds++) {
                ssize_t len = recv(fd, buf, 32768, 0);
                int r;
                if (len < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                if (len == 0)
                        return -EBADMSG;
                r = sockdiag_parse(buf, (size_t) len, port, v, n);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        return -E2BIG;
}

int sockdiag_tcp_port(uint16_t port, struct tcp_sock_info **ret, size_t *ret_n) {
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        struct timeval tv = { .tv_sec = 2 };
        struct tcp_sock_info *v = NULL;
        size_t n = 0;
        int r;

        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        r = dump_family(fd, AF_INET, port, &v, &n);
        /* A kernel without IPv6 answers ENOENT for the family: IPv4 alone is the answer. */
        if (r >= 0) {
                int r6 = dump_family(fd, AF_INET6, port, &v, &n);
                if (r6 < 0 && r6 != -ENOENT && r6 != -EAFNOSUPPORT)
                        r = r6;
        }
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int proc_socket_inodes(pid_t pid, uint64_t **ret, size_t *ret_n) {
        _cleanup_free_ char *dir = xasprintf("/proc/%d/fd", (int) pid);
        uint64_t *v = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char link[64];
                unsigned long long ino;
                ssize_t l;
                if (de->d_name[0] == '.')
                        continue;
                l = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
                if (l <= 0)
                        continue;
                link[l] = 0;
                if (sscanf(link, "socket:[%llu]", &ino) != 1)
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = ino;
        }
        closedir(d);
        *ret = v;
        *ret_n = n;
        return 0;
}
