#!/bin/bash
# The backends, checked with tc:
# - backend: prio on a kernel without sch_prio: apply fails the item (exit 4) with
#   "IF: kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set); use backend: htb or auto"
#   and leaves the root exactly as it was (the kernel default, or someone's tbf).
#   (On a kernel with sch_prio, test-tc-prio-kernel.sh checks the prio structure.)
# - backend: auto: htb there, and apply says why in a note.
# - backend: htb with rate: 100mbit: 1:100 at rate/ceil 100Mbit, children ceil 100Mbit,
#   prio 0, 1, 2, quantum 1514; without rate: the link speed from sysfs (a veth: 10000),
#   or medic's documented default (lo reports no speed: 10gbit).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup vt0 prio
tc_veth_up
ip -n "$NS" link set lo up

# with_backend BACKEND [RATE] [IFACE]: the policy above with another backend / rate / interface.
with_backend() {
        tc_policy "${3:-vt0}" "$1" "${2:-}" | write_policy "$POLICY"
}
snapshot() { tc_snapshot "$NS" "${1:-vt0}"; }

if tc_kernel_has_prio; then
        has_prio=1
else
        has_prio=0
fi
log "kernel has sch_prio: $has_prio"
default_root=$(snapshot)
peer=$(snapshot vt1)

if [ $has_prio = 0 ]; then
        for pre in "" "handle 5: tbf rate 1mbit burst 32kb latency 400ms"; do
                step "backend: prio without sch_prio, over ${pre:-the kernel default}: exit 4, root untouched"
                # shellcheck disable=SC2086
                if [ -n "$pre" ]; then tc -n "$NS" qdisc add dev vt0 root $pre; fi
                before=$(snapshot)
                expect_rc 2 medic_ns audit
                assert_eq "$before" "$(snapshot)" "vt0 after audit"
                sets=$(change_set_ids)
                expect_rc 4 medic_ns apply
                assert_match "$OUT" "^peer first +vt0 +.* → prio: peer 2380 > client 2379 > rest +failed: vt0: kernel has no 'prio' qdisc \(CONFIG_NET_SCH_PRIO not set\); use backend: htb or auto\$"
                assert_eq "$before" "$(snapshot)" "vt0 after the failed apply"
                assert_eq "$peer" "$(snapshot vt1)" "vt1"
                if [ "$(change_set_ids)" != "$sets" ]; then
                        assert_set_state "$(change_set_ids | awk '{ print $NF }')" failed
                fi
                expect_rc 2 medic_ns audit
                if [ -n "$pre" ]; then tc -n "$NS" qdisc del dev vt0 root; fi
        done
        assert_eq "$default_root" "$(snapshot)" "vt0 after the prio attempts"
else
        log "this kernel has sch_prio: the prio structure is checked by test-tc-prio-kernel.sh"
fi

step "backend: auto: htb (no sch_prio) or prio, and apply says which"
with_backend auto
expect_rc 2 medic_ns apply
if [ $has_prio = 0 ]; then
        assert_contains "$OUT" "note: backend auto: used htb, because this kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set)"
        grep -q '^qdisc htb 1: root .*default 0x3 ' <<<"$(tc -n "$NS" qdisc show dev vt0)" || fail "auto did not build htb: $(tc -n "$NS" qdisc show dev vt0)"
        py_assert "$(journal_file "$(change_set_ids | awk '{ print $NF }')")" 'd["items"][0]["after"]["backend"] == "htb"'
else
        assert_not_contains "$OUT" "used htb"
        grep -q '^qdisc prio 1: root ' <<<"$(tc -n "$NS" qdisc show dev vt0)" || fail "auto did not build prio: $(tc -n "$NS" qdisc show dev vt0)"
fi
expect_rc 0 medic_ns audit
expect_rc 2 medic_ns rollback
assert_eq "$default_root" "$(snapshot)" "vt0 after rolling back auto"

