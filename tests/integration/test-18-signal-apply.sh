#!/bin/bash
# SIGTERM in the middle of an apply (a unit stop, a Ctrl-C): medic finishes the object it is
# changing, then undoes the whole set — exit 4, every interface and sysctl exactly as
# before (tc, /proc/sys), the set 'failed' with the reason. Never half an apply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
setup - <<'YAML'
medic: 1
name: sig
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
  - name: peer first
    traffic-priority:
      interface: all
      backend: htb
      rate: 100mbit
      bands:
        - {name: peer, ports: [2380]}
YAML
n=150
for i in $(seq 1 "$n"); do
        echo "link add sg$i type veth peer name sp$i"
        echo "link set sg$i up"
        echo "link set sp$i up"
done | ip -n "$NS" -batch - || fail "creating $n veth pairs"
all_qdiscs() { tc -n "$NS" qdisc show | sort; }
before=$(all_qdiscs)

step "SIGTERM once a few interfaces are changed"
ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" apply >"$T/out" 2>"$T/err" &
pid=$!
changes() { [ "$(grep -c '"event":"change"' "$AUDIT" 2>/dev/null)" -ge 5 ]; }
wait_until 30 changes || fail "apply made no changes: $(cat "$T/out" "$T/err")"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" != 2 ] || skip "the apply finished before the signal arrived (a faster machine): nothing to check"
assert_eq 4 "$rc" "exit code of the interrupted apply"
grep -q "change set 1 failed; what it had changed was restored (interrupted by Terminated)" "$T/out" ||
        fail "no word of the interruption: $(cat "$T/out" "$T/err")"
assert_eq "$before" "$(all_qdiscs)" "every qdisc of the namespace"
assert_keepalive 7200 75 9
assert_set_state 1 failed
restored=$(grep -c '"event":"rollback"' "$AUDIT")
changed=$(grep -c '"event":"change"' "$AUDIT")
assert_eq "$changed" "$restored" "rollback records for change records"
log "interrupted after $changed of $((n * 2 + 1)) objects; all $restored undone"

step "a later apply changes everything"
expect_rc 2 medic_ns apply
roots=$(tc -n "$NS" qdisc show | grep -c 'qdisc htb 1: dev [a-z0-9]* root' || true)
assert_eq $((2 * n)) "$roots" "medic roots (every veth end)"
