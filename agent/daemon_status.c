/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the agent tells: systemd's STATUS=, STATE/agent for `medic audit`, the --prometheus
 * file, and the MEDIC_AGENT_TRACE test hook. */
#include <stdio.h>
#include <unistd.h>

#include "daemon_int.h"
#include "prometheus.h"

void agent_status(struct agent *a) {
        size_t n = a->policy ? a->policy->n_actions : 0;
        _cleanup_free_ char *s = xasprintf("STATUS=%zu actions in policy %s, %u repairs since start%s%s%s%s", n,
                                           a->policy ? a->policy->name : "-", a->repairs,
                                           a->given_up ? "; left alone after a fight: " : "",
                                           a->given_up ? a->given_up[0] : "", a->proc_note ? "; " : "",
                                           a->proc_note ? a->proc_note : "");
        sdev.notify(0, s);
}

/* STATE/agent: who runs and what it last did, for `medic audit`. Rewritten (not fsync'd:
 * it is a view, the journal is the record) after each repair. */
void agent_write_status(struct agent *a, const char *last) {
        _cleanup_free_ char *path = xasprintf("%s/agent", a->opt.state_dir), *tmp = xasprintf("%s.tmp", path);
        _cleanup_free_ char *text = NULL;
        char now[40];
        FILE *f;

        rfc3339_now(now);
        if (last) {
                free(a->last_repair);
                a->last_repair = xasprintf("%s %s", now, last);
        }
        _cleanup_free_ char *alone = xstrdup("");
        for (size_t i = 0; a->given_up && a->given_up[i]; i++) {
                char *t = xasprintf("%s%s%s", alone, i ? ", " : "", a->given_up[i]);
                free(alone);
                alone = t;
        }
        text = xasprintf("pid %d\nrepairs %u\nlast-repair %s\nleft-alone %s\n", (int) getpid(), a->repairs,
                         a->last_repair ? a->last_repair : "-", *alone ? alone : "-");
        f = fopen(tmp, "we");
        if (!f)
                return;
        fputs(text, f);
        if (fclose(f) == 0)
                (void) rename(tmp, path);
}

/* --prometheus FILE: after each pass, the items that pass looked at (all of them at start and
 * reload, the kinds an event named after that) and the agent's counters. */
void agent_write_metrics(struct agent *a, const struct report *rep) {
        static struct set_counts sets;
        _cleanup_free_ char *why = NULL;

        prometheus_count_sets(a->opt.state_dir, &sets);
        if (prometheus_write(a->opt.prometheus, rep, &sets, a->repairs, &why) < 0)
                agent_say("cannot write the metrics file %s", why);
}

/* Test hook MEDIC_AGENT_TRACE=FILE: one line per pass with its steps' monotonic times (µs),
 * for the latency benchmark to say where a repair's time goes. */
void agent_trace(const char *cause, const uint64_t *t, size_t n) {
        const char *path = test_hook("MEDIC_AGENT_TRACE");
        FILE *f;

        if (!path || !(f = fopen(path, "ae")))
                return;
        fprintf(f, "%d", (int) getpid());
        for (size_t i = 0; i < n; i++)
                fprintf(f, " %llu", (unsigned long long) t[i]);
        fprintf(f, " %s\n", cause);
        fclose(f);
}
