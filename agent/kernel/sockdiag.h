/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* TCP sockets of one port and their tcp_info, from the kernel's NETLINK_SOCK_DIAG
 * (inet_diag) dump: what `ss -ti sport = :2380 or dport = :2380` shows, read in-process.
 * Only the network namespace medic runs in is seen. */

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tcp_sock_info {
        int family;                 /* AF_INET, AF_INET6 */
        uint8_t local[16], remote[16];
        uint16_t local_port, remote_port; /* host order */
        uint8_t state;
        uint32_t rtt_us, rttvar_us;  /* smoothed RTT and its variance (tcpi_rtt, tcpi_rttvar) */
        uint32_t retransmits;        /* retransmissions of the current unacked data */
        uint32_t total_retrans;      /* over the socket's life */
        uint32_t lost;               /* segments the stack considers lost now */
        uint32_t last_data_recv_ms;  /* since data last arrived */
        uint32_t last_data_sent_ms;  /* since data was last sent (its ACK updates the RTT) */
        uint64_t inode;
};

/* Parses one recv() buffer of a SOCK_DIAG_BY_FAMILY dump; appends the established sockets
 * whose local or remote port is port. Returns 1 when the buffer ends the dump
 * (NLMSG_DONE), 0 when more follow, or -errno (NLMSG_ERROR's, or -EBADMSG). */
int sockdiag_parse(const void *buf, size_t len, uint16_t port, struct tcp_sock_info **v, size_t *n);
/* Dumps the TCP sockets of this network namespace (IPv4 and IPv6) on port. */
int sockdiag_tcp_port(uint16_t port, struct tcp_sock_info **ret, size_t *ret_n);
/* "127.0.0.2" / "::1" */
void tcp_sock_remote(const struct tcp_sock_info *s, char *buf, size_t len);
/* The inodes of the sockets pid holds open (/proc/PID/fd → "socket:[N]"): which of the
 * dumped sockets are etcd's own. Needs ptrace access to pid (CAP_SYS_PTRACE). */
int proc_socket_inodes(pid_t pid, uint64_t **ret, size_t *ret_n);
