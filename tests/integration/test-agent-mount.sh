#!/bin/bash
# medic agent and a remount: in this test's private mount namespace a tmpfs gets noatime at
# the agent's start; a remount to strictatime (POLLPRI on the namespace's mountinfo) is
# repaired, nosuid,nodev kept, checked with findmnt. The host's namespace never sees it.
. "$(dirname "$0")/mount-lib.sh"
. "$(dirname "$0")/agent-lib.sh"
mount_setup
base=$T/mnt
mkdir -p "$base"
mount -t tmpfs -o nosuid,nodev,relatime,size=4m medic-agent "$base"
mount_policy "$base" noatime
noatime() { [ "$(opts "$base")" = rw,nosuid,nodev,noatime ]; }

step "the agent starts and sets noatime"
MEDIC_HOST_MNTNS_PID=$HOST_PID start_agent --sysctl-interval 3600
wait_until 10 noatime || fail "not noatime: $(opts "$base"); $(cat "$T/agent.log")"
assert_host_clean

step "someone remounts it strictatime: noatime again, nosuid,nodev kept"
mount -o remount,bind,strictatime "$base"
t0=$(now_ms)
wait_until 5 noatime || fail "the remount was not repaired: $(opts "$base"); $(cat "$T/agent.log")"
log "repaired within $(( $(now_ms) - t0 )) ms (polled every 100 ms)"
# The agent can be quicker than findmnt here: its log says what it found.
wait_until 5 grep -q "repaired .*: strictatime → noatime (the mount table changed)" "$T/agent.log" || fail "no repair in the log: $(cat "$T/agent.log")"

step "SIGTERM: exit 0, noatime kept"
stop_agent
noatime || fail "noatime went with the agent"
