/* SPDX-License-Identifier: GPL-2.0-or-later */
/* etcd's configuration as the diagnosis checks resolve it (agent/etcd_conf.c): its command
 * line, its ETCD_* environment and the YAML file --config-file or ETCD_CONFIG_FILE names,
 * with etcd's precedence. The input is up to three parts split by a line "%%": the
 * arguments (one a line; argv[0] "etcd" is added), the environment (KEY=value lines), and
 * the config file's text; without a third part a named file cannot be read (ENOENT).
 *
 * What must hold: a value comes from one source and says where; a flag wins over its
 * variable; a config file that was read replaces every flag and variable; without one no
 * value claims the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/kernel/etcd_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SPLIT "\n%%\n"
#define MAX_ARGS 64

static void die(const char *what, enum etcd_key k) {
        fprintf(stderr, "%s: %s\n", etcd_key_flag(k), what);
        abort();
}

/* Splits lines of [s, end) into v (NULL-terminated, at most max - 1 entries); s is cut. */
static void lines(char *s, char *end, char **v, size_t max) {
        size_t n = 0;
        while (s && s < end && n + 1 < max) {
                char *nl = memchr(s, '\n', (size_t) (end - s));
                if (nl)
                        *nl = 0;
                v[n++] = s;
                s = nl ? nl + 1 : NULL;
        }
        v[n] = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text, *env_part = NULL, *file_part = NULL, *end, *cut;
        char *argv[MAX_ARGS + 1] = { "etcd" }, *env[MAX_ARGS];
        struct etcd_conf *c = NULL;
        bool flag_given[_ETCD_KEY_MAX] = { false };

        if (size > 1 << 16)
                return 0;
        text = malloc(size + 1);
        memcpy(text, data, size);
        text[size] = 0;
        end = text + strlen(text);
        if ((cut = strstr(text, SPLIT))) {
                *cut = 0;
                env_part = cut + strlen(SPLIT);
                if ((cut = strstr(env_part, SPLIT))) {
                        *cut = 0;
                        file_part = cut + strlen(SPLIT);
                }
        }
        lines(text, env_part ? env_part - strlen(SPLIT) : end, argv + 1, MAX_ARGS);
        lines(env_part, file_part ? file_part - strlen(SPLIT) : end, env, MAX_ARGS);
        if (!env_part)
                env[0] = NULL;

        if (etcd_conf_from_process(argv, env, &c) < 0 || !c)
                die("the command line and environment were refused", 0);
        for (int k = 0; k < _ETCD_KEY_MAX; k++) {
                const struct etcd_value *v = &c->v[k];
                if (v->value && (v->source != ETCD_SRC_FLAG && v->source != ETCD_SRC_ENV))
                        die("a value from neither a flag nor a variable before the file", k);
                flag_given[k] = v->value && v->source == ETCD_SRC_FLAG;
        }
        bool named = c->config_file != NULL;
        etcd_conf_apply_file(c, file_part, file_part ? strlen(file_part) : 0, file_part ? 0 : -ENOENT);
        bool file_read = named && !c->config_file_error;
        if (!named && (c->config_file_error || c->ignored))
                die("a config file's consequences without one", 0);
        for (int k = 0; k < _ETCD_KEY_MAX; k++) {
                const struct etcd_value *v = &c->v[k];
                long long ll;
                bool https;
                if (!v->value)
                        continue;
                if (!v->origin)
                        die("a value without its origin", k);
                if (v->source >= _ETCD_SRC_MAX)
                        die("a value from no known source", k);
                if (file_read && (v->source == ETCD_SRC_FLAG || v->source == ETCD_SRC_ENV))
                        die("a flag or variable survived the config file", k);
                if (!file_read && v->source == ETCD_SRC_FILE)
                        die("a value claims a config file that was not read", k);
                if (!file_read && flag_given[k] && v->source != ETCD_SRC_FLAG)
                        die("a variable or default won over a flag", k);
                free(etcd_value_origin(c, k));
                (void) etcd_conf_ll(c, k, &ll);
                if (etcd_url_port(v->value, &https) < 0 || etcd_url_port(v->value, &https) > 65535)
                        die("a port out of range", k);
        }
        if (!c->v[ETCD_HEARTBEAT_INTERVAL].value || !c->v[ETCD_ELECTION_TIMEOUT].value || !c->v[ETCD_DATA_DIR].value)
                die("no value, not even etcd's default", ETCD_HEARTBEAT_INTERVAL);
        etcd_conf_free(c);
        free(text);
        return 0;
}
