/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The traffic-priority kind's state, shared by its two files: traffic_priority.c (policy,
 * plan, read, the writes and the notes) and traffic_priority_state.c (comparing,
 * describing and JSON). */

#include <net/if.h>
#include <stdbool.h>

#include "tc.h"

struct json_object;
struct ynode;

/* A traffic-priority state: the root of one interface (or, parsed, of what the policy's
 * interface key selects). What the policy asks for is always medic's root, and then the
 * state is the policy's entry: backend, bands, rate. A read may find a root no policy can
 * ask for — the kernel's default, someone else's, medic's partly built — which the state
 * keeps as the kernel showed it, so that rollback can give it back: there the snapshot
 * genuinely differs from a wanted state, and its JSON says so ("observed", below). */
struct tp_state {
        char ifname[IF_NAMESIZE]; /* in a parsed state also "auto" or "all" */
        struct tc_view v;         /* wanted: v.root is TC_ROOT_MEDIC; a parsed v.rate 0 = the link's */
        char *names[TC_MAX_BANDS]; /* the policy's band names (none in a read) */
        bool replace_foreign;      /* the policy's: replace a root medic cannot rebuild */
        char *rate_from;           /* planned: where the HTB rate comes from, for the notes */
        const struct ynode *at;    /* parsed: for claims */
};

void tp_free(void *p);
/* "peer 2380 > client 2379 > rest", names where the state has them. */
char *bands_str(const struct tc_band *bands, char *const *names, unsigned n);
bool tp_same(const void *want, const void *have);
bool tp_equal(const void *a, const void *b);
bool tp_in_between(const void *before, const void *after, const void *have);
char *tp_describe(const void *state);
int tp_to_json(const void *state, struct json_object **ret);
int tp_from_json(struct json_object *j, void **ret_state);
