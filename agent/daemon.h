/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "engine.h"

/* medic agent: takes boot's policy, applies it, then repairs drift as the kernel announces
 * it until SIGTERM/SIGINT. Returns the exit code. */
int agent_run(struct run *boot);
