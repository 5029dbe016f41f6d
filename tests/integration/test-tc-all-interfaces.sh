#!/bin/bash
# interface: all over 200 veth interfaces (100 pairs, all up) in one namespace: every one
# gets medic's root on apply and its kernel default back on rollback; lo and interfaces
# that are down are left alone. The audit reads the qdiscs of all of them in ONE netlink
# dump (counted with strace where it is installed): classes and filters are dumped per
# interface only where the root is classful, because the kernel has no all-device dump
# for them. Timings are printed. Then interface: auto follows the default route.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup all
tc_auto_backend
PAIRS=100
{
        for i in $(seq 1 $PAIRS); do echo "link add va$i type veth peer name vb$i"; done
        for i in $(seq 1 $PAIRS); do echo "link set va$i up"; echo "link set vb$i up"; done
        echo "link add vdown0 type veth peer name vdown1"
        echo "link set lo up"
} >"$T/links"
ip -n "$NS" -batch "$T/links"
assert_eq $((2 * PAIRS)) "$(ip -n "$NS" -o link show up | grep -c ' v[ab][0-9]*@')" "veth interfaces up"

DEVS=()
for i in $(seq 1 $PAIRS); do DEVS+=("va$i" "vb$i"); done
# batch_show WHAT: "tc WHAT show dev X" for every veth, in one tc process.
batch_show() {
        local d
        for d in "${DEVS[@]}"; do echo "$1 show dev $d"; done >"$T/batch.$1"
        tc -n "$NS" -batch "$T/batch.$1"
}
others() { # lo and the down pair: never touched
        tc -n "$NS" -d qdisc show dev lo
        tc -n "$NS" -d qdisc show dev vdown0
        tc -n "$NS" -d qdisc show dev vdown1
}
before_qdiscs=$(tc -n "$NS" -d qdisc show)
before_others=$(others)
assert_eq $((2 * PAIRS)) "$(grep -c '^qdisc noqueue 0: dev v[ab][0-9]* root refcnt 2 $' <<<"$before_qdiscs")" "veths with the kernel default root"

have_strace=0
if command -v strace >/dev/null; then
        have_strace=1
else
        log "strace is not installed: netlink requests are not counted, only timed"
fi
# medic_traced FILE ARGS...: medic_ns under strace, every netlink request logged to FILE.
medic_traced() {
        local file=$1
        shift
        _need_ns
        ip netns exec "$NS" strace -f -qq -e trace=sendto,sendmsg -o "$file" \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}
# requests FILE TYPE [FLAG]: how many netlink messages of TYPE (with FLAG) medic sent.
requests() {
        local n
        n=$(grep -o "nlmsg_type=$2, nlmsg_flags=[A-Z_|]*" "$1" | grep -c -- "${3:-}" || true)
        echo "$n"
}
# timed VAR CMD...: runs expect-style through run_capture, milliseconds in VAR.
timed() {
        local var=$1 t0
        shift
        t0=$(now_ms)
        run_capture "$@"
        printf -v "$var" '%s' $(( $(now_ms) - t0 ))
}

step "audit over $((2 * PAIRS)) interfaces: exit 2, one drift line each, nothing changed"
timed ms_audit medic_ns audit
[ "$RC" = 2 ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "audit: exit $RC, expected 2"; }
assert_eq $((2 * PAIRS)) "$(grep -cE '^peer first +v[ab][0-9]+ +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +drift$' "$OUT")" "drift lines"
assert_not_contains "$OUT" "vdown"
assert_not_contains "$OUT" " lo "
assert_eq "$before_qdiscs" "$(tc -n "$NS" -d qdisc show)" "qdiscs after audit"
log "audit of $((2 * PAIRS)) interfaces (default roots): $ms_audit ms"

if [ $have_strace = 1 ]; then
        step "audit's netlink requests: one link dump, one qdisc dump, no class or filter dump, no write"
        run_capture medic_traced "$T/trace.audit" audit
        assert_eq 2 "$RC" "exit of the traced audit"
        if ! grep -q 'nlmsg_type=RTM_GETLINK' "$T/trace.audit"; then
                log "skipped: this strace does not decode rtnetlink message types; requests not counted"
                have_strace=0
        else
                assert_eq 1 "$(requests "$T/trace.audit" RTM_GETQDISC NLM_F_DUMP)" "RTM_GETQDISC dumps in audit"
                assert_eq 1 "$(requests "$T/trace.audit" RTM_GETLINK NLM_F_DUMP)" "RTM_GETLINK dumps in audit"
                assert_eq 0 "$(requests "$T/trace.audit" RTM_GETTCLASS)" "RTM_GETTCLASS requests in audit (no classful root)"
                assert_eq 0 "$(requests "$T/trace.audit" RTM_GETTFILTER)" "RTM_GETTFILTER requests in audit (no classful root)"
                assert_eq 0 "$(grep -cE 'nlmsg_type=RTM_(NEW|DEL)' "$T/trace.audit" || true)" "writes by audit"
                log "audit requests: $(grep -o 'nlmsg_type=RTM_[A-Z]*' "$T/trace.audit" | sort | uniq -c | tr -s ' \n' ' ')"
        fi
