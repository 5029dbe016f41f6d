#!/bin/bash
# A netlink send or receive that fails (ENOBUFS, injected with strace at each call of an
# apply in turn; traffic-priority on rtnetlink, then nic-offload on the ethtool family)
# must not desynchronise medic: the failed request's reply may still be
# queued, and a read-back that takes it for its own skipped the undo and left the HTB
# root in place while the journal said "restored". After every injected error the
# interface must be exactly before (exit 4) or exactly after (exit 2), and medic must not
# hang (every netlink wait is bounded).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
command -v strace >/dev/null || skip "needs strace"
tc_setup_vt0

before=$(tc_snapshot "$NS" vt0)
expect_rc 2 medic_ns apply
after=$(tc_snapshot "$NS" vt0)
tc -n "$NS" qdisc del dev vt0 root
rm -rf "$STATE" && mkdir -m 0700 "$STATE"

# inject SYSCALL N: apply with the Nth call of SYSCALL failing with ENOBUFS.
inject() {
        timeout 60 ip netns exec "$NS" strace -f -qq -o /dev/null -e trace="$1" -e inject="$1":error=ENOBUFS:when="$2" \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" apply
}

# The calls one clean apply makes.
calls() {
        { ip netns exec "$NS" strace -f -qq -c -e trace="$1" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" \
                --audit-log "$AUDIT" apply 2>&1 >/dev/null || true; } | awk -v s="$1" '$NF == s { print $4 }'
}

# sweep SNAPSHOT_FN: every sendmsg and recvmsg of an apply in turn.
sweep() {
        local snap=$1 sc n k rc now
        for sc in sendmsg recvmsg; do
                n=$(calls "$sc")
                undo
                rm -rf "$STATE" && mkdir -m 0700 "$STATE"
                [ -n "$n" ] && [ "$n" -gt 0 ] || fail "no $sc calls counted"
                for k in $(seq 1 "$n"); do
                        step "$sc #$k of $n fails with ENOBUFS"
                        rc=0
                        inject "$sc" "$k" >"$T/out" 2>&1 || rc=$?
                        now=$($snap)
                        tried=$((tried + 1))
                        case $rc in
                        2) [ "$now" = "$after" ] && held=$((held + 1)) || soft_fail "$sc #$k: exit 2 but vt0 is not as after: $(head -n 3 <<<"$now" | tr '\n' ' ')" ;;
                        4) [ "$now" = "$before" ] && held=$((held + 1)) || soft_fail "$sc #$k: exit 4 but vt0 is not as before: $(head -n 3 <<<"$now" | tr '\n' ' ') — $(head -n 2 "$T/out" | tr '\n' ' ')" ;;
                        124) soft_fail "$sc #$k: medic hung (timeout)" ;;
                        *) soft_fail "$sc #$k: exit $rc: $(head -n 2 "$T/out" | tr '\n' ' ')" ;;
                        esac
                        undo
                        rm -rf "$STATE" && mkdir -m 0700 "$STATE"
                done
        done
}

tried=0 held=0
undo() { tc -n "$NS" qdisc del dev vt0 root 2>/dev/null || true; }
tc_now() { tc_snapshot "$NS" vt0; }
sweep tc_now
log "traffic-priority: $held of $tried injection points left vt0 exactly before or after"

if command -v ethtool >/dev/null; then
        write_policy "$POLICY" <<'YAML'
medic: 1
name: offload
actions:
  - name: checksums off
    nic-offload:
      interface: vt0
      features: {tx-checksumming: off}
YAML
        offloads() { ip netns exec "$NS" ethtool -k vt0; }
        undo() { ip netns exec "$NS" ethtool -K vt0 tx on tso on gso on 2>/dev/null || true; ip netns exec "$NS" ethtool -K vt0 tx on 2>/dev/null || true; }
        undo
        before=$(offloads)
        expect_rc 2 medic_ns apply
        after=$(offloads)
        [ "$before" != "$after" ] || fail "nic-offload changed nothing"
        undo
        [ "$before" = "$(offloads)" ] || fail "cannot put vt0's offloads back by hand"
        rm -rf "$STATE" && mkdir -m 0700 "$STATE"
        tried=0 held=0
        sweep offloads
        log "nic-offload: $held of $tried injection points left vt0 exactly before or after"
fi
