/* SPDX-License-Identifier: GPL-2.0-or-later */
/* history and show: the journal as the operator reads it. Read-only. */
#include <json-c/json.h>
#include <string.h>

#include "engine_int.h"

int engine_history(struct run *run) {
        _cleanup_free_ unsigned *ids = NULL;
        struct json_object *arr = json_object_new_array();
        bool damaged = false;
        size_t n;
        int r;

        run->rep.extra = json_object_new_object();
        json_object_object_add(run->rep.extra, "changes", arr);
        r = journal_list(run->opt->state_dir, &ids, &n);
        if (r < 0) {
                report_error(&run->rep, "cannot read the journal in %s: %s", run->opt->state_dir, strerror(-r));
                return EXIT_CANNOT;
        }
        if (n == 0)
                report_message(&run->rep, "no change sets in %s", run->opt->state_dir);
        else
                report_text(&run->rep, "  ID  %-24s  %-8s  %-16s  %-8s  %s", "TIME", "KIND", "STATE", "ITEMS", "POLICY");
        for (size_t i = 0; i < n; i++) {
                _cleanup_(change_set_freep) struct change_set *cs = NULL;
                _cleanup_free_ char *why = NULL, *extra = NULL;
                struct json_object *o;

                if (journal_load(run->opt->state_dir, ids[i], &cs, &why) < 0) {
                        report_error(&run->rep, "%s", why);
                        damaged = true;
                        continue;
                }
                o = json_object_new_object();
                json_object_object_add(o, "id", json_object_new_int64(cs->id));
                json_object_object_add(o, "time", json_object_new_string(cs->time));
                json_object_object_add(o, "kind", json_object_new_string(set_kind_name(cs->kind)));
                json_object_object_add(o, "state", json_object_new_string(set_state_name(cs->state)));
                json_object_object_add(o, "items", json_object_new_int64((int64_t) cs->n_items));
                json_object_object_add(o, "policy", cs->policy_name ? json_object_new_string(cs->policy_name) : NULL);
                json_object_object_add(o, "uid", json_object_new_int64(cs->uid));
                json_object_object_add(o, "this_boot", json_object_new_boolean(streq(cs->boot_id, run->boot_id)));
                json_object_array_add(arr, o);
                extra = cs->rollback_of ? xasprintf(" (undoes %u)", cs->rollback_of)
                        : cs->rolled_back_by ? xasprintf(" (undone by %u)", cs->rolled_back_by)
                                             : xstrdup("");
                report_text(&run->rep, "%4u  %-24s  %-8s  %-16s  %2zu items  %s%s%s", cs->id, cs->time,
                            set_kind_name(cs->kind), set_state_name(cs->state), cs->n_items,
                            cs->policy_name ? cs->policy_name : "-", extra,
                            streq(cs->boot_id, run->boot_id) ? "" : "  [earlier boot]");
        }
        return damaged ? EXIT_CANNOT : EXIT_NOTHING;
}

/* ---- a change set's before as a policy ---- */

/* The policy's part of a state's JSON: everything but what the read observed. */
static struct json_object *policy_part(struct json_object *state) {
        struct json_object *j = json_object_new_object();
        json_object_object_foreach(state, k, v)
                if (!streq(k, "observed"))
                        json_object_object_add(j, k, json_object_get(v));
        return j;
}

/* What the entries printed so far set: each kind's claims (object, value), so that an
 * entry that would set one of their objects otherwise is left out, as the loader would
 * refuse the document. */
struct claimed {
        char **objects;
        char **values;
};

static void claim_collect(void *userdata, const char *object, const char *value, const struct ynode *at _unused_) {
        struct claimed *c = userdata;
        strv_push(&c->objects, xasprintf("%s", object));
        strv_push(&c->values, xasprintf("%s", value));
}

enum entry_fit {
        ENTRY_OK,
        ENTRY_NONE,     /* no policy entry says that */
        ENTRY_CONFLICT, /* an entry says it, but not beside the ones already printed */
        ENTRY_TARGET,   /* an entry says it, but no target finds the process by its name */
};

/* Does the kind read value back as a policy entry of its own, one the loader takes beside
 * the entries in taken (then added there)? A process target it names is given as the
 * command name the process had (a journal does not hold the policy). */