fi

step "apply: exit 2, every veth changed"
timed ms_apply medic_ns apply
[ "$RC" = 2 ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "apply: exit $RC, expected 2"; }
assert_eq $((2 * PAIRS)) "$(grep -cE '^peer first +v[ab][0-9]+ +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +changed$' "$OUT")" "changed lines"
log "apply over $((2 * PAIRS)) interfaces: $ms_apply ms"

step "the kernel: medic's root, classes and filters on every veth; lo and the down pair untouched"
q=$(tc -n "$NS" qdisc show)
if [ $AUTO = prio ]; then
        root_re='^qdisc prio 1: dev v[ab][0-9]+ root refcnt [0-9]+ bands 3 priomap( 2){16} ?$'
else
        root_re='^qdisc htb 1: dev v[ab][0-9]+ root refcnt [0-9]+ r2q 10 default 0x3 '
fi
assert_eq $((2 * PAIRS)) "$(grep -cE "$root_re" <<<"$q")" "veths with medic's $AUTO root"
for d in "${DEVS[@]}"; do
        grep -qE "^qdisc $AUTO 1: dev $d root " <<<"$q" || fail "$d has no medic root: $(grep " dev $d " <<<"$q")"
done
assert_eq "$before_others" "$(others)" "lo and the down veths after apply"
# One device, checked in full; then every device must show exactly the same.
tc_assert_auto_root "$NS" va1
c1=$(tc -n "$NS" class show dev va1)
f1=$(tc -n "$NS" filter show dev va1)
assert_eq 8 "$(grep -c flowid <<<"$f1")" "port nodes on va1"
for want in "1:1" "1:2"; do
        assert_eq 4 "$(grep -c "\*flowid $want " <<<"$f1")" "va1 nodes to $want"
done
grep -q 'link 10:' <<<"$f1" || fail "va1 has no IPv4 link node: $f1"
# same_everywhere WHAT ONE: tc WHAT show of every veth == ONE (va1's), 200 times over.
same_everywhere() {
        local i
        batch_show "$1" >"$T/all.$1"
        for i in $(seq 1 $((2 * PAIRS))); do printf '%s\n' "$2"; done >"$T/want.$1"
        cmp -s "$T/want.$1" "$T/all.$1" ||
                fail "$1 show differs from va1's on some veth: $(diff "$T/want.$1" "$T/all.$1" | head -n 6 | tr '\n' ' ')"
}
same_everywhere class "$c1"
same_everywhere filter "$f1"

step "audit after apply: compliant, exit 0"
timed ms_audit2 medic_ns audit
[ "$RC" = 0 ] || { _dump stdout "$OUT"; fail "audit after apply: exit $RC, expected 0"; }
assert_eq $((2 * PAIRS)) "$(grep -cE ' ok$' "$OUT")" "ok lines"
log "audit of $((2 * PAIRS)) interfaces (medic's roots): $ms_audit2 ms"
if [ $have_strace = 1 ]; then
        run_capture medic_traced "$T/trace.audit2" audit
        assert_eq 0 "$RC" "exit of the traced audit after apply"
        assert_eq 1 "$(requests "$T/trace.audit2" RTM_GETQDISC NLM_F_DUMP)" "RTM_GETQDISC dumps in audit after apply"
        # The kernel dumps classes and filters per device: one each per classful root.
        assert_eq $((2 * PAIRS)) "$(requests "$T/trace.audit2" RTM_GETTCLASS NLM_F_DUMP)" "RTM_GETTCLASS dumps (one per classful root)"
        assert_eq $((2 * PAIRS)) "$(requests "$T/trace.audit2" RTM_GETTFILTER NLM_F_DUMP)" "RTM_GETTFILTER dumps (one per classful root)"
        assert_eq 0 "$(grep -cE 'nlmsg_type=RTM_(NEW|DEL)' "$T/trace.audit2" || true)" "writes by audit"
        log "audit requests after apply: $(grep -o 'nlmsg_type=RTM_[A-Z]*' "$T/trace.audit2" | sort | uniq -c | tr -s ' \n' ' ')"
fi

step "apply again: nothing to do"
expect_rc 0 medic_ns apply
assert_change_sets 1

step "rollback: exit 2, every qdisc in the namespace exactly as before"
timed ms_rollback medic_ns rollback
[ "$RC" = 2 ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "rollback: exit $RC, expected 2"; }
assert_eq $((2 * PAIRS)) "$(grep -cE '^peer first +v[ab][0-9]+ +.* → kernel default \(noqueue\) +restored$' "$OUT")" "restored lines"
log "rollback over $((2 * PAIRS)) interfaces: $ms_rollback ms"
assert_eq "$before_qdiscs" "$(tc -n "$NS" -d qdisc show)" "tc -d qdisc show (every interface) after rollback"
assert_eq "" "$(batch_show class)" "classes left after rollback"
assert_eq "" "$(batch_show filter)" "filters left after rollback"

