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

struct sdlib_event sdev;

int sdlib_event_load(void) {
        void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        struct {
                void **slot;
                const char *name;
        } syms[] = {
                { (void **) &sdev.event_new, "sd_event_new" },
                { (void **) &sdev.event_unref, "sd_event_unref" },
                { (void **) &sdev.add_io, "sd_event_add_io" },
                { (void **) &sdev.add_time_relative, "sd_event_add_time_relative" },
                { (void **) &sdev.add_signal, "sd_event_add_signal" },
                { (void **) &sdev.source_set_enabled, "sd_event_source_set_enabled" },
                { (void **) &sdev.source_set_time_relative, "sd_event_source_set_time_relative" },
                { (void **) &sdev.source_unref, "sd_event_source_unref" },
                { (void **) &sdev.set_watchdog, "sd_event_set_watchdog" },
                { (void **) &sdev.loop, "sd_event_loop" },
                { (void **) &sdev.exit, "sd_event_exit" },
                { (void **) &sdev.notify, "sd_notify" },
        };

        if (!h)
                return -ENOSYS;
        for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
                *syms[i].slot = dlsym(h, syms[i].name);
                if (!*syms[i].slot)
                        return -ENOSYS;
        }
        return 0;
}
