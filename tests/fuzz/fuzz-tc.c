/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's read of an interface (drive-tc.c) on replies cut from the input by
 * the fake kernel (fakenl.h): the link, qdisc, class and u32 filter dumps. */
#include <stddef.h>
#include <stdint.h>

#include "fakenl.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fakenl_load(data, size);
        fuzz_tc(fakenl_socket());
        return 0;
}