if [ $have_strace = 1 ]; then
        step "apply and rollback under strace: request counts (printed, not asserted)"
        run_capture medic_traced "$T/trace.apply" apply
        assert_eq 2 "$RC" "exit of the traced apply"
        log "apply requests: $(grep -o 'nlmsg_type=RTM_[A-Z]*' "$T/trace.apply" | sort | uniq -c | tr -s ' \n' ' ')"
        run_capture medic_traced "$T/trace.rollback" rollback
        assert_eq 2 "$RC" "exit of the traced rollback"
        log "rollback requests: $(grep -o 'nlmsg_type=RTM_[A-Z]*' "$T/trace.rollback" | sort | uniq -c | tr -s ' \n' ' ')"
        assert_eq "$before_qdiscs" "$(tc -n "$NS" -d qdisc show)" "tc -d qdisc show after the traced rollback"
fi
log "timings over $((2 * PAIRS)) interfaces: audit ${ms_audit} ms, apply ${ms_apply} ms, audit (medic roots) ${ms_audit2} ms, rollback ${ms_rollback} ms"

# ---- interface: auto ---------------------------------------------------------------------
step "interface: auto: the default route's interface (lowest metric), nothing else"
new_netns; NS_GW=$NS
new_netns; NS_AUTO=$NS
ip -n "$NS_AUTO" link add up0 type veth peer name gw0 netns "$NS_GW"
ip -n "$NS_AUTO" link add side0 type veth peer name side1
for d in up0 side0 side1 lo; do ip -n "$NS_AUTO" link set "$d" up; done
ip -n "$NS_GW" link set gw0 up
ip -n "$NS_AUTO" addr add 10.88.0.1/24 dev up0
ip -n "$NS_AUTO" addr add 10.99.0.1/24 dev side0
ip -n "$NS_AUTO" addr add fd99::1/64 dev side0 nodad
ip -n "$NS_AUTO" route add default via 10.99.0.2 metric 50
ip -n "$NS_AUTO" route add default via 10.88.0.2 metric 10
sed 's/interface: all/interface: auto/' "$POLICY" >"$T/auto.yaml"
write_policy "$POLICY" <"$T/auto.yaml"
# A fresh state directory: the sets above are another story.
STATE=$T/state-auto
mkdir -m 0700 "$STATE"
auto_qdiscs() { local d; for d in "$@"; do printf '%s: %s\n' "$d" "$(tc -n "$NS_AUTO" -d qdisc show dev "$d")"; done; }
auto_before=$(auto_qdiscs up0 side0 side1 lo)
gw_before=$(tc -n "$NS_GW" -d qdisc show)
expect_rc 2 medic_ns audit
assert_eq 1 "$(grep -c '^peer first ' "$OUT")" "items of interface: auto"
assert_match "$OUT" '^peer first +up0 +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +drift$'
expect_rc 2 medic_ns apply
grep -qE "^qdisc $AUTO 1: root " <<<"$(tc -n "$NS_AUTO" qdisc show dev up0)" || fail "up0 (default route) has no medic root: $(tc -n "$NS_AUTO" qdisc show dev up0)"
assert_eq "$(grep -v '^up0: ' <<<"$auto_before")" "$(auto_qdiscs side0 side1 lo)" "side0, side1 and lo after apply"
assert_eq "$gw_before" "$(tc -n "$NS_GW" -d qdisc show)" "the gateway namespace after apply"
expect_rc 2 medic_ns rollback
assert_eq "$auto_before" "$(auto_qdiscs up0 side0 side1 lo)" "namespace after rollback"

step "interface: auto with only an IPv6 default route: its interface"
ip -n "$NS_AUTO" route del default via 10.88.0.2
ip -n "$NS_AUTO" route del default via 10.99.0.2
ip -n "$NS_AUTO" -6 route add default via fd99::2 dev side0
expect_rc 2 medic_ns audit
assert_match "$OUT" '^peer first +side0 +kernel default \(noqueue\) → auto: peer 2380 > client 2379 > rest +drift$'

step "interface: auto without a default route: a finding, apply skips it and changes nothing"
ip -n "$NS_AUTO" -6 route del default via fd99::2 dev side0
expect_rc 2 medic_ns audit
assert_match "$OUT" 'drift: auto: this host has no default route$'
expect_rc 0 medic_ns apply
assert_match "$OUT" 'skipped: auto: this host has no default route$'
assert_eq "$auto_before" "$(auto_qdiscs up0 side0 side1 lo)" "namespace after apply without a default route"
