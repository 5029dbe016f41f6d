/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A kernel for the netlink fuzzers: a libnl socket on NETLINK_USERSOCK whose requests go
 * nowhere; each is answered, on the socket itself, with the next reply cut from the
 * fuzzer's input (its messages given the request's sequence number), followed by what a
 * kernel always ends with (NLMSG_DONE after a dump, an ack where the request asked for
 * one). medic's readers, libnl's receive and nlsock_dump() alike, then read those
 * datagrams exactly as they read a kernel's.
 *
 * Input format: replies one after another, each a 16-bit little-endian length and that
 * many bytes of netlink messages; a short last reply takes what is left, and requests
 * past the end of the input get an empty reply. */

#include <stddef.h>
#include <stdint.h>

struct nl_sock;

/* Replies for the next requests; the bytes must outlive the socket's use. */
void fakenl_load(const uint8_t *data, size_t size);
/* A socket answered from fakenl_load()'s replies (free it with nl_socket_free()). */
struct nl_sock *fakenl_socket(void);

/* For the seed generators: one reply in the input format. */
size_t fakenl_put_reply(uint8_t *out, size_t room, const void *msgs, size_t len);
