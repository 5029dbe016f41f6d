/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd's configuration as etcd resolves it: a flag wins over its ETCD_* variable; a config
 * file (--config-file or ETCD_CONFIG_FILE) replaces both; Go's flag syntaxes; defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/kernel/etcd_conf.h"
#include "../../agent/util.h"

static struct etcd_conf *conf(char *const *argv, char *const *env, const char *file_text) {
        struct etcd_conf *c = NULL;
        assert_int_equal(etcd_conf_from_process(argv, env, &c), 0);
        etcd_conf_apply_file(c, file_text, file_text ? strlen(file_text) : 0, file_text ? 0 : -ENOENT);
        return c;
}

static void assert_value(const struct etcd_conf *c, enum etcd_key k, const char *value, enum etcd_source src) {
        assert_non_null(c->v[k].value);
        assert_string_equal(c->v[k].value, value);
        assert_int_equal(c->v[k].source, src);
}

static void test_defaults(void **state) {
        (void) state;
        char *argv[] = { "etcd", NULL };
        struct etcd_conf *c = conf(argv, NULL, NULL);
        long long v;

        assert_value(c, ETCD_HEARTBEAT_INTERVAL, "100", ETCD_SRC_DEFAULT);
        assert_value(c, ETCD_ELECTION_TIMEOUT, "1000", ETCD_SRC_DEFAULT);
        assert_value(c, ETCD_DATA_DIR, "default.etcd", ETCD_SRC_DEFAULT);
        assert_true(etcd_conf_ll(c, ETCD_ELECTION_TIMEOUT, &v) && v == 1000);
        assert_null(c->config_file);
        etcd_conf_free(c);
}

static void test_flag_syntaxes(void **state) {
        (void) state;
        char *argv[] = { "etcd", "--name", "m1", "-heartbeat-interval=50", "--election-timeout=600",
                         "--enable-pprof", "-snapshot-count", "5000", "--data-dir", "/srv/etcd", NULL };
        struct etcd_conf *c = conf(argv, NULL, NULL);

        assert_value(c, ETCD_NAME, "m1", ETCD_SRC_FLAG);
        assert_value(c, ETCD_HEARTBEAT_INTERVAL, "50", ETCD_SRC_FLAG);
        assert_string_equal(c->v[ETCD_HEARTBEAT_INTERVAL].origin, "--heartbeat-interval");
        assert_value(c, ETCD_ELECTION_TIMEOUT, "600", ETCD_SRC_FLAG);
        /* A boolean flag without a value does not swallow the next flag. */
        assert_value(c, ETCD_SNAPSHOT_COUNT, "5000", ETCD_SRC_FLAG);
        assert_value(c, ETCD_DATA_DIR, "/srv/etcd", ETCD_SRC_FLAG);
        etcd_conf_free(c);
}

static void test_flag_beats_env(void **state) {
        (void) state;
        char *argv[] = { "etcd", "--heartbeat-interval", "200", NULL };
        char *env[] = { "PATH=/bin", "ETCD_HEARTBEAT_INTERVAL=300", "ETCD_ELECTION_TIMEOUT=900", "ETCD_NAME=envname", NULL };
        struct etcd_conf *c = conf(argv, env, NULL);
        _cleanup_free_ char *o = NULL;

        assert_value(c, ETCD_HEARTBEAT_INTERVAL, "200", ETCD_SRC_FLAG);
        assert_value(c, ETCD_ELECTION_TIMEOUT, "900", ETCD_SRC_ENV);
        assert_string_equal(c->v[ETCD_ELECTION_TIMEOUT].origin, "ETCD_ELECTION_TIMEOUT");
        /* data-dir's default follows the name, wherever the name came from. */
        assert_value(c, ETCD_DATA_DIR, "envname.etcd", ETCD_SRC_DEFAULT);
        o = etcd_value_origin(c, ETCD_ELECTION_TIMEOUT);
        assert_string_equal(o, "environment ETCD_ELECTION_TIMEOUT");
        etcd_conf_free(c);
}

