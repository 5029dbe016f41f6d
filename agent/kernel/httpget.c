/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "../util.h"
#include "httpget.h"

static int wait_fd(int fd, short events, uint64_t deadline_ns) {
        for (;;) {
                uint64_t now = now_monotonic_ns();
                struct pollfd p = { .fd = fd, .events = events };
                int r;
                if (now >= deadline_ns)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int) ((deadline_ns - now) / 1000000) + 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0;
        }
}

int http_get(const char *host, uint16_t port, const char *path, size_t max, int timeout_ms, int *ret_status,
             char **ret_body) {
        struct sockaddr_storage ss = { 0 };
        socklen_t sl;
        uint64_t deadline = now_monotonic_ns() + (uint64_t) timeout_ms * 1000000ULL;
        _cleanup_free_ char *req = NULL, *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0, cap = 65536;
        int r, status;

        if (inet_pton(AF_INET, host, &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                ((struct sockaddr_in *) &ss)->sin_family = AF_INET;
                ((struct sockaddr_in *) &ss)->sin_port = htons(port);
                sl = sizeof(struct sockaddr_in);
        } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *) &ss)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *) &ss)->sin6_port = htons(port);
                sl = sizeof(struct sockaddr_in6);
        } else
                return -EINVAL;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &ss, sl) < 0) {
                int e = errno, soerr = 0;
                socklen_t el = sizeof(soerr);
                if (e != EINPROGRESS)
                        return -e;
                if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
                        return r;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0)
                        return -errno;
                if (soerr)
                        return -soerr;
        }
        req = strchr(host, ':') ? xasprintf("GET %s HTTP/1.0\r\nHost: [%s]:%u\r\nAccept: text/plain\r\nUser-Agent: medic\r\n\r\n", path, host, port)
                                : xasprintf("GET %s HTTP/1.0\r\nHost: %s:%u\r\nAccept: text/plain\r\nUser-Agent: medic\r\n\r\n", path, host, port);
        for (size_t off = 0, n = strlen(req); off < n;) {
                ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
                if (w < 0 && errno == EAGAIN) {
                        if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
                                return r;
                        continue;
                }
                if (w < 0)
                        return -errno;
                off += (size_t) w;
        }
        buf = xmalloc(cap + 1);
        for (;;) {
                ssize_t got;
                if (len == cap) {
                        if (cap >= max)
                                return -EFBIG;
                        cap = cap * 2 > max ? max : cap * 2;
                        buf = xrealloc(buf, cap + 1);
                }
                got = recv(fd, buf + len, cap - len, 0);
                if (got < 0 && errno == EAGAIN) {
                        if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
                                return r;
                        continue;
                }
                if (got < 0)
                        return -errno;
                if (got == 0)
                        break;
                len += (size_t) got;
        }
        buf[len] = 0;
        char *body = strstr(buf, "\r\n\r\n");
        if (!body || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
                return -EBADMSG;
        *ret_status = status;
        *ret_body = xstrdup(body + 4);
        return 0;
}
