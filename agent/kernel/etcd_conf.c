/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <string.h>

#include "../ynode.h"
#include "etcd_conf.h"

static const char *const flags[_ETCD_KEY_MAX] = {
        [ETCD_NAME] = "name",
        [ETCD_DATA_DIR] = "data-dir",
        [ETCD_HEARTBEAT_INTERVAL] = "heartbeat-interval",
        [ETCD_ELECTION_TIMEOUT] = "election-timeout",
        [ETCD_SNAPSHOT_COUNT] = "snapshot-count",
        [ETCD_QUOTA_BACKEND_BYTES] = "quota-backend-bytes",
        [ETCD_LISTEN_CLIENT_URLS] = "listen-client-urls",
        [ETCD_LISTEN_PEER_URLS] = "listen-peer-urls",
        [ETCD_LISTEN_METRICS_URLS] = "listen-metrics-urls",
        [ETCD_INITIAL_CLUSTER] = "initial-cluster",
        [ETCD_INITIAL_CLUSTER_TOKEN] = "initial-cluster-token",
};

/* etcd's own defaults (embed/config.go); data-dir's "${name}.etcd" is filled in last. */
static const char *const defaults[_ETCD_KEY_MAX] = {
        [ETCD_NAME] = "default",
        [ETCD_HEARTBEAT_INTERVAL] = "100",
        [ETCD_ELECTION_TIMEOUT] = "1000",
        [ETCD_SNAPSHOT_COUNT] = "100000",
        [ETCD_QUOTA_BACKEND_BYTES] = "0",
        [ETCD_LISTEN_CLIENT_URLS] = "http://localhost:2379",
        [ETCD_LISTEN_PEER_URLS] = "http://localhost:2380",
        [ETCD_INITIAL_CLUSTER_TOKEN] = "etcd-cluster",
};

const char *etcd_key_flag(enum etcd_key k) {
        return k < _ETCD_KEY_MAX ? flags[k] : "?";
}

const char *etcd_source_name(enum etcd_source s) {
        switch (s) {
        case ETCD_SRC_DEFAULT:
                return "default";
        case ETCD_SRC_FLAG:
                return "flag";
        case ETCD_SRC_ENV:
                return "environment";
        case ETCD_SRC_FILE:
                return "config file";
        case _ETCD_SRC_MAX:
                break;
        }
        return "?";
}

static void set(struct etcd_conf *c, enum etcd_key k, const char *value, enum etcd_source src, char *origin) {
        free(c->v[k].value);
        free(c->v[k].origin);
        c->v[k] = (struct etcd_value) { .value = xstrdup(value), .source = src, .origin = origin };
}

static int key_of_flag(const char *name, size_t len) {
        for (int k = 0; k < _ETCD_KEY_MAX; k++)
                if (strlen(flags[k]) == len && strncmp(flags[k], name, len) == 0)
                        return k;
        return -1;
}

/* ETCD_HEARTBEAT_INTERVAL → heartbeat-interval */
static int key_of_env(const char *name, size_t len) {
        char buf[64];
        if (len >= sizeof(buf))
                return -1;
        for (size_t i = 0; i < len; i++)
                buf[i] = name[i] == '_' ? '-' : (char) tolower((unsigned char) name[i]);
        return key_of_flag(buf, len);
}

/* Go's flag package: -flag, --flag, -flag=value, --flag=value, "-flag value" for every
 * flag that is not a boolean (none of the keys here is). Parsing stops at "--" or at the
 * first argument that is not a flag. */
int etcd_conf_from_process(char *const *argv, char *const *env, struct etcd_conf **ret) {
        struct etcd_conf *c = xcalloc(1, sizeof(*c));
        bool flag_set[_ETCD_KEY_MAX] = { false };
        const char *config_file = NULL, *config_origin = NULL;
        bool config_from_flag = false;

        for (size_t i = 1; argv && argv[i]; i++) {
                const char *a = argv[i], *name, *eq, *value;
                size_t len;
                int k;

                if (streq(a, "--") || a[0] != '-' || streq(a, "-"))
                        break;
                name = a + (a[1] == '-' ? 2 : 1);
                eq = strchr(name, '=');
                len = eq ? (size_t) (eq - name) : strlen(name);
                value = eq ? eq + 1 : argv[i + 1];
                k = key_of_flag(name, len);
                bool is_config = len == strlen("config-file") && strncmp(name, "config-file", len) == 0;
                /* Another flag's value must be skipped too, unless it is a bare boolean:
                 * a value that starts with '-' is the next flag. */
                if (!eq && argv[i + 1] && argv[i + 1][0] != '-')
                        i++;
                else if (!eq)
                        value = NULL;
                if (!value)
                        continue;
                if (is_config) {
                        config_file = value;
                        config_origin = "--config-file";
                        config_from_flag = true;
                } else if (k >= 0) {
                        set(c, k, value, ETCD_SRC_FLAG, xasprintf("--%s", flags[k]));
                        flag_set[k] = true;
                }
        }
        for (size_t i = 0; env && env[i]; i++) {
                const char *e = env[i], *eq = strchr(e, '=');
                int k;
                if (!eq || !startswith(e, "ETCD_"))
                        continue;
                if ((size_t) (eq - e) == strlen("ETCD_CONFIG_FILE") && startswith(e, "ETCD_CONFIG_FILE=")) {
                        if (!config_from_flag) {
                                config_file = eq + 1;
                                config_origin = "ETCD_CONFIG_FILE";
                        }
                        continue;
                }
                k = key_of_env(e + 5, (size_t) (eq - e - 5));
                if (k < 0 || flag_set[k])
                        continue;
                set(c, k, eq + 1, ETCD_SRC_ENV, xstrndup(e, (size_t) (eq - e)));
        }
        if (config_file && *config_file) {
                c->config_file = xstrdup(config_file);
                (void) config_origin;
        }
        *ret = c;
        return 0;
}