static enum entry_fit policy_entry_fits(const struct action_ops *ops, const char *value, const char *target,
                                        const char *comm, struct claimed *taken) {
        struct process_rule rule = { .kind = RULE_COMM, .value = (char *) comm };
        struct target t = { .name = (char *) target, .kind = TARGET_PROCESS, .rules = &rule, .n_rules = 1 };
        struct policy pol = { .targets = &t, .n_targets = target && comm ? 1 : 0 };
        _cleanup_free_ char *yaml = xasprintf("%s: %s\n", ops->kind, value);
        struct claimed mine = { 0 };
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        void *state = NULL;
        enum entry_fit fit = ENTRY_NONE;

        if (ydoc_load_string(yaml, strlen(yaml), "before", &d, &err) >= 0 && d->root && d->root->type == YNODE_MAP &&
            ops->parse(ynode_get(d->root, ops->kind), &pol, &state, &err) >= 0) {
                fit = ENTRY_OK;
                /* The loader refuses a comm with '/': a kernel thread's (an io-priority
                 * journal thread, jbd2/sda1-8) is no target a policy can have. */
                if (target && comm && strchr(comm, '/'))
                        fit = ENTRY_TARGET;
                if (ops->claims)
                        ops->claims(state, claim_collect, &mine);
                for (size_t i = 0; fit == ENTRY_OK && mine.objects && mine.objects[i]; i++)
                        for (size_t k = 0; taken->objects && taken->objects[k]; k++)
                                if (streq(taken->objects[k], mine.objects[i]) && !streq(taken->values[k], mine.values[i]))
                                        fit = ENTRY_CONFLICT;
                for (size_t i = 0; fit == ENTRY_OK && mine.objects && mine.objects[i]; i++) {
                        strv_push(&taken->objects, xstrdup(mine.objects[i]));
                        strv_push(&taken->values, xstrdup(mine.values[i]));
                }
        }
        strv_free(mine.objects);
        strv_free(mine.values);
        if (state)
                ops->free(state);
        perr_done(&err);
        ydoc_free(d);
        return fit;
}

static char *quoted(const char *s) {
        struct json_object *j = json_object_new_string(s);
        char *q = xstrdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
        return q;
}

/* Every item's before, in the policy's schema, as one YAML document that `medic validate`
 * accepts and `medic apply` puts back; items whose before no policy can ask for (the
 * kernel's default qdisc, someone else's root) are comments naming what rollback does
 * instead. NULL when the set has no item. */