step "backend: htb, rate: 100mbit: 1:100 at 100Mbit, children ceil 100Mbit, prio 0 1 2"
with_backend htb 100mbit
expect_rc 2 medic_ns audit
assert_contains "$OUT" "note: htb shapes vt0 to 100mbit (rate:)"
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → htb 100mbit: peer 2380 > client 2379 > rest +changed$'
assert_not_contains "$OUT" "backend auto"
q=$(tc -n "$NS" qdisc show dev vt0)
[[ "$q" =~ ^qdisc\ htb\ 1:\ root\ .*default\ 0x3\  ]] || fail "vt0 root: $q"
c=$(tc -n "$NS" -d class show dev vt0)
assert_eq 4 "$(wc -l <<<"$c")" "htb classes"
grep -qE '^class htb 1:100 root rate 100Mbit ceil 100Mbit ' <<<"$c" || fail "1:100 is not at rate/ceil 100Mbit: $c"
for i in 1 2 3; do
        grep -qE "^class htb 1:$i parent 1:100 prio $((i - 1)) quantum 1514 rate 33333Kbit ceil 100Mbit " <<<"$c" ||
                fail "class 1:$i: expected parent 1:100 prio $((i - 1)) quantum 1514 rate 33333Kbit ceil 100Mbit: $c"
done
expect_rc 0 medic_ns audit
assert_match "$OUT" '^peer first +vt0 +htb 100mbit: 2380 > 2379 > rest → htb 100mbit: peer 2380 > client 2379 > rest +ok$'

step "another rate is drift; apply rebuilds at 1gbit"
with_backend htb 1gbit
expect_rc 2 medic_ns audit
assert_match "$OUT" 'htb 100mbit: 2380 > 2379 > rest → htb 1gbit: peer 2380 > client 2379 > rest +drift$'
expect_rc 2 medic_ns apply
grep -qE '^class htb 1:100 root rate 1Gbit ceil 1Gbit ' <<<"$(tc -n "$NS" class show dev vt0)" || fail "1:100 not at 1Gbit: $(tc -n "$NS" class show dev vt0)"
expect_rc 2 medic_ns rollback
grep -qE '^class htb 1:100 root rate 100Mbit ceil 100Mbit ' <<<"$(tc -n "$NS" class show dev vt0)" || fail "rollback did not bring back 100Mbit: $(tc -n "$NS" class show dev vt0)"
expect_rc 2 medic_ns rollback
assert_eq "$default_root" "$(snapshot)" "vt0 after both rollbacks"

step "backend: htb without rate: the veth's sysfs speed (10000 Mbit/s)"
assert_eq 10000 "$(ip netns exec "$NS" cat /sys/class/net/vt0/speed)" "vt0 speed in sysfs"
with_backend htb
expect_rc 2 medic_ns apply
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → htb 10gbit: peer 2380 > client 2379 > rest +changed$'
grep -qE '^class htb 1:100 root rate 10Gbit ceil 10Gbit ' <<<"$(tc -n "$NS" class show dev vt0)" || fail "1:100 not at 10Gbit: $(tc -n "$NS" class show dev vt0)"
expect_rc 2 medic_ns rollback
assert_eq "$default_root" "$(snapshot)" "vt0 at the end"
assert_eq "$peer" "$(snapshot vt1)" "vt1 at the end"

step "backend: htb on lo (no speed in sysfs): medic's default, said in the audit"
with_backend htb "" lo
expect_rc 2 medic_ns audit
assert_contains "$OUT" "note: htb shapes lo to 10gbit (a default: the link reports no speed)"
lo_before=$(snapshot lo)
expect_rc 2 medic_ns apply
grep -qE '^class htb 1:100 root rate 10Gbit ceil 10Gbit ' <<<"$(tc -n "$NS" class show dev lo)" || fail "lo 1:100 not at 10Gbit: $(tc -n "$NS" class show dev lo)"
expect_rc 2 medic_ns rollback
assert_eq "$lo_before" "$(snapshot lo)" "lo at the end"
