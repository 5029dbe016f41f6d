/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "action.h"

/* Every action kind medic knows, in one place. Adding a kind = one file + one line here. */
const struct action_ops *const action_registry[] = {
        &sysctl_ops,
        &io_priority_ops,
        &traffic_priority_ops,
        &mount_options_ops,
        &nic_offload_ops,
        NULL,
};

/* The engine's unit tests drive it with a kind of their own that needs no kernel; it is
 * found by name like the others. Never set by medic itself. */
const struct action_ops *action_unit_test_kind;

const struct action_ops *action_ops_find(const char *kind) {
        for (size_t i = 0; action_registry[i]; i++)
                if (streq(action_registry[i]->kind, kind))
                        return action_registry[i];
        if (action_unit_test_kind && streq(action_unit_test_kind->kind, kind))
                return action_unit_test_kind;
        return NULL;
}
