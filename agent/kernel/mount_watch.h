/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The host's mount table raises POLLPRI on its mountinfo file when a mount is added,
 * removed or changed. */

/* The host's mountinfo (through /proc/PID of a process in the host's mount namespace
 * where medic runs in another; its own where that cannot be found), open for POLLPRI;
 * or -errno. */
int mount_watch_open(void);
/* After POLLPRI: reads the table to its end (POLLPRI stays raised until it is read again
 * from the start) and makes the next host_view_open() read it afresh. */
void mount_watch_ack(int fd);