static void test_config_file_overrides_all(void **state) {
        (void) state;
        char *argv[] = { "etcd", "--config-file", "/etc/etcd/etcd.yaml", "--heartbeat-interval", "200", NULL };
        char *env[] = { "ETCD_ELECTION_TIMEOUT=900", NULL };
        const char *file = "name: filenode\n"
                           "heartbeat-interval: 150\n"
                           "election-timeout: 1500\n"
                           "quota-backend-bytes: 8589934592\n"
                           "listen-metrics-urls:\n"
                           "unknown-key: x\n";
        struct etcd_conf *c = conf(argv, env, file);

        assert_string_equal(c->config_file, "/etc/etcd/etcd.yaml");
        assert_null(c->config_file_error);
        assert_value(c, ETCD_HEARTBEAT_INTERVAL, "150", ETCD_SRC_FILE);
        assert_string_equal(c->v[ETCD_HEARTBEAT_INTERVAL].origin, "/etc/etcd/etcd.yaml:2");
        assert_value(c, ETCD_ELECTION_TIMEOUT, "1500", ETCD_SRC_FILE);
        /* A key the file leaves out is etcd's default, not the ignored flag's value. */
        assert_value(c, ETCD_SNAPSHOT_COUNT, "100000", ETCD_SRC_DEFAULT);
        assert_value(c, ETCD_DATA_DIR, "filenode.etcd", ETCD_SRC_DEFAULT);
        assert_null(c->v[ETCD_LISTEN_METRICS_URLS].value);
        assert_true(strv_contains(c->ignored, "--heartbeat-interval"));
        assert_true(strv_contains(c->ignored, "ETCD_ELECTION_TIMEOUT"));
        etcd_conf_free(c);
}

static void test_config_file_from_env(void **state) {
        (void) state;
        char *argv[] = { "etcd", NULL };
        char *env[] = { "ETCD_CONFIG_FILE=/etc/etcd.conf.yml", NULL };
        struct etcd_conf *c = conf(argv, env, "election-timeout: 2000\n");

        assert_string_equal(c->config_file, "/etc/etcd.conf.yml");
        assert_value(c, ETCD_ELECTION_TIMEOUT, "2000", ETCD_SRC_FILE);
        etcd_conf_free(c);
}

static void test_config_file_unreadable(void **state) {
        (void) state;
        char *argv[] = { "etcd", "--config-file=/nope.yaml", "--election-timeout", "700", NULL };
        struct etcd_conf *c = NULL;

        assert_int_equal(etcd_conf_from_process(argv, NULL, &c), 0);
        etcd_conf_apply_file(c, NULL, 0, -EACCES);
        assert_non_null(c->config_file_error);
        assert_non_null(strstr(c->config_file_error, "Permission denied"));
        assert_value(c, ETCD_ELECTION_TIMEOUT, "700", ETCD_SRC_FLAG);
        etcd_conf_free(c);
}

/* A key twice: the last one wins, as in etcd's YAML reader (found by fuzz-etcdconf, whose
 * input leaked the loader's message about it; unit-asan checks that no more). */
static void test_config_file_duplicate_key(void **state) {
        (void) state;
        char *argv[] = { "etcd", "--config-file=/etc/etcd.yaml", NULL };
        struct etcd_conf *c = conf(argv, NULL, "election-timeout: 2000\nelection-timeout: 3000\n");

        assert_null(c->config_file_error);
        assert_value(c, ETCD_ELECTION_TIMEOUT, "3000", ETCD_SRC_FILE);
        assert_string_equal(c->v[ETCD_ELECTION_TIMEOUT].origin, "/etc/etcd.yaml:2");
        etcd_conf_free(c);
}

static void test_url_port(void **state) {
        (void) state;
        bool https = true;
        assert_int_equal(etcd_url_port("http://127.0.0.1:2379", &https), 2379);
        assert_false(https);
        assert_int_equal(etcd_url_port("https://10.0.0.1:2379,http://127.0.0.1:12379", &https), 12379);
        assert_false(https);
        assert_int_equal(etcd_url_port("https://[::1]:2379", &https), 2379);
        assert_true(https);
        assert_int_equal(etcd_url_port("unix://x", &https), 0);
        assert_int_equal(etcd_url_port("", NULL), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_flag_syntaxes),
                cmocka_unit_test(test_flag_beats_env),
                cmocka_unit_test(test_config_file_overrides_all),
                cmocka_unit_test(test_config_file_from_env),
                cmocka_unit_test(test_config_file_unreadable),
                cmocka_unit_test(test_config_file_duplicate_key),
                cmocka_unit_test(test_url_port),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
