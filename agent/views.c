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
        return EXIT_NOTHING;
}
