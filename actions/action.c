/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers every action kind shares. */
#include <string.h>

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

void plan_list_add(struct plan_list *l, char *object, void *want, char *skip) {
        l->items = xgrow(l->items, l->n, sizeof(*l->items));
        l->items[l->n++] = (struct plan_item) { .object = object, .want = want, .skip = skip };
}

void plan_list_finding(struct plan_list *l, char *object, char *why, char *wanted) {
        plan_list_add(l, object, NULL, why);
        l->items[l->n - 1].finding = true;
        l->items[l->n - 1].wanted = wanted;
}