static void fill_defaults(struct etcd_conf *c) {
        for (int k = 0; k < _ETCD_KEY_MAX; k++)
                if (!c->v[k].value && defaults[k])
                        set(c, k, defaults[k], ETCD_SRC_DEFAULT, xstrdup("etcd's default"));
        if (!c->v[ETCD_DATA_DIR].value) {
                _cleanup_free_ char *d = xasprintf("%s.etcd", c->v[ETCD_NAME].value);
                set(c, ETCD_DATA_DIR, d, ETCD_SRC_DEFAULT, xstrdup("etcd's default (${name}.etcd)"));
        }
}

void etcd_conf_apply_file(struct etcd_conf *c, const char *text, size_t len, int read_error) {
        _cleanup_(ydoc_freep) struct ydoc *d = NULL;
        struct perr err = { 0 };

        if (!c->config_file)
                goto done;
        if (read_error < 0) {
                c->config_file_error = xasprintf("%s: %s", c->config_file, strerror(-read_error));
                goto done;
        }
        if (ydoc_load_string(text, len, c->config_file, &d, &err) < 0 || !d->root || d->root->type != YNODE_MAP) {
                c->config_file_error = xasprintf("%s: %s", c->config_file,
                                                 err.n ? err.msgs[0] : "not a YAML mapping");
                goto done;
        }
        /* etcd reads only the file: what flags and variables said is ignored. */
        for (int k = 0; k < _ETCD_KEY_MAX; k++) {
                if (c->v[k].value)
                        strv_push(&c->ignored, xstrdup(c->v[k].origin));
                free(c->v[k].value);
                free(c->v[k].origin);
                c->v[k] = (struct etcd_value) { 0 };
        }
        for (size_t i = 0; i < d->root->n; i++) {
                const struct ynode *k = d->root->keys[i], *v = d->root->vals[i];
                int key = key_of_flag(k->value, strlen(k->value));
                if (key < 0 || v->type != YNODE_SCALAR || (v->plain && (!*v->value || streq(v->value, "null") || streq(v->value, "~"))))
                        continue;
                set(c, key, v->value, ETCD_SRC_FILE, xasprintf("%s:%u", c->config_file, k->line));
        }
done:
        /* A loaded file may still carry messages (a duplicate key, where the last one
         * wins, as in etcd's YAML reader): they are not errors here. */
        perr_done(&err);
        fill_defaults(c);
}

void etcd_conf_free(struct etcd_conf *c) {
        if (!c)
                return;
        for (int k = 0; k < _ETCD_KEY_MAX; k++) {
                free(c->v[k].value);
                free(c->v[k].origin);
        }
        free(c->config_file);
        free(c->config_file_error);
        strv_free(c->ignored);
        free(c);
}

bool etcd_conf_ll(const struct etcd_conf *c, enum etcd_key k, long long *ret) {
        const char *s = c->v[k].value;
        char *end;
        long long v;

        if (!s || !*s)
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end)
                return false;
        *ret = v;
        return true;
}

char *etcd_value_origin(const struct etcd_conf *c, enum etcd_key k) {
        const struct etcd_value *v = &c->v[k];
        if (v->source == ETCD_SRC_DEFAULT)
                return xstrdup(v->origin ? v->origin : "etcd's default");
        return xasprintf("%s %s", etcd_source_name(v->source), v->origin ? v->origin : "");
}

int etcd_url_port(const char *urls, bool *ret_https) {
        _cleanup_free_ char *copy = xstrdup(urls ? urls : "");
        char *save = NULL;
        int https_port = 0;

        for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
                while (*u == ' ')
                        u++;
                bool h = startswith(u, "https://");
                if (!h && !startswith(u, "http://") && !startswith(u, "unix"))
                        continue;
                if (startswith(u, "unix"))
                        continue;
                char *host = u + (h ? 8 : 7);
                char *end = strchr(host, '/');
                if (end)
                        *end = 0;
                char *colon = strrchr(host, ':');
                if (!colon || (strchr(host, ']') && colon < strchr(host, ']')))
                        continue;
                int port = atoi(colon + 1);
                if (port <= 0 || port > 65535)
                        continue;
                if (h) {
                        if (!https_port)
                                https_port = port;
                        continue;
                }
                if (ret_https)
                        *ret_https = false;
                return port;
        }
        if (ret_https)
                *ret_https = https_port > 0;
        return https_port;
}
