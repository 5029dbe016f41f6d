/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sock_diag reply parser of the peer-network check (agent/sockdiag.c) on arbitrary
 * bytes, as one recv() of a SOCK_DIAG_BY_FAMILY dump: netlink headers, inet_diag_msg and
 * its attributes (tcp_info). The buffer is exactly the input's size, so a read past the
 * reply is ASan's. What it returns are established sockets of the asked port. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../agent/kernel/sockdiag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
        fprintf(stderr, "%s\n", what);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct tcp_sock_info *v = NULL;
        size_t n = 0;
        void *buf;
        char addr[INET6_ADDRSTRLEN];
        int r;

        if (size > 1 << 16)
                return 0;
        /* recv() fills an aligned buffer: so does the fuzzer (and ASan sees its end). */
        buf = malloc(size ? size : 1);
        memcpy(buf, data, size);
        r = sockdiag_parse(buf, size, 2380, &v, &n);
        if (r > 1)
                die("sockdiag_parse: more than 'done'");
        for (size_t i = 0; i < n; i++) {
                if (v[i].local_port != 2380 && v[i].remote_port != 2380)
                        die("a socket of another port");
                if (v[i].family != AF_INET && v[i].family != AF_INET6)
                        die("a socket of another family");
                tcp_sock_remote(&v[i], addr, sizeof(addr));
        }
        free(v);
        free(buf);
        return 0;
}
