#!/bin/bash
# medic puts right its own root that someone partly changed: a class's rate (htb; on a
# kernel with sch_prio, the priomap), a deleted IPv6 filter, an added filter. `medic apply`
# and `medic agent` alike rebuild it exactly (tc -d qdisc/class/filter show before and
# after); audit says apply will. A root someone else built with medic's handle, after an
# operator rolled medic's back, stays foreign: apply refuses it and leaves it exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup_vt0
tc_auto_backend
tcq() { tc -n "$NS" "$@"; }
# htb's direct_packets_stat counts packets the kernel itself sends (an IPv6 router
# solicitation on a veth that just came up): a counter, not configuration.
snapshot() { tc_snapshot "$NS" vt0 | sed 's/ direct_packets_stat [0-9]*//'; }
default_root=$(snapshot)
assert_eq "qdisc noqueue 0: root refcnt 2 " "$default_root" "vt0 at the start"

step "apply builds medic's root"
expect_rc 2 medic_ns apply
[[ "$(tc_root_line "$NS" vt0)" == "qdisc $AUTO 1: root "* ]] || fail "root after apply: $(tc_root_line "$NS" vt0)"
good=$(snapshot)

# edit N: someone's change number N to medic's root; what N: its name.
edit() {
        case $1 in
        1) if [ "$AUTO" = htb ]; then
                   tcq class change dev vt0 parent 1:100 classid 1:1 htb rate 1mbit ceil 1gbit prio 0 quantum 1514
           else # a prio class has no parameters; its qdisc's priomap does
                   tcq qdisc change dev vt0 root handle 1: prio bands 3 priomap 1 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2
           fi ;;
        2) tcq filter del dev vt0 parent 1: protocol ipv6 pref 2 u32 ;;
        3) tcq filter add dev vt0 parent 1: protocol ip pref 5 u32 match ip dport 22 0xffff flowid 1:1 ;;
        esac
}
what() {
        case $1 in
        1) if [ "$AUTO" = htb ]; then echo "a class's rate is changed"; else echo "the priomap is changed"; fi ;;
        2) echo "medic's IPv6 filters are deleted" ;;
        3) echo "a filter is added" ;;
        esac
}

for i in 1 2 3; do
        step "apply: $(what $i)"
        edit $i
        [ "$(snapshot)" != "$good" ] || fail "'$(what $i)' changed nothing"
        expect_rc 2 medic_ns audit
        assert_match "$OUT" "note: the root qdisc $AUTO 1: is medic's, changed by someone since \\(.*\\): apply puts it back"
        sets=$(change_set_ids)
        expect_rc 2 medic_ns apply
        assert_match "$OUT" '^peer first +vt0 .* changed$'
        assert_eq "$good" "$(snapshot)" "vt0 after apply over '$(what $i)'"
        [ "$(change_set_ids)" != "$sets" ] || fail "apply wrote no change set"
done

step "rollback of the last set: medic's root goes, the edited one cannot come back"
last=$(change_set_ids | tr ' ' '\n' | tail -1)
expect_rc 4 medic_ns rollback "$last"
assert_match "$OUT" "the previous root $AUTO 1: cannot be rebuilt .*the kernel default is back"
assert_eq "$default_root" "$(snapshot)" "vt0 after rolling back set $last"

step "a root someone else built with medic's handle after the rollback stays foreign"
tcq qdisc add dev vt0 root handle 1: htb default 1
tcq class add dev vt0 parent 1: classid 1:1 htb rate 5mbit
tcq filter add dev vt0 parent 1: protocol ip pref 1 u32 match ip dport 22 0xffff flowid 1:1
theirs=$(snapshot)
expect_rc 4 medic_ns apply
assert_match "$OUT" "is not medic's and medic could not give it back on rollback"
assert_eq "$theirs" "$(snapshot)" "someone else's htb 1: after apply"
tcq qdisc del dev vt0 root

step "the agent applies at start and puts each edit right as a repair"
expect_rc 2 medic_ns apply
good=$(snapshot)
ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent \
        --sysctl-interval 3600 --fight-limit 0 >"$T/agent.log" 2>&1 &
AGENT=$!
helper_pid "$AGENT"
wait_until 10 grep -q "running with policy" "$T/agent.log" || fail "the agent did not start: $(cat "$T/agent.log")"
same() { [ "$(snapshot)" = "$good" ]; }
more_repairs_than() { [ "$(count_events repair)" -gt "$1" ]; }
for i in 1 2 3; do
        step "agent: $(what $i)"
        n=$(count_events repair)
        edit $i
        wait_until 5 same || fail "not repaired: $(diff <(printf '%s\n' "$good") <(snapshot)); $(cat "$T/agent.log")"
        wait_until 3 more_repairs_than "$n" || fail "no repair record"
        set=$(change_set_ids | tr ' ' '\n' | tail -1)
        assert_eq "repair" "$(py "$(journal_file "$set")" 'd["kind"]')" "kind of set $set"
        msg=$(py "$(journal_file "$set")" 'd["message"]')
        [[ "$msg" =~ ^repair:\ vt0:\ (class|qdisc|filter)\ (added\ or\ changed|deleted)$ ]] || fail "cause of set $set: '$msg'"
done
kill -TERM "$AGENT"
rc=0
wait "$AGENT" || rc=$?
assert_eq 0 "$rc" "the agent's exit code"
assert_eq "$good" "$(snapshot)" "vt0 after the agent exited"
