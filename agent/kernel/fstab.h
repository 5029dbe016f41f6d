/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What mounts a file system at boot: /etc/fstab lines and systemd .mount units. medic only
 * reads them, to say whether a runtime change will survive a reboot; it never edits them. */

#include <sys/types.h>

#include "mountinfo.h"

struct fstab_entry {
        char *spec; /* UUID=..., LABEL=..., /dev/vda1, tmpfs */
        char *file; /* the mount point */
        char *type;
        char *opts;
        int freq, passno;
        unsigned line; /* 1-based line in the file */
};

/* Every entry of an fstab(5) file (getmntent: escapes decoded), with its line number. */
int fstab_read(const char *path, struct fstab_entry **ret, size_t *ret_n);
void fstab_free(struct fstab_entry *e, size_t n);

/* The device a spec names: UUID=, LABEL=, PARTUUID=, PARTLABEL= through /dev/disk/by-*,
 * or a /dev path; root prefixes every path (tests). -EINVAL for a spec that names no
 * device (tmpfs, a bind source), -ENOENT when it is not there. */
int fstab_spec_dev(const char *root, const char *spec, dev_t *ret);

/* The entry that mounts this mount at boot: the last one for its mount point, else the
 * last one whose spec is its device (with *ret_by_device set). -ENOENT when none. */
int fstab_match(const struct fstab_entry *e, size_t n, const char *root, const char *mount_point,
                dev_t dev, bool *ret_by_device);

/* The atime state an options string gives at mount time (kernel default: relatime). */
struct atime atime_from_options(const char *opts);
/* opts with its atime words replaced by what want sets: the line an operator would write. */
char *options_with_atime(const char *opts, const struct atime *want);
/* One fstab line, fields escaped as fstab(5) wants. */
char *fstab_format(const char *spec, const char *file, const char *type, const char *opts, int freq,
                   int passno);

/* The unit systemd names for a mount point: "/var/lib/etcd" → "var-lib-etcd.mount"
 * (systemd-escape --path --suffix=mount). */
char *mount_unit_name(const char *mount_point);
/* The [Mount] Options= of a unit file ("" when it sets none). */
int mount_unit_options(const char *path, char **ret);
