/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the agent leaves alone: an object someone else keeps changing back (a fight,
 * reported once as a conflict), and the objects of an operator's rollback, until the
 * next apply or reload. */
#include <string.h>

#include "daemon_int.h"

void agent_rebuild_skip(struct agent *a) {
        strv_free(a->skip);
        a->skip = NULL;
        for (size_t i = 0; a->given_up && a->given_up[i]; i++)
                strv_push(&a->skip, xstrdup(a->given_up[i]));
        for (size_t i = 0; a->rolled_back && a->rolled_back[i]; i++)
                strv_push(&a->skip, xstrdup(a->rolled_back[i]));
}

/* Change sets the agent did not make since it last looked: an operator's rollback keeps its
 * objects rolled back; an operator's apply makes them the agent's again. */
void agent_follow_journal(struct agent *a) {
        _cleanup_free_ unsigned *ids = NULL;
        size_t n = 0;
        bool changed = false;

        if (journal_list(a->opt.state_dir, &ids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL;
                if (ids[i] <= a->last_set)
                        continue;
                a->last_set = ids[i];
                if (journal_load(a->opt.state_dir, ids[i], &cs, &why) < 0)
                        continue;
                if (cs->kind == SET_KIND_APPLY) {
                        strv_free(a->rolled_back);
                        a->rolled_back = NULL;
                        changed = true;
                } else if (cs->kind == SET_KIND_ROLLBACK) {
                        for (size_t k = 0; k < cs->n_items; k++)
                                if (cs->items[k].state == ITEM_CHANGED && !strv_contains(a->rolled_back, cs->items[k].object)) {
                                        strv_push(&a->rolled_back, xstrdup(cs->items[k].object));
                                        agent_say("%s was rolled back by change set %u: left alone until the next apply or reload",
                                            cs->items[k].object, cs->id);
                                }
                        changed = true;
                }
        }
        if (changed)
                agent_rebuild_skip(a);
}

/* Someone keeps changing an object back: stop fighting, say so once. */
bool agent_fight(struct agent *a, const char *object) {
        struct fight *f = NULL;
        uint64_t t = now_us();

        for (size_t i = 0; i < a->n_fights; i++)
                if (streq(a->fights[i].object, object))
                        f = &a->fights[i];
        size_t limit = (size_t) a->opt.fight_limit;

        if (limit == 0)
                return false;
        if (!f) {
                a->fights = xrealloc(a->fights, (a->n_fights + 1) * sizeof(*a->fights));
                f = &a->fights[a->n_fights++];
                *f = (struct fight) { .object = xstrdup(object), .t = xcalloc(limit, sizeof(uint64_t)) };
        }
        if (f->n == limit) {
                memmove(f->t, f->t + 1, (limit - 1) * sizeof(*f->t));
                f->n--;
        }
        f->t[f->n++] = t;
        return f->n == limit && t - f->t[0] <= FIGHT_WINDOW_USEC;
}

/* At reload: every object is the agent's again. */
void agent_fights_forget(struct agent *a) {
        for (size_t i = 0; i < a->n_fights; i++) {
                free(a->fights[i].object);
                free(a->fights[i].t);
        }
        a->n_fights = 0;
}
