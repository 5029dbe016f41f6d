/* SPDX-License-Identifier: GPL-2.0-or-later */
/* agent/prometheus.c: node_exporter's textfile format. One bad line or one series given
 * twice makes node_exporter drop the whole file, so the escaping, the one-series-per-label-
 * set rule and the atomic write are checked byte for byte here (the scrape itself is
 * tests/integration/test-pkg-prometheus.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/prometheus.h"
#include "helpers.h"

static char *dir;

static int setup_group(void **state _unused_) {
        dir = tmpdir_new();
        return dir ? 0 : -1;
}

static int teardown_group(void **state _unused_) {
        rm_rf(dir);
        free(dir);
        return 0;
}

static void add(struct report *rep, const char *action, const char *kind, const char *object, enum row_status st) {
        struct row *r = report_add_row(rep);
        r->action = xstrdup(action);
        r->kind = xstrdup(kind);
        r->object = xstrdup(object);
        r->status = st;
}

static char *slurp(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;
        assert_non_null(f);
        assert_true(getdelim(&buf, &n, '\0', f) >= 0);
        fclose(f);
        return buf;
}

static size_t count(const char *hay, const char *needle) {
        size_t n = 0;
        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

static void test_values_escaping_and_one_series_per_labels(void **state _unused_) {
        _cleanup_free_ char *path = xasprintf("%s/medic.prom", dir), *text = NULL;
        struct set_counts sets = { .known = true, .n = { [SET_KIND_APPLY] = 3, [SET_KIND_REPAIR] = 2 } };
        struct report rep = { .exit = 2 };
        char *why = NULL;
        struct stat st;

        add(&rep, "keepalive", "sysctl", "net.ipv4.tcp_keepalive_time", ROW_OK);
        add(&rep, "quote \" back \\ nl\nend", "sysctl", "net.ipv4.tcp_keepalive_probes", ROW_DRIFT);
        add(&rep, "offload", "nic-offload", "eth0", ROW_SKIPPED);
        add(&rep, "tc", "traffic-priority", "eth0", ROW_CHANGED);
        add(&rep, "tc", "traffic-priority", "eth0", ROW_FAILED); /* same labels: one series, 0 */
        add(&rep, "mount", "mount-options", "/var/lib/etcd", ROW_CONFLICT);
        assert_int_equal(prometheus_write(path, &rep, &sets, -1, &why), 0);
        assert_null(why);
        text = slurp(path);

        assert_non_null(strstr(text, "medic_item_compliant{action=\"keepalive\",kind=\"sysctl\",object=\"net.ipv4.tcp_keepalive_time\"} 1\n"));
        assert_non_null(strstr(text, "medic_item_compliant{action=\"quote \\\" back \\\\ nl\\nend\",kind=\"sysctl\",object=\"net.ipv4.tcp_keepalive_probes\"} 0\n"));
        assert_null(strstr(text, "nic-offload"));
        assert_int_equal(count(text, "kind=\"traffic-priority\""), 1);
        assert_non_null(strstr(text, "object=\"eth0\"} 0\n"));
        assert_non_null(strstr(text, "medic_drift_items 1\n"));
        assert_non_null(strstr(text, "medic_failed_items 2\n"));
        assert_non_null(strstr(text, "medic_last_run_ok 1\n"));
        assert_non_null(strstr(text, "medic_change_sets_total{kind=\"apply\"} 3\n"));
        assert_non_null(strstr(text, "medic_change_sets_total{kind=\"rollback\"} 0\n"));
        assert_non_null(strstr(text, "medic_change_sets_total{kind=\"repair\"} 2\n"));
        assert_null(strstr(text, "medic_repairs_total"));
        assert_int_equal(count(text, "# TYPE "), count(text, "# HELP "));
        assert_non_null(strstr(text, "# TYPE medic_change_sets_total counter\n"));
        assert_int_equal(text[strlen(text) - 1], '\n');
        /* Readable by node_exporter's user; nothing else left in the directory. */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        DIR *d = opendir(dir);
        struct dirent *de;
        int files = 0;
        while ((de = readdir(d)))
                files += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(files, 1);
        report_free(&rep);
}

static void test_agent_and_cannot_run(void **state _unused_) {
        _cleanup_free_ char *path = xasprintf("%s/agent.prom", dir), *text = NULL;
        struct report rep = { .exit = EXIT_CANNOT };
        char *why = NULL;

        assert_int_equal(prometheus_write(path, &rep, NULL, 7, &why), 0);
        text = slurp(path);
        assert_non_null(strstr(text, "medic_last_run_ok 0\n"));
        assert_non_null(strstr(text, "medic_repairs_total 7\n"));
        assert_null(strstr(text, "medic_item_compliant{"));
        assert_null(strstr(text, "medic_change_sets_total{"));
        report_free(&rep);
}

static void test_unwritable_says_why(void **state _unused_) {
        _cleanup_free_ char *path = xasprintf("%s/no-such-dir/medic.prom", dir), *why = NULL;
        struct report rep = { 0 };

        assert_int_equal(prometheus_write(path, &rep, NULL, -1, &why), -ENOENT);
        assert_non_null(why);
        assert_non_null(strstr(why, path));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_values_escaping_and_one_series_per_labels),
                cmocka_unit_test(test_agent_and_cannot_run),
                cmocka_unit_test(test_unwritable_says_why),
        };
        return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
