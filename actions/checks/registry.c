/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "check.h"

/* Every check kind medic knows, in one place, in the order audit reports them: the
 * troubleshooting guide's causes from the host up (hardware, configuration, disk, CPU,
 * network), then the next error (database space). Adding a kind = one file + one line. */
const struct check_ops *const check_registry[] = {
        &hardware_check_ops,
        &etcd_config_check_ops,
        &peer_network_check_ops,
        &disk_latency_check_ops,
        &disk_probe_check_ops,
        &cpu_check_ops,
        &nic_check_ops,
        &db_quota_check_ops,
        &etcd_metrics_check_ops,
        NULL,
};

const struct check_ops *check_ops_find(const char *kind) {
        for (size_t i = 0; check_registry[i]; i++)
                if (streq(check_registry[i]->kind, kind))
                        return check_registry[i];
        return NULL;
}
