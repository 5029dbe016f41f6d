/* SPDX-License-Identifier: GPL-2.0-or-later */
/* POLLPRI on the host's mountinfo (see mount_watch.h). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "mount_watch.h"
#include "mountns.h"
#include "../util.h"

int mount_watch_open(void) {
        struct host_view v = { 0 };
        _cleanup_free_ char *why = NULL, *path = NULL;
        int fd;

        if (host_view_open(&v, &why) < 0)
                path = xstrdup("/proc/self/mountinfo");
        else
                path = v.other_ns ? xasprintf("/proc/%d/mountinfo", (int) v.host_pid) : xstrdup("/proc/self/mountinfo");
        host_view_done(&v);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

void mount_watch_ack(int fd) {
        char buf[4096];

        (void) lseek(fd, 0, SEEK_SET);
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        host_view_invalidate();
}
