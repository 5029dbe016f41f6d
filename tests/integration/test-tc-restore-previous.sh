#!/bin/bash
# A previous root that medic says it can rebuild (tbf, pfifo, bfifo) is replaced by apply
# and given back by rollback exactly as it was: same kind, handle and parameters, compared
# as tc -d prints them (rate, burst, peakrate, mtu, latency/limit, mpu, overhead,
# linklayer), not as medic describes them. Every root is tried in turn; each failing check
# is reported (soft_fail) so that one run shows every divergence.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup vt0
tc_veth_up

tc_auto_backend
snapshot() { tc_snapshot "$NS" vt0; }

# Roots a node may carry before medic arrives; the first is the one etcd guides show.
roots=(
        "handle 5: tbf rate 1mbit burst 32kb latency 400ms"
        "handle 6: tbf rate 100mbit burst 64kb latency 50ms"
        "handle 7: tbf rate 1gbit burst 256kb latency 50ms"
        "handle c: tbf rate 40gbit burst 4mb latency 10ms"
        "handle 8: tbf rate 1mbit burst 32kb limit 10000 peakrate 2mbit mtu 2000"
        "handle 9: tbf rate 1mbit burst 32kb latency 400ms overhead 20 mpu 64 linklayer atm"
        "handle 1: tbf rate 1mbit burst 32kb latency 400ms"
        "handle a: pfifo limit 50"
        "handle b: bfifo limit 5000"
)
ok=0
for root in "${roots[@]}"; do
        step "previous root: $root"
        # shellcheck disable=SC2086
        tc -n "$NS" qdisc add dev vt0 root $root
        before=$(snapshot)
        kind=$(awk '{ print $2 }' <<<"$before")
        handle=$(awk '{ print $3 }' <<<"$before")

        expect_rc 2 medic_ns audit
        assert_contains "$OUT" "note: the root qdisc $kind $handle is not medic's; rollback re-creates it as it is now"
        assert_eq "$before" "$(snapshot)" "vt0 after audit"

        expect_rc 2 medic_ns apply
        assert_match "$OUT" "^peer first +vt0 +$kind $handle .* → auto: peer 2380 > client 2379 > rest +changed\$"
        tc_assert_auto_root "$NS" vt0
        [ "$(tc -n "$NS" qdisc show dev vt0 | wc -l)" = 1 ] || fail "more than medic's root on vt0: $(tc -n "$NS" qdisc show dev vt0)"

        run_capture medic_ns rollback
        after=$(snapshot)
        if [ "$RC" != 2 ]; then
                soft_fail "rollback over '$root': exit $RC, expected 2: $(grep -v '^ *note' "$OUT" | head -n 1)"
        elif ! grep -qE "^peer first +vt0 +$AUTO_SHOWN: 2380 > 2379 > rest → $kind $handle .* +restored\$" "$OUT"; then
                soft_fail "rollback over '$root' does not say restored: $(head -n 1 "$OUT")"
        fi
        if [ "$before" != "$after" ]; then
                soft_fail "rollback over '$root' did not give it back exactly: $( { diff <(echo "$before") <(echo "$after") || true; } | grep '^[<>]' | tr '\n' ' ')"
        else
                ok=$((ok + 1))
        fi
        tc -n "$NS" qdisc del dev vt0 root 2>/dev/null || true
done
log "$ok of ${#roots[@]} previous roots came back exactly"
