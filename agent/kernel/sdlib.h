/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

/* libsystemd, loaded on first use. It brings libgcrypt, liblzma, libzstd and liblz4 with
 * it: ~0.5 ms and ~1.2 MiB on every start, for an audit that usually needs none of it.
 * Only journald events and the unit check of a unit target use it. */

/* sd_journal_sendv(); -ENOSYS when libsystemd cannot be loaded. */
int sdlib_journal_sendv(const struct iovec *iov, int n);
/* sd_pid_get_unit(); -ENOSYS when libsystemd cannot be loaded. */
int sdlib_pid_get_unit(pid_t pid, char **ret_unit);

/* The agent's event loop: sd-event and sd_notify, from the same library. The types are
 * libsystemd's own (its headers are a build dependency); the calls go through here. */
#include <systemd/sd-event.h>

/* Loads the sd-event symbols; -ENOSYS when libsystemd cannot be loaded. */
int sdlib_event_load(void);
struct sdlib_event {
        int (*event_new)(sd_event **e);
        sd_event *(*event_unref)(sd_event *e);
        int (*add_io)(sd_event *e, sd_event_source **s, int fd, uint32_t events, sd_event_io_handler_t cb, void *u);
        int (*add_time_relative)(sd_event *e, sd_event_source **s, clockid_t clock, uint64_t usec, uint64_t accuracy,
                                 sd_event_time_handler_t cb, void *u);
        int (*add_signal)(sd_event *e, sd_event_source **s, int sig, sd_event_signal_handler_t cb, void *u);
        int (*source_set_enabled)(sd_event_source *s, int enabled);
        int (*source_set_time_relative)(sd_event_source *s, uint64_t usec);
        sd_event_source *(*source_unref)(sd_event_source *s);
        int (*set_watchdog)(sd_event *e, int b);
        int (*loop)(sd_event *e);
        int (*exit)(sd_event *e, int code);
        int (*notify)(int unset_environment, const char *state);
};
extern struct sdlib_event sdev;
