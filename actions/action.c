/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers every action kind shares. */
#include <json-c/json.h>
#include <net/if.h>
#include <string.h>

#include "../agent/kernel/netif.h"
#include "action.h"

void ctx_fail(struct ctx *ctx, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        free(ctx->errmsg);
        ctx->errmsg = s;
}

void ctx_note(struct ctx *ctx, const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        s = xvasprintf(fmt, ap);
        va_end(ap);
        if (strv_contains(ctx->notes, s))
                free(s);
        else
                strv_push(&ctx->notes, s);
}

void ctx_clear(struct ctx *ctx) {
        free(ctx->errmsg);
        ctx->errmsg = NULL;
}

struct netrun *ctx_net(struct ctx *ctx) {
        if (!ctx->net)
                ctx->net = netrun_new();
        return ctx->net;
}

int ctx_net_why(struct ctx *ctx, int r) {
        if (r < 0 && ctx->net && netrun_why(ctx->net))
                ctx_fail(ctx, "%s", netrun_why(ctx->net));
        return r;
}

struct kind_run {
        const struct action_ops *kind;
        void *run;
};

void *ctx_run(struct ctx *ctx, const struct action_ops *kind) {
        if (!kind->run_new)
                return NULL;
        /* A handful of kinds: a scan beats a table. */
        for (size_t i = 0; i < ctx->n_runs; i++)
                if (ctx->runs[i].kind == kind)
                        return ctx->runs[i].run;
        ctx->runs = xrealloc(ctx->runs, (ctx->n_runs + 1) * sizeof(*ctx->runs));
        ctx->runs[ctx->n_runs] = (struct kind_run) { .kind = kind, .run = kind->run_new() };
        return ctx->runs[ctx->n_runs++].run;
}

void ctx_done(struct ctx *ctx) {
        for (size_t i = 0; i < ctx->n_runs; i++)
                if (ctx->runs[i].kind->run_free)
                        ctx->runs[i].kind->run_free(ctx->runs[i].run);
        free(ctx->runs);
        ctx->runs = NULL;
        ctx->n_runs = 0;
        netrun_free(ctx->net);
        ctx->net = NULL;
        strv_free(ctx->notes);
        ctx->notes = NULL;
        ctx_clear(ctx);
}

void plan_list_add(struct plan_list *l, char *object, void *want, char *skip) {
        l->items = xgrow(l->items, l->n, sizeof(*l->items));
        l->items[l->n++] = (struct plan_item) { .object = object, .want = want, .skip = skip };
}

void plan_list_finding(struct plan_list *l, char *object, char *why, char *wanted) {
        plan_list_add(l, object, NULL, why);
        l->items[l->n - 1].finding = true;
        l->items[l->n - 1].wanted = wanted;
}

void text_append(char **list, const char *sep, const char *fmt, ...) {
        _cleanup_free_ char *own = NULL;
        const char *item;
        size_t a, b, c;
        va_list ap;
        char *x;

        va_start(ap, fmt);
        /* "%s", the common case, needs no formatting. */
        item = streq(fmt, "%s") ? va_arg(ap, const char *) : (own = xvasprintf(fmt, ap));
        va_end(ap);
        a = *list ? strlen(*list) : 0;
        b = *list ? strlen(sep) : 0;
        c = strlen(item);
        x = xmalloc(a + b + c + 1);
        memcpy(x, *list ? *list : "", a);
        memcpy(x + a, sep, b);
        memcpy(x + a + b, item, c + 1);
        free(*list);
        *list = x;
}

const char *json_get_ifname(struct json_object *j) {
        struct json_object *v;
        int len;

        /* strlen, not the JSON length: "\u0000" is a JSON string of one byte and an empty name. */
        if (!json_object_object_get_ex(j, "interface", &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        len = json_object_get_string_len(v);
        if (len <= 0 || len >= IF_NAMESIZE || strlen(json_object_get_string(v)) != (size_t) len)
                return NULL;
        return json_object_get_string(v);
}
