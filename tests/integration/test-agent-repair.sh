#!/bin/bash
# medic agent on a veth in a namespace: applies the policy at start, then puts back what
# others change — a deleted root qdisc, an offload turned back on, a sysctl written back —
# each as a change set of kind repair with its cause, audited, and undone by rollback; a CLI
# rollback stays rolled back; a bad policy on SIGHUP keeps the running one; SIGTERM exits 0
# leaving the changes. Checked with tc, ethtool and /proc/sys, never with medic's reader.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
setup - <<'YAML'
medic: 1
name: agent
actions:
  - name: peer first
    traffic-priority:
      interface: ag0
      backend: htb
      rate: 100mbit
      bands:
        - {name: peer, ports: [2380]}
        - {name: client, ports: [2379]}
  - name: no tx checksumming
    nic-offload:
      interface: ag0
      features: {tx-checksumming: off}
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
YAML
command -v ethtool >/dev/null || skip "needs ethtool"
ip -n "$NS" link add ag0 type veth peer name ag1
ip -n "$NS" link set ag0 up
ip -n "$NS" link set ag1 up

root_is_htb() { [[ "$(tc -n "$NS" qdisc show dev ag0)" == *"qdisc htb 1: root"* ]]; }
root_is_default() { [[ "$(tc -n "$NS" qdisc show dev ag0)" != *"qdisc htb"* ]]; }
tx_is() { [[ "$(ip netns exec "$NS" ethtool -k ag0 | awk '$1 == "tx-checksumming:" { print $2 }')" == "$1" ]]; }
time_is() { [ "$(sysctl_ns net.ipv4.tcp_keepalive_time)" = "$1" ]; }

step "the agent starts and applies the policy"
start_agent --ns --sysctl-interval 1
wait_until 10 root_is_htb || fail "the agent did not build the root qdisc: $(cat "$T/agent.log")"
wait_until 5 tx_is off || fail "the agent did not turn tx checksumming off"
wait_until 5 time_is 600 || fail "the agent did not set the keepalive time"
assert_eq "apply" "$(py "$(journal_file 1)" 'd["kind"]')" "kind of the start's change set"

step "tc qdisc del: the root is back, as a repair with its cause"
t0=$(now_ms)
tc -n "$NS" qdisc del dev ag0 root
wait_until 5 root_is_htb || fail "root qdisc not repaired: $(tc -n "$NS" qdisc show dev ag0)"
log "repaired within $(( $(now_ms) - t0 )) ms (polled every 100 ms)"
assert_eq 4 "$(tc -n "$NS" class show dev ag0 | wc -l)" "classes after the repair"
repair_id=$(ls "$STATE/changes" | sed -n 's/^\([0-9]*\)\.json$/\1/p' | sort -n | tail -1)
assert_eq "repair" "$(py "$(journal_file "$repair_id")" 'd["kind"]')" "kind of set $repair_id"
msg=$(py "$(journal_file "$repair_id")" 'd["message"]')
[[ "$msg" == "repair: ag0: qdisc deleted" ]] || fail "cause of set $repair_id: '$msg'"
assert_eq 1 "$(audit_events repair | grep -c '"change": '"$repair_id")" "repair records of set $repair_id"

step "audit says an agent keeps the host, and its last repair"
wait_until 3 grep -q "^last-repair .*ag0: qdisc deleted" "$STATE/agent" || fail "STATE/agent: $(cat "$STATE/agent")"
expect_rc 0 medic_ns audit
assert_match "$OUT" "medic agent pid $AGENT keeps this host; last repair: .*ag0: qdisc deleted"

step "ethtool -K tx on: off again"
ip netns exec "$NS" ethtool -K ag0 tx on
wait_until 5 tx_is off || fail "tx checksumming not repaired"

step "a sysctl written back: repaired at the next timer tick"
set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
wait_until 5 time_is 600 || fail "keepalive time not repaired"

step "a CLI rollback of the root's repair stays rolled back"
expect_rc 2 medic_ns --wait 30 rollback "$repair_id"
root_is_default || fail "the rollback did not remove the root"
sleep 2
root_is_default || fail "the agent re-applied what the operator rolled back: $(tc -n "$NS" qdisc show dev ag0)"

step "SIGHUP with an invalid policy keeps the running one"
cp "$POLICY" "$T/good.yaml"
printf 'medic: 1\nname: broken\nactions: 7\n' >"$POLICY"
kill -HUP "$AGENT"
wait_until 5 grep -q "is invalid; keeping the policy that runs" "$T/agent.log" || fail "no word of the bad policy: $(cat "$T/agent.log")"
set_sysctl_ns net.ipv4.tcp_keepalive_time 7201
wait_until 5 time_is 600 || fail "the old policy is no longer enforced"

step "SIGHUP with a valid policy applies it (the rolled-back root comes back)"
cp "$T/good.yaml" "$POLICY"
kill -HUP "$AGENT"
wait_until 10 root_is_htb || fail "the reloaded policy did not rebuild the root"

step "someone who keeps writing the sysctl back: the agent stops after 5 repairs"
for _ in $(seq 1 40); do
        set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
        sleep 0.25
        grep -q "stops repairing it" "$T/agent.log" && break
done
grep -q "net.ipv4.tcp_keepalive_time: changed back 5 times" "$T/agent.log" || fail "no fight detected: $(cat "$T/agent.log")"
assert_eq 1 "$(count_events conflict)" "conflict records"
set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
sleep 2.5
time_is 7200 || fail "the agent kept fighting over the keepalive time"
expect_rc 2 medic_ns audit
assert_match "$OUT" "medic agent pid $AGENT keeps this host; last repair: .*; left alone after someone kept changing them back: net.ipv4.tcp_keepalive_time$"

step "SIGTERM: exit 0, changes kept"
stop_agent
root_is_htb || fail "the root went with the agent"
[ ! -e "$STATE/agent" ] || fail "STATE/agent outlived the agent"
tx_is off || fail "tx checksumming went with the agent"
run_capture medic_ns audit
assert_not_contains "$OUT" "medic agent"

step "an agent killed with SIGKILL: audit says it is gone"
ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent \
        --sysctl-interval 3600 >"$T/agent2.log" 2>&1 &
AGENT2=$!
helper_pid "$AGENT2"
wait_until 10 grep -q "running with policy" "$T/agent2.log" || fail "the second agent did not start: $(cat "$T/agent2.log")"
kill -KILL "$AGENT2"
wait "$AGENT2" 2>/dev/null || true
run_capture medic_ns audit
assert_contains "$OUT" "no medic agent runs (the last one, pid $AGENT2, is gone)"
log "agent log:"
sed 's/^/#   /' "$T/agent.log"
