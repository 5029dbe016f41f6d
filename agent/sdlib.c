/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "sdlib.h"

static struct {
        bool tried;
        int (*journal_sendv)(const struct iovec *iov, int n);
        int (*pid_get_unit)(pid_t pid, char **unit);
} sd;

static bool load(void) {
        void *h;

        if (sd.tried)
                return sd.journal_sendv != NULL;
        sd.tried = true;
        h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return false;
        /* POSIX allows casting dlsym()'s result to a function pointer. */
        *(void **) &sd.journal_sendv = dlsym(h, "sd_journal_sendv");
        *(void **) &sd.pid_get_unit = dlsym(h, "sd_pid_get_unit");
        if (!sd.journal_sendv || !sd.pid_get_unit) {
                sd.journal_sendv = NULL;
                sd.pid_get_unit = NULL;
                return false;
        }
        return true;
}

int sdlib_journal_sendv(const struct iovec *iov, int n) {
        if (!load())
                return -ENOSYS;
        return sd.journal_sendv(iov, n);
}

int sdlib_pid_get_unit(pid_t pid, char **ret_unit) {
        if (!load())
                return -ENOSYS;
        return sd.pid_get_unit(pid, ret_unit);
}
