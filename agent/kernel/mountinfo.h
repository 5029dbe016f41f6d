/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Mount tables and atime options: parsing /proc/PID/mountinfo (pure functions, tested
 * without root), the atime part of a mount's flags, and finding the mount that holds a
 * path in the host's mount namespace. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util.h"

/* One line of mountinfo (proc(5)); strings are octal-unescaped ("\040" is a blank). */
struct mount_entry {
        uint64_t id;
        uint64_t parent;
        unsigned major, minor;
        char *root;          /* "/" or, for a bind mount of a subdirectory, that directory */
        char *mount_point;
        char *options;       /* per-mount: "rw,nosuid,nodev,relatime" */
        char *fstype;
        char *source;
        char *super_options;
};

int mountinfo_parse_line(const char *line, struct mount_entry *ret);
void mount_entry_done(struct mount_entry *e);
/* The kernel escapes blank, tab, newline and backslash as \ooo in mount points. */
char *mount_unescape(const char *s, size_t n);
/* The same escaping, as fstab(5) wants it. */
char *mount_escape(const char *s);

/* The entry with this id; -ENOENT when there is none. */
int mountinfo_find_id(const char *text, uint64_t id, struct mount_entry *ret);
/* The mount whose mount point is the longest prefix of path (the last one mounted there when
 * several are): a path lookup without following symlinks, for when the namespace's root
 * cannot be opened. */
int mountinfo_find_path(const char *text, const char *path, struct mount_entry *ret);
/* Mount ids are unique across namespaces at any one time: a table that has the id of a
 * mount medic sees is the table of medic's own namespace. */
bool mountinfo_has_id(const char *text, uint64_t id);

/* ---- atime ---- */

enum atime_mode {
        ATIME_UNSET = -1, /* a wanted state that leaves the mode alone */
        ATIME_RELATIME,
        ATIME_NOATIME,
        ATIME_STRICTATIME,
        _ATIME_MODE_MAX,
};

enum diratime {
        DIRATIME_UNSET = -1,
        DIRATIME_ON,  /* diratime: directory atimes follow the mode */
        DIRATIME_OFF, /* nodiratime */
        _DIRATIME_MAX,
};

struct atime {
        enum atime_mode mode;
        enum diratime dir;
};

const char *atime_mode_name(enum atime_mode m);
/* Applies one mount option word to a; returns true if it was an atime option. "defaults"
 * and the other flags are not. */
bool atime_apply_word(struct atime *a, const char *word);
/* "noatime", "relatime,nodiratime", "nodiratime" (only what is set). */
char *atime_describe(const struct atime *a);
/* Does have hold everything want sets? */
bool atime_satisfies(const struct atime *want, const struct atime *have);
/* have with want's set parts on top: the full state a change leaves. */
struct atime atime_merge(const struct atime *have, const struct atime *want);

/* From mountinfo's per-mount options: the atime state (always both parts set; no
 * relatime/noatime means strictatime) and the other flags as MS_* bits, so that a
 * MS_REMOUNT|MS_BIND can carry them over. */
int mount_options_parse(const char *opts, struct atime *ret_atime, unsigned long *ret_ms);
/* MS_RELATIME/MS_NOATIME/MS_STRICTATIME | MS_NODIRATIME for a full state. */
unsigned long atime_ms_flags(const struct atime *a);
/* mount_setattr(2)'s attr_set/attr_clr for a full state. */
void atime_mount_attr(const struct atime *a, uint64_t *ret_set, uint64_t *ret_clr);
/* "rw,nosuid,nodev" (what a change keeps): the per-mount options without the atime ones. */
char *mount_other_options(const char *opts);
