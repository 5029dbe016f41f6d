#!/bin/bash
# The prio backend on a kernel that has sch_prio (Debian's stock kernel, e.g. under QEMU):
# root prio 1: with bands = policy bands + 1 and the whole priomap pointing at the last
# band, medic's u32 filters, packets counted per band by the kernel, audit 0 after apply,
# rollback to the kernel default; auto picks prio there. Skipped where the kernel has no
# sch_prio (test-tc-backends.sh checks the failure and the htb fallback there).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup lo prio
tc_kernel_has_prio ||
        skip "kernel has no sch_prio (CONFIG_NET_SCH_PRIO not set): the prio path runs on a stock kernel"
ip -n "$NS" link set lo up

attempt() { tc_attempt "$NS" "$@"; }
counters() { tc_counters "$NS" lo; }
pkts() { awk -v c="$2" '$1 == c { print $2 }' <<<"$1"; }
expect_deltas() { # BEFORE "1:1=N ..."
        local now spec got
        now=$(counters)
        for spec in $2; do
                got=$(( $(pkts "$now" "${spec%%=*}") - $(pkts "$1" "${spec%%=*}") ))
                assert_eq "${spec#*=}" "$got" "packets in class ${spec%%=*}"
        done
}
snapshot() { tc_snapshot "$NS" lo; }
before=$(snapshot)

step "backend: prio: apply builds prio 1: with 3 bands, every priority in the last band"
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +lo +kernel default \(noqueue\) → prio: peer 2380 > client 2379 > rest +changed$'
assert_eq "qdisc prio 1: root refcnt 2 bands 3 priomap 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2" \
        "$(tc_root_line "$NS" lo)" "tc qdisc show dev lo"
f=$(tc -n "$NS" filter show dev lo)
assert_eq 8 "$(grep -c flowid <<<"$f")" "port nodes (2 ports × 2 directions × IPv4/IPv6)"
grep -q 'offset 0f00>>6 at 0' <<<"$f" || fail "the IPv4 link node does not follow the header length: $f"
expect_rc 0 medic_ns audit
assert_match "$OUT" '^peer first +lo +prio: 2380 > 2379 > rest → prio: peer 2380 > client 2379 > rest +ok$'
expect_rc 0 medic_ns apply

step "packets land in their band"
for a in 127.0.0.1 ::1; do
        c=$(counters); attempt "$a" 2380; expect_deltas "$c" "1:1=2 1:2=0 1:3=0"
        c=$(counters); attempt "$a" 2379; expect_deltas "$c" "1:1=0 1:2=2 1:3=0"
        c=$(counters); attempt "$a" 5555; expect_deltas "$c" "1:1=0 1:2=0 1:3=2"
done
c=$(counters); attempt 127.0.0.1 2380 opts; expect_deltas "$c" "1:1=2 1:2=0 1:3=0"

step "rollback: lo exactly as before"
expect_rc 2 medic_ns rollback
assert_eq "$before" "$(snapshot)" "lo after rollback"

step "three bands: bands 4, priomap all 3"
write_policy "$POLICY" <<'YAML'
medic: 1
name: tp
actions:
  - name: three
    traffic-priority:
      interface: lo
      backend: prio
      bands:
        - {name: peer, ports: [2380]}
        - {name: client, ports: [2379]}
        - {name: bulk, ports: [873]}
YAML
expect_rc 2 medic_ns apply
assert_eq "qdisc prio 1: root refcnt 2 bands 4 priomap 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3" \
        "$(tc_root_line "$NS" lo)" "tc qdisc show dev lo with three bands"
c=$(counters); attempt 127.0.0.1 873; expect_deltas "$c" "1:1=0 1:2=0 1:3=2 1:4=0"
c=$(counters); attempt ::1 5555; expect_deltas "$c" "1:1=0 1:2=0 1:3=0 1:4=2"
expect_rc 2 medic_ns rollback
assert_eq "$before" "$(snapshot)" "lo after the second rollback"

step "backend: auto picks prio on this kernel"
sed 's/backend: prio/backend: auto/' "$POLICY" | write_policy "$T/auto.yaml"
cp "$T/auto.yaml" "$POLICY"
expect_rc 2 medic_ns apply
assert_not_contains "$OUT" "used htb"
grep -q '^qdisc prio 1: root ' <<<"$(tc -n "$NS" qdisc show dev lo)" || fail "auto did not use prio: $(tc -n "$NS" qdisc show dev lo)"
expect_rc 2 medic_ns rollback
assert_eq "$before" "$(snapshot)" "lo at the end"
