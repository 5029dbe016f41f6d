/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the unit tests share (tests/unit/helpers.c, linked into every test): a temp dir per
 * test (cmocka setup/teardown), removed with all it holds, and paths into tests/data
 * (MEDIC_TEST_DATA, set by the Makefile). */

/* Removes path and everything under it; no symlink is followed. */
void rm_rf(const char *path);
/* A new empty directory under /tmp, "/tmp/medic-test.XXXXXX" (freed by the caller), or
 * NULL. */
char *tmpdir_new(void);
/* cmocka setup/teardown: *state = tmpdir_new(); removed and freed by teardown_tmpdir. */
int setup_tmpdir(void **state);
int teardown_tmpdir(void **state);
/* tests/data/REL (freed by the caller). */
char *data_path(const char *rel);

struct action_ops;
/* A kind's state from its JSON text (ops->from_json must take it); freed with ops->free. */
void *state_from_json(const struct action_ops *ops, const char *text);
