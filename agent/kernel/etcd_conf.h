/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A running etcd's configuration as etcd itself resolves it, from what /proc shows: its
 * command line, its ETCD_* environment, and the YAML file --config-file (or
 * ETCD_CONFIG_FILE) names. etcd's precedence (etcdmain/config.go): a flag on the command
 * line wins over its ETCD_* variable; when a config file is given, etcd reads only the file
 * and ignores every other flag and variable. Defaults are etcd 3.4/3.5's.
 *
 * Pure: strings in, values out; the caller reads /proc and the file. */

#include <stdbool.h>
#include <stddef.h>

#include "../util.h"

enum etcd_key {
        ETCD_NAME,
        ETCD_DATA_DIR,
        ETCD_HEARTBEAT_INTERVAL,
        ETCD_ELECTION_TIMEOUT,
        ETCD_SNAPSHOT_COUNT,
        ETCD_QUOTA_BACKEND_BYTES,
        ETCD_LISTEN_CLIENT_URLS,
        ETCD_LISTEN_PEER_URLS,
        ETCD_LISTEN_METRICS_URLS,
        ETCD_INITIAL_CLUSTER,
        ETCD_INITIAL_CLUSTER_TOKEN,
        _ETCD_KEY_MAX,
};

enum etcd_source {
        ETCD_SRC_DEFAULT,
        ETCD_SRC_FLAG,
        ETCD_SRC_ENV,
        ETCD_SRC_FILE,
        _ETCD_SRC_MAX,
};

struct etcd_value {
        char *value;
        enum etcd_source source;
        char *origin; /* "--heartbeat-interval", "ETCD_HEARTBEAT_INTERVAL", "/etc/etcd.yaml" */
};

struct etcd_conf {
        struct etcd_value v[_ETCD_KEY_MAX];
        char *config_file;       /* the file etcd reads, when it reads one */
        char *config_file_error; /* the file could not be read or parsed: values are flags/env */
        char **ignored;          /* flags and variables etcd ignores because of the file */
};

const char *etcd_key_flag(enum etcd_key k);       /* "heartbeat-interval" */
const char *etcd_source_name(enum etcd_source s); /* "flag", "environment", "config file", "default" */

/* argv: the command line (argv[0] first); env: "KEY=value" strings; both NULL-terminated.
 * The config file's path, when one is named, is returned in *ret_file before its text is
 * needed: read it and call etcd_conf_apply_file(). */
int etcd_conf_from_process(char *const *argv, char *const *env, struct etcd_conf **ret);
/* Applies the config file's YAML (text, len); a file etcd could not read leaves the
 * flags' values and sets config_file_error. */
void etcd_conf_apply_file(struct etcd_conf *c, const char *text, size_t len, int read_error);
void etcd_conf_free(struct etcd_conf *c);

/* Integer value of a key; false when it is not a number. */
bool etcd_conf_ll(const struct etcd_conf *c, enum etcd_key k, long long *ret);
/* "100 ms (flag --heartbeat-interval)" style origin text: "flag --heartbeat-interval". */
char *etcd_value_origin(const struct etcd_conf *c, enum etcd_key k);
/* The port of the first http:// URL in a comma-separated list, else of the first https://
 * one (*ret_https set); 0 when there is none. */
int etcd_url_port(const char *urls, bool *ret_https);
