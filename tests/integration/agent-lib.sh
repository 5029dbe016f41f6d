# shellcheck shell=bash
# Helpers for the `medic agent` tests, sourced after lib.sh (or mount-lib.sh):
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/agent-lib.sh"
#   start_agent --ns --sysctl-interval 1   # AGENT = its pid, output in $T/agent.log
#   stop_agent                             # SIGTERM, and it exits 0

# host_safe_policy: fails unless $POLICY changes nothing the host would feel when medic runs
# outside the test's network namespace: io-priority of the test's own processes, mounts in
# the test's own mount namespace. sysctl, traffic-priority and nic-offload act on the
# network namespace medic runs in.
host_safe_policy() {
        ! grep -Eq '^[[:space:]]*(-[[:space:]]*)?(sysctl|traffic-priority|nic-offload):' "$POLICY" ||
                fail "internal: medic outside the test's namespace with a policy that changes the network namespace"
}

# start_agent [--ns] ARGS...: `medic agent ARGS` with the test's policy, state and audit
# log, in the background: AGENT is its pid (killed at exit), its output goes to $AGENT_LOG
# ($T/agent.log unless set). --ns runs it in the test's network namespace; without it, it
# runs in the host's (the proc connector speaks only there), with a host-safe policy.
start_agent() {
        local in_ns=()
        if [ "${1:-}" = --ns ]; then
                shift
                _need_ns
                in_ns=(ip netns exec "$NS")
        else
                host_safe_policy
        fi
        # ip netns exec execs medic in place: $! is the agent's pid either way.
        "${in_ns[@]}" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent "$@" \
                >"${AGENT_LOG:-$T/agent.log}" 2>&1 &
        AGENT=$!
        helper_pid "$AGENT"
}

# stop_agent: SIGTERM; the agent exits 0 and leaves its changes in place.
stop_agent() {
        local rc=0
        kill -TERM "$AGENT"
        wait "$AGENT" || rc=$?
        assert_eq 0 "$rc" "the agent's exit code"
}

# skip_without_proc_events: the agent says so when the kernel refuses the proc connector.
skip_without_proc_events() {
        if grep -q "no process events" "${AGENT_LOG:-$T/agent.log}"; then
                skip "the proc connector is refused here: $(grep 'no process events' "${AGENT_LOG:-$T/agent.log}")"
        fi
}