static char *before_policy(const struct change_set *cs) {
        _cleanup_free_ char *targets = NULL, *actions = NULL;
        _cleanup_strv_ char **target_names = NULL, **target_comms = NULL;
        struct claimed taken = { 0 };

        for (size_t k = 0; k < cs->n_items; k++) {
                const struct set_item *it = &cs->items[k];
                const struct action_ops *ops = action_ops_find(it->kind);
                _cleanup_free_ char *value = NULL, *what = NULL, *name = NULL, *qname = NULL;
                struct json_object *full = NULL, *part, *observed = NULL;
                const char *target, *comm = NULL;
                void *state = NULL;

                if (!ops || !it->before || ops->from_json(it->before, &state) < 0)
                        continue;
                /* Through the kind: a set written by an earlier medic holds older forms. */
                what = ops->describe(state);
                if (ops->to_json(state, &full) < 0) {
                        ops->free(state);
                        continue;
                }
                ops->free(state);
                part = policy_part(full);
                value = xstrdup(json_object_to_json_string_ext(part, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                target = json_get_str(part, "target");
                if (json_object_object_get_ex(full, "observed", &observed))
                        comm = json_get_str(observed, "comm");
                /* A target an earlier entry named keeps the command name it was given there
                 * (an io-priority journal thread's entry names etcd's target). */
                for (size_t i = 0; target && target_names && target_names[i]; i++)
                        if (streq(target_names[i], target))
                                comm = target_comms[i];
                text_append(&actions, "", "  # %s: %s (before: %s)\n", it->action, it->object, what);
                enum entry_fit fit = policy_entry_fits(ops, value, target, comm, &taken);
                if (fit != ENTRY_OK) {
                        if (fit == ENTRY_CONFLICT)
                                text_append(&actions, "", "  #   %s: %s\n  #   a policy cannot say that beside the entries above; medic rollback %u restores it\n",
                                            ops->kind, value, cs->id);
                        else if (fit == ENTRY_TARGET)
                                text_append(&actions, "", "  #   %s: %s\n  #   no target finds %s by its command name (a policy's has no '/'); medic rollback %u restores it\n",
                                            ops->kind, value, comm, cs->id);
                        else
                                text_append(&actions, "", "  #   no policy entry says that; medic rollback %u restores it\n", cs->id);
                        json_object_put(part);
                        json_object_put(full);
                        continue;
                }
                if (target && comm && !strv_contains(target_names, target)) {
                        _cleanup_free_ char *qt = quoted(target), *qc = quoted(comm);
                        strv_push(&target_names, xstrdup(target));
                        strv_push(&target_comms, xstrdup(comm));
                        text_append(&targets, "", "  %s: {process: {comm: %s}}\n", qt, qc);
                }
                name = strlen(it->action) <= 100 ? xasprintf("%s (item %zu)", it->action, k + 1) : xasprintf("item %zu", k + 1);
                qname = quoted(name);
                text_append(&actions, "", "  - name: %s\n    %s: %s\n", qname, ops->kind, value);
                json_object_put(part);
                json_object_put(full);
        }
        strv_free(taken.objects);
        strv_free(taken.values);
        if (!actions)
                return NULL;
        return xasprintf("medic: 1\nname: before-change-%u\n%s%sactions:\n%s", cs->id, targets ? "targets:\n" : "",
                         targets ? targets : "", actions);
}

int engine_show(struct run *run, unsigned id) {
        _cleanup_(change_set_freep) struct change_set *cs = NULL;
        _cleanup_free_ char *why = NULL;
        struct json_object *j = NULL;
        int r;

        r = journal_load(run->opt->state_dir, id, &cs, &why);
        if (r < 0) {
                if (r == -ENOENT)
                        report_error(&run->rep, "there is no change set %u (see 'medic history')", id);
                else
                        report_error(&run->rep, "%s", why);
                return EXIT_CANNOT;
        }
        change_set_to_json(cs, &j);
        run->rep.extra = json_object_new_object();
        json_object_object_add(run->rep.extra, "change_set", j);
        run->rep.change = cs->id;

        report_text(&run->rep, "change set %u: %s, %s", cs->id, set_kind_name(cs->kind), set_state_name(cs->state));
        report_text(&run->rep, "  time     %s", cs->time);
        report_text(&run->rep, "  by       uid %u%s%s, on %s", (unsigned) cs->uid, cs->sudo_user ? " via sudo from " : "",
                       cs->sudo_user ? cs->sudo_user : "", cs->hostname ? cs->hostname : "?");
        report_text(&run->rep, "  command  %s", cs->command ? cs->command : "?");
        report_text(&run->rep, "  policy   %s (sha256 %s)", cs->policy_name ? cs->policy_name : "-",
                       cs->policy_sha256 ? cs->policy_sha256 : "-");
        report_text(&run->rep, "  boot     %s%s", cs->boot_id, streq(cs->boot_id, run->boot_id) ? " (this boot)" : " (an earlier boot)");
        if (cs->rollback_of)
                report_text(&run->rep, "  undoes   change set %u", cs->rollback_of);
        if (cs->rolled_back_by)
                report_text(&run->rep, "  undone   by change set %u", cs->rolled_back_by);
        if (cs->deadline) {
                char when[40];
                rfc3339_from(cs->deadline, when);
                report_text(&run->rep, "  confirm  before %s", when);
        }
        if (cs->message)
                report_text(&run->rep, "  note     %s", cs->message);
        for (size_t k = 0; k < cs->n_items; k++) {
                const struct set_item *it = &cs->items[k];
                const struct action_ops *ops = action_ops_find(it->kind);
                _cleanup_free_ char *b = NULL, *a = NULL;
                void *sb = NULL, *sa = NULL;

                if (ops && ops->from_json(it->before, &sb) >= 0 && ops->from_json(it->after, &sa) >= 0) {
                        b = ops->describe(sb);
                        a = ops->describe(sa);
                } else {
                        b = xstrdup(it->before ? json_object_to_json_string(it->before) : "-");
                        a = xstrdup(it->after ? json_object_to_json_string(it->after) : "-");
                }
                if (ops && sb)
                        ops->free(sb);
                if (ops && sa)
                        ops->free(sa);
                report_text(&run->rep, "  %-24s  %-36s  %s → %s  %s%s%s", it->action, it->object, b, a,
                               item_state_name(it->state), it->message ? ": " : "", it->message ? it->message : "");
        }
        _cleanup_free_ char *policy = before_policy(cs);
        if (policy) {
                json_object_object_add(run->rep.extra, "before_policy", json_object_new_string(policy));
                report_text(&run->rep, "before, as a policy (medic validate checks it, medic apply puts it back):");
                for (char *line = policy, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        report_text(&run->rep, "%s", line);
                }
        }
        return EXIT_NOTHING;
}
