#!/bin/bash
# nic-offload with `interface: all` over 200 veth interfaces in a test namespace: one
# FEATURES_GET dump answers the audit; apply changes every interface, rollback restores every
# one, each checked with `ethtool -k`. Prints the wall times of audit and apply (the issue's
# figures); fails only when they are far off (a request per interface per item, or worse).
. "$(dirname "$0")/lib.sh"
command -v ethtool >/dev/null || skip "needs ethtool (to check medic with an independent tool)"
setup - <<'EOF'
medic: 1
name: offload
actions:
  - name: NIC checksum offload off
    nic-offload:
      interface: all
      features: {tx-checksumming: off, rx-checksumming: off}
EOF

PAIRS=100
{
        for i in $(seq 0 $((PAIRS - 1))); do
                echo "link add a$i type veth peer name b$i"
        done
        for i in $(seq 0 $((PAIRS - 1))); do
                echo "link set a$i up"
                echo "link set b$i up"
        done
} >"$T/batch"
ip -n "$NS" -batch "$T/batch"
# One interface down: `all` means the interfaces that are up.
ip -n "$NS" link set b$((PAIRS - 1)) down

# The features of every interface as `ethtool -k` prints them, one file per interface.
snapshot() {
        local dir=$1 i
        mkdir -p "$dir"
        for i in $(seq 0 $((PAIRS - 1))); do
                ip netns exec "$NS" ethtool -k "a$i" >"$dir/a$i"
                ip netns exec "$NS" ethtool -k "b$i" >"$dir/b$i"
        done
}
snapshot "$T/before"

timed() {
        local t0 t1
        t0=$(now_ms)
        expect_rc "$@"
        t1=$(now_ms)
        ELAPSED=$((t1 - t0))
}

step "audit: one drift line per interface that is up (199)"
timed 2 medic_ns audit
audit_ms=$ELAPSED
assert_eq 199 "$(grep -c ' drift$' "$OUT")" "drift lines"
assert_not_contains "$OUT" "b$((PAIRS - 1)) offload"

step "apply: every interface that is up, checked with ethtool -k"
timed 2 medic_ns apply
apply_ms=$ELAPSED
assert_eq 199 "$(grep -c ' changed$' "$OUT")" "changed lines"
for i in 0 $((PAIRS / 2)) $((PAIRS - 1)); do
        ip netns exec "$NS" ethtool -k "a$i" | grep -qx 'tx-checksumming: off' || fail "a$i: tx-checksumming is not off"
        ip netns exec "$NS" ethtool -k "a$i" | grep -qx 'rx-checksumming: off' || fail "a$i: rx-checksumming is not off"
done
ip netns exec "$NS" ethtool -k "b$((PAIRS - 1))" | grep -qx 'tx-checksumming: on' || fail "the interface that is down was changed"
n_off=0
for i in $(seq 0 $((PAIRS - 2))); do
        for d in a b; do
                ip netns exec "$NS" ethtool -k "$d$i" | grep -qx 'tx-checksumming: off' && n_off=$((n_off + 1))
        done
done
assert_eq $((2 * (PAIRS - 1))) "$n_off" "interfaces with tx-checksumming off (all up but a$((PAIRS - 1)))"

step "audit after apply: compliant"
timed 0 medic_ns audit
audit2_ms=$ELAPSED

step "rollback: every interface reads as before"
timed 2 medic_ns rollback
rollback_ms=$ELAPSED
snapshot "$T/after"
diff -r "$T/before" "$T/after" >&2 || fail "ethtool -k differs after rollback"

log "figures (200 veths, $MEDIC_BIN): audit ${audit_ms} ms, apply ${apply_ms} ms, audit after ${audit2_ms} ms, rollback ${rollback_ms} ms"
# Far off, not a benchmark: a sanitizer build and a loaded CI host are slower.
[ "$audit_ms" -lt 3000 ] || fail "audit of 200 interfaces took ${audit_ms} ms"
