#!/bin/bash
# HTB's bursts are kept in packet scheduler ticks, whose length is in /proc/net/psched.
# libnl, left to itself, silently used 1 tick per microsecond when it could not open the
# file (bursts 15.6 times too small, and its own read-back agreed), or called exit(1)
# between the qdisc and its classes. medic reads the clock itself before the first change:
# if it cannot, the item fails with the reason and nothing changes; audit does not call
# an HTB root it cannot check "ok". The open is failed with strace -P (only that path).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
command -v strace >/dev/null || skip "needs strace"
tc_setup_vt0

# no_clock medic ARGS: medic with every open of /proc/net/psched failing.
no_clock() {
        ip netns exec "$NS" strace -f -qq -o /dev/null -P /proc/net/psched -e trace=openat,open \
                -e inject=openat,open:error=EACCES \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}

step "apply without the scheduler clock: the item fails before any change"
before=$(tc_snapshot "$NS" vt0)
expect_rc 4 no_clock apply
assert_match "$OUT" "^peer first +vt0 .* failed: reading /proc/net/psched: Permission denied: without the kernel's packet scheduler clock medic cannot set or check HTB bursts\$"
assert_eq "$before" "$(tc_snapshot "$NS" vt0)" "vt0 after a refused apply"

# backend: auto needs the clock too (above), since it may fall back to HTB; it builds prio
# where the kernel has sch_prio (Debian's 6.1). The bursts are HTB's: ask for HTB, which
# every kernel builds.
sed -i 's/^      rate: 1gbit$/&\n      backend: htb/' "$POLICY"
grep -q '^      backend: htb$' "$POLICY" || fail "internal: the policy did not get backend: htb"

step "with the clock: apply, and every class carries medic's burst, cburst and quantum"
expect_rc 2 medic_ns apply
c=$(tc -n "$NS" -d class show dev vt0)
grep -qE "^class htb 1:1 parent 1:100 prio 0 quantum 1514 rate 333333Kbit ceil 1Gbit linklayer ethernet burst 43124b/1 mpu 0b cburst 126375b/1 " <<<"$c" ||
        fail "class 1:1 is not medic's: $c"
expect_rc 0 medic_ns audit

step "audit without the clock cannot check the bursts: not ok"
run_capture no_clock audit
[ "$RC" = 4 ] || [ "$RC" = 2 ] || fail "audit without the clock: exit $RC, expected 2 or 4"
assert_contains "$OUT" "reading /proc/net/psched: Permission denied"

step "a class whose burst is not medic's is drift, not ok"
tc -n "$NS" class change dev vt0 parent 1:100 classid 1:2 htb rate 333333328bit ceil 1gbit burst 8000 cburst 126514 prio 1 quantum 1514
expect_rc 2 medic_ns audit
assert_contains "$OUT" "class 1:2 burst of"

step "the same class written by tc with medic's bytes (as libnl and tc compute ticks) is medic's again"
tc -n "$NS" class change dev vt0 parent 1:100 classid 1:2 htb rate 333333328bit ceil 1gbit burst 43180 cburst 126514 prio 1 quantum 1514
expect_rc 0 medic_ns audit
