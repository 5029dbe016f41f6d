/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/auditlog.c: one JSON object per line, and a record the disk took only part of is
 * cut back off the file, so the next record is not glued onto it. A full disk is made real
 * with RLIMIT_FSIZE: write(2) then takes what fits and returns a short count. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../../agent/auditlog.h"
#include "helpers.h"

static off_t size_of(const char *path) {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        return st.st_size;
}

static void test_short_write_is_cut_back(void **state) {
        const char *dir = *state;
        char *path = xasprintf("%s/audit.jsonl", dir), *text = NULL;
        struct audit_record rec = { .event = EV_CHANGE, .change = 1, .object = "first", .result = "changed" };
        pid_t pid;
        int status;

        /* In a child: the file size limit stays there. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct auditlog l;
                struct rlimit rl;
                if (auditlog_open(&l, path, true) < 0 || auditlog_write(&l, &rec) < 0)
                        _exit(10);
                off_t one = size_of(path);
                signal(SIGXFSZ, SIG_IGN);
                rl = (struct rlimit) { (rlim_t) one + 20, RLIM_INFINITY };
                setrlimit(RLIMIT_FSIZE, &rl);
                rec.object = "second: a record the disk has no room for";
                if (auditlog_write(&l, &rec) != -ENOSPC)
                        _exit(11);
                if (size_of(path) != one)
                        _exit(12); /* the 20 bytes it took are gone again */
                rl = (struct rlimit) { RLIM_INFINITY, RLIM_INFINITY };
                setrlimit(RLIMIT_FSIZE, &rl);
                rec.object = "third";
                if (auditlog_write(&l, &rec) < 0)
                        _exit(13);
                auditlog_close(&l);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        assert_int_equal(read_file(path, &text, NULL), 0);
        int lines = 0;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
                struct json_object *j = json_tokener_parse(line);
                assert_non_null(j);
                assert_string_equal(json_get_str(j, "object"), lines == 0 ? "first" : "third");
                json_object_put(j);
        }
        assert_int_equal(lines, 2);
        free(text);
        free(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_short_write_is_cut_back, setup_tmpdir, teardown_tmpdir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
