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

const struct action_ops *action_ops_find(const char *kind) {
        for (size_t i = 0; action_registry[i]; i++)
                if (streq(action_registry[i]->kind, kind))
                        return action_registry[i];
        return NULL;
}
