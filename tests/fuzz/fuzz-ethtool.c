/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nic-offload's ethtool netlink exchanges (drive-ethtool.c) on replies cut from the input
 * by the fake kernel (fakenl.h): feature names, the features dump, one interface's
 * features, and a change's reply. */
#include <stddef.h>
#include <stdint.h>

#include "fakenl.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAMILY 20 /* any id: the fake kernel answers whatever is asked */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fakenl_load(data, size);
        fuzz_ethtool(fakenl_socket(), FAMILY);
        return 0;
}
