/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* One plain-HTTP GET over a socket medic opens itself (no curl, no child process): for
 * etcd's /metrics on this host. HTTP/1.0, so the server closes the connection after the
 * body and never chunks it; numeric addresses only (no DNS); bounded in time and size. */

#include <stddef.h>
#include <stdint.h>

/* host: a numeric IPv4/IPv6 address. Returns 0 with the status code and the body, or
 * -errno (-ETIMEDOUT, -ECONNREFUSED, -EFBIG past max bytes, -EBADMSG). */
int http_get(const char *host, uint16_t port, const char *path, size_t max, int timeout_ms, int *ret_status,
             char **ret_body);
