/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* Capabilities as CAP_TO_MASK bit sets (every capability medic uses is below 32). */

/* Read-only commands: no capabilities at all, before the policy is read. */
int caps_drop_all(void);
/* Changing commands: keep only keep, clear the bounding set, set PR_SET_NO_NEW_PRIVS. */
int caps_limit(uint64_t keep);
/* Effective set now. */
uint64_t caps_effective(void);
/* "CAP_NET_ADMIN, CAP_SYS_NICE" */
char *caps_describe(uint64_t mask);
