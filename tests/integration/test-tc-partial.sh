#!/bin/bash
# A medic killed inside an HTB build (qdisc, 4 classes, 10 u32 filters) or inside a
# rollback that re-creates a previous root leaves exactly one of a few states. Each is
# built here with tc (medic's own root, then taken apart from the end, as a kill leaves
# it), and traffic-priority must (1) call it in between before and after, (2) restore it
# to before exactly, compared with tc -d qdisc/class/filter show. Someone else's root is
# never in between. The driver is build/test/tests/test-tc-partial (make unit builds it): it
# calls the kind's read, in_between, restore and read-back as recovery does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
driver=$(cd "$(dirname "$0")/../.." && pwd)/build/test/tests/test-tc-partial
[ -x "$driver" ] || skip "needs $driver (make unit builds it)"
tc_setup_vt0
# The states are an HTB build's: ask for HTB, which every kernel builds (backend: auto
# builds prio where the kernel has sch_prio, Debian's 6.1).
sed -i 's/^      rate: 1gbit$/&\n      backend: htb/' "$POLICY"
grep -q '^      backend: htb$' "$POLICY" || fail "internal: the policy did not get backend: htb"

# htb's direct_packets_stat counts packets the kernel itself sends through the root (an
# IPv6 router solicitation on a veth that just came up): a counter, not configuration.
snapshot() { tc_snapshot "$NS" vt0 | sed 's/ direct_packets_stat [0-9]*//'; }
drv() { ip netns exec "$NS" "$driver" "$@"; }
tcq() { tc -n "$NS" "$@"; }
# What apply records as after for this policy (the want: backend htb, 1gbit).
AFTER='{"interface":"vt0","root":"medic","kind":"","handle":0,"backend":"htb","bands":[{"name":"peer","ports":[2380]},{"name":"client","ports":[2379]}],"rate":125000000}'

# medic's full root, built by medic itself (then the policy's set is forgotten: these
# tests call the kind directly).
medic_root() {
        expect_rc 2 medic_ns apply
        rm -rf "$STATE" && mkdir -m 0700 "$STATE"
}

# Take medic's root apart from the end of its build sequence. The kernel numbers the
# nodes in add order: 10::800/801 = 2380 src/dst, 10::802/803 = 2379, 800::800 = the
# link into 10:, pref 2 = every IPv6 node.
no_v6() { tcq filter del dev vt0 parent 1: protocol ipv6 pref 2; }
no_link() { tcq filter del dev vt0 parent 1: protocol ip pref 1 handle 800::800 u32; }
no_client_v4() {
        tcq filter del dev vt0 parent 1: protocol ip pref 1 handle 10::803 u32
        tcq filter del dev vt0 parent 1: protocol ip pref 1 handle 10::802 u32
}
no_filters() { no_v6; tcq filter del dev vt0 parent 1: protocol ip pref 1; }
no_classes_after() { # no_classes_after N: keep 1:100 and classes 1:1..1:N
        local i
        for i in 3 2 1; do [ "$i" -gt "$1" ] && tcq class del dev vt0 classid "1:$i"; done
        return 0
}

# partial NAME: medic's root stopped at one point of its build.
partial() {
        medic_root
        case $1 in
        qdisc-only) no_filters; no_classes_after 0; tcq class del dev vt0 classid 1:100 ;;
        2-of-4-classes) no_filters; no_classes_after 1 ;;
        classes-no-filters) no_filters ;;
        3-of-10-filters) no_v6; no_link; no_client_v4 ;;
        ipv4-only) no_v6 ;;
        esac
}

# recover_to BEFORE_JSON AFTER_JSON WANT_SNAPSHOT WHAT
recover_to() {
        local out=$T/driver.out rc=0
        drv recover vt0 "$1" "$2" >"$out" 2>&1 || rc=$?
        if [ $rc != 0 ]; then
                soft_fail "$4: driver exit $rc: $(tr '\n' ' ' <"$out")"
                return 0
        fi
        assert_contains "$out" "in between: yes" "$4"
        assert_contains "$out" "restored" "$4"
        [ "$3" = "$(snapshot)" ] ||
                soft_fail "$4: not back to before: $( { diff <(echo "$3") <(snapshot) || true; } | grep '^[<>]' | head -n 8 | tr '\n' ' ')"
}

