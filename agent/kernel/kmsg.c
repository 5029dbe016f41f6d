/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <string.h>

#include "../util.h"
#include "kmsg.h"

int kmsg_parse_record(const char *rec, size_t len, struct kmsg_record *ret) {
        _cleanup_free_ char *copy = xstrndup(rec, len);
        unsigned long long prio, seq, usec;
        char *semi = strchr(copy, ';'), *nl, *dict;
        struct kmsg_record r = { 0 };

        if (!semi || sscanf(copy, "%llu,%llu,%llu", &prio, &seq, &usec) != 3)
                return -EBADMSG;
        nl = strchr(semi + 1, '\n');
        if (nl)
                *nl = 0;
        r.level = (int) (prio & 7);
        r.usec = usec;
        r.message = xstrdup(semi + 1);
        for (dict = nl ? nl + 1 : NULL; dict && *dict;) {
                char *end = strchr(dict, '\n');
                if (end)
                        *end = 0;
                if (startswith(dict, " DEVICE=") && !r.device)
                        r.device = xstrdup(dict + 8);
                dict = end ? end + 1 : NULL;
        }
        *ret = r;
        return 0;
}

void kmsg_record_done(struct kmsg_record *r) {
        free(r->message);
        free(r->device);
        *r = (struct kmsg_record) { 0 };
}

int kmsg_read_all(const char *path, size_t max, void (*fn)(const struct kmsg_record *r, void *userdata), void *userdata) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        char buf[8192];

        if (fd < 0)
                return -errno;
        for (size_t n = 0; n < max;) {
                ssize_t l = read(fd, buf, sizeof(buf));
                struct kmsg_record r;
                if (l < 0 && errno == EPIPE)
                        continue; /* the record was overwritten while we read: the next one */
                if (l < 0 && errno == EAGAIN)
                        return 0;
                if (l < 0)
                        return -errno;
                if (l == 0)
                        return 0;
                if (kmsg_parse_record(buf, (size_t) l, &r) < 0)
                        continue;
                fn(&r, userdata);
                kmsg_record_done(&r);
                n++;
        }
        return 0;
}
