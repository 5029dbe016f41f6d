/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the unit tests share: a temp dir per test (cmocka setup/teardown), removed with all
 * it holds, and paths into tests/data (MEDIC_TEST_DATA, set by the Makefile). Include after
 * cmocka.h. */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../agent/util.h"

static inline int rm_rf_one(const char *path, const struct stat *st _unused_, int flag _unused_,
                            struct FTW *f _unused_) {
        return remove(path);
}

/* Removes path and everything under it; no symlink is followed. */
static inline void rm_rf(const char *path) {
        nftw(path, rm_rf_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* *state = a new empty directory under /tmp. */
static inline int setup_tmpdir(void **state) {
        char *dir = xstrdup("/tmp/medic-test.XXXXXX");
        if (!mkdtemp(dir)) {
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static inline int teardown_tmpdir(void **state) {
        rm_rf(*state);
        free(*state);
        return 0;
}

/* tests/data/REL (freed by the caller). */
static inline char *data_path(const char *rel) {
        const char *d = getenv("MEDIC_TEST_DATA");
        return xasprintf("%s/%s", d && *d ? d : "tests/data", rel);
}