for prev in "" "handle 5: tbf rate 1mbit burst 32kb latency 400ms" "handle 1: tbf rate 1mbit burst 32kb latency 400ms"; do
        tcq qdisc del dev vt0 root 2>/dev/null || true
        # shellcheck disable=SC2086
        [ -n "$prev" ] && tcq qdisc add dev vt0 root $prev
        before_snap=$(snapshot)
        BEFORE=$(drv read vt0)
        for p in qdisc-only 2-of-4-classes classes-no-filters 3-of-10-filters ipv4-only; do
                step "apply over '${prev:-the kernel default}' killed at $p: restored to before"
                partial "$p"
                recover_to "$BEFORE" "$AFTER" "$before_snap" "$p over '${prev:-default}'"
        done
done

step "apply over tbf 1: killed after it deleted the tbf (same handle): the tbf comes back"
tcq qdisc del dev vt0 root 2>/dev/null || true
tcq qdisc add dev vt0 root handle 1: tbf rate 1mbit burst 32kb latency 400ms
tbf_snap=$(snapshot)
TBF1=$(drv read vt0)
tcq qdisc del dev vt0 root
recover_to "$TBF1" "$AFTER" "$tbf_snap" "default between tbf 1: and medic"

step "a rollback re-creating tbf 1: killed after it deleted medic's root: medic's root comes back"
medic_root
medic_snap=$(snapshot)
MEDIC=$(drv read vt0)
tcq qdisc del dev vt0 root
recover_to "$MEDIC" "$TBF1" "$medic_snap" "rollback to tbf 1: killed half way"

step "a rollback to the kernel default killed inside an earlier build: medic's partial root goes"
tcq qdisc del dev vt0 root
default_snap=$(snapshot)
partial 2-of-4-classes
recover_to '{"interface":"vt0","root":"default","handle":0}' "$MEDIC" "$default_snap" "partial toward default"

step "someone else's roots are not in between: left alone"
tcq qdisc del dev vt0 root 2>/dev/null || true
DEFAULT=$(drv read vt0)
foreign=(
        "tcq qdisc add dev vt0 root handle 1: htb default 3; tcq class add dev vt0 parent 1: classid 1:100 htb rate 1mbit"
        "tcq qdisc add dev vt0 root handle 5: htb default 3"
        "tcq qdisc add dev vt0 root handle 1: htb default 9"
        "partial 3-of-10-filters; tcq filter add dev vt0 parent 1: protocol ip pref 7 u32 match ip dport 22 0xffff flowid 1:3"
        "partial classes-no-filters; tcq class change dev vt0 parent 1:100 classid 1:1 htb rate 1mbit ceil 1gbit prio 0 quantum 1514"
        "partial 2-of-4-classes; tcq class change dev vt0 parent 1:100 classid 1:1 htb rate 333333328bit ceil 1gbit burst 8000 cburst 126514 prio 0 quantum 1514"
        # A port node of medic's shape, but for TCP source port 0, which no policy names.
        "partial ipv4-only; tcq filter del dev vt0 parent 1: protocol ip pref 1 handle 10::800 u32; tcq filter add dev vt0 parent 1: protocol ip pref 1 handle 10::800 u32 ht 10: match u32 0 0xffff0000 at nexthdr+0 flowid 1:1"
)
for f in "${foreign[@]}"; do
        tcq qdisc del dev vt0 root 2>/dev/null || true
        eval "$f" >/dev/null
        snap=$(snapshot)
        rc=0
        drv recover vt0 "$DEFAULT" "$AFTER" >"$T/driver.out" 2>&1 || rc=$?
        [ $rc = 3 ] || soft_fail "'$f': driver exit $rc, expected 3 (not in between): $(tr '\n' ' ' <"$T/driver.out")"
        assert_contains "$T/driver.out" "in between: no" "$f"
        # Not even read as medic's own root left part way (whose state the journal keeps).
        assert_not_contains "$T/driver.out" "partly built" "$f"
        [ "$snap" = "$(snapshot)" ] || soft_fail "'$f': the root changed"
done

step "apply refuses a partial root no change set records; audit names it"
tcq qdisc del dev vt0 root 2>/dev/null || true
partial 2-of-4-classes
snap=$(snapshot)
expect_rc 2 medic_ns audit
assert_match "$OUT" "^peer first +vt0 +htb 1: partly built \\(2 of 4 classes, 0 filter lines\\) → .* drift\$"
expect_rc 4 medic_ns apply
cat "$OUT" "$ERR" >"$T/apply.all"
assert_contains "$T/apply.all" "no interrupted change set of this host records it; set replace-foreign: true"
[ "$snap" = "$(snapshot)" ] || fail "apply changed a partial root it refused"
