/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "journal.h"
#include "output.h"

/* How many change sets of each kind the journal holds. Set kinds never change and ids only
 * grow, so a caller that keeps this between calls (the agent) reads only the new sets. */
struct set_counts {
        unsigned upto; /* sets with ids up to this one are counted */
        unsigned n[_SET_KIND_MAX];
        bool known;    /* the journal could be read */
};

void prometheus_count_sets(const char *state_dir, struct set_counts *c);

/* Writes rep as node_exporter textfile metrics to path: a temp file beside it, renamed over
 * it, so a scrape never sees half a file. repairs < 0: not the agent (no medic_repairs_total).
 * Returns 0 or a negative errno with *ret_why saying what failed. */
int prometheus_write(const char *path, const struct report *rep, const struct set_counts *sets, long repairs,
                     char **ret_why);
