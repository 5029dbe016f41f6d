/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ftw.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../actions/action.h"
#include "../../agent/util.h"
#include "helpers.h"

static int rm_rf_one(const char *path, const struct stat *st _unused_, int flag _unused_, struct FTW *f _unused_) {
        return remove(path);
}

void rm_rf(const char *path) {
        nftw(path, rm_rf_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tmpdir_new(void) {
        char *dir = xstrdup("/tmp/medic-test.XXXXXX");
        if (!mkdtemp(dir)) {
                free(dir);
                return NULL;
        }
        return dir;
}

int setup_tmpdir(void **state) {
        *state = tmpdir_new();
        return *state ? 0 : -1;
}

int teardown_tmpdir(void **state) {
        rm_rf(*state);
        free(*state);
        return 0;
}

char *data_path(const char *rel) {
        const char *d = getenv("MEDIC_TEST_DATA");
        return xasprintf("%s/%s", d && *d ? d : "tests/data", rel);
}

void *state_from_json(const struct action_ops *ops, const char *text) {
        struct json_object *j = json_tokener_parse(text);
        void *s = NULL;
        assert_non_null(j);
        assert_int_equal(ops->from_json(j, &s), 0);
        json_object_put(j);
        return s;
}
