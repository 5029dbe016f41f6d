#!/bin/bash
# Roots that are not medic's, checked with tc:
# 1. someone changes medic's structure after apply (replaces the root, adds a filter,
#    changes a class, hangs a qdisc under a class, deletes a filter): rollback reports a
#    conflict (exit 4), leaves the foreign state exactly as it is; --force restores the
#    kernel default.
# 2. a root medic cannot rebuild (an htb with its own classes and filters, someone's htb 1:,
#    pfifo_fast with a handle, a tbf with a qdisc below it, sfq/fq_codel where the kernel
#    has them): audit says so in a note, apply refuses the item (exit 4) and leaves the root
#    exactly as it was; with replace-foreign: true apply replaces it, and rollback gives the
#    kernel default back and says the old root could not be rebuilt.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
tc_setup vt0
cp "$POLICY" "$T/plain.yaml"
sed 's/^      interface: vt0$/      interface: vt0\n      replace-foreign: true/' "$T/plain.yaml" | write_policy "$T/replace.yaml"
grep -q 'replace-foreign: true' "$T/replace.yaml" || fail "could not write the replace-foreign policy"
tc_veth_up

tc_auto_backend
snapshot() { tc_snapshot "$NS" vt0; }
tcq() { tc -n "$NS" "$@"; }
default_root=$(snapshot)
assert_eq "qdisc noqueue 0: root refcnt 2 " "$default_root" "vt0 at the start"
peer=$(tc -n "$NS" -d qdisc show dev vt1)

# ---- 1. foreign changes after apply -----------------------------------------------------
conflict_case() { # WHAT CMD...: apply, CMD changes medic's structure, rollback must refuse.
        local what=$1 changed sets
        shift
        step "after apply, $what: rollback is a conflict and leaves it"
        expect_rc 2 medic_ns apply
        tc_assert_auto_root "$NS" vt0
        "$@"
        changed=$(snapshot)
        expect_rc 2 medic_ns audit
        assert_match "$OUT" '^peer first +vt0 +[a-z_]+ [0-9a-f]+: .* → auto: peer 2380 > client 2379 > rest +drift$'
        sets=$(change_set_ids)
        expect_rc 4 medic_ns rollback
        assert_match "$OUT" "^peer first +vt0 .* → kernel default \\(noqueue\\) +conflict: changed since change set [0-9]+ set $AUTO_SHOWN: 2380 > 2379 > rest: left alone \\(--force restores it anyway\\)\$"
        assert_eq "$changed" "$(snapshot)" "vt0 after the refused rollback"
        expect_rc 4 medic_ns rollback --dry-run
        assert_eq "$changed" "$(snapshot)" "vt0 after rollback --dry-run"
        step "rollback --force: the kernel default, exit 2"
        expect_rc 2 medic_ns rollback --force
        assert_match "$OUT" '^peer first +vt0 .* → kernel default \(noqueue\) +restored$'
        assert_eq "$default_root" "$(snapshot)" "vt0 after rollback --force"
        assert_eq "$peer" "$(tc -n "$NS" -d qdisc show dev vt1)" "vt1"
        [ "$(change_set_ids)" != "$sets" ] || fail "rollback --force wrote no change set"
}

conflict_case "the root is replaced by a tbf" \
        tcq qdisc replace dev vt0 root handle 5: tbf rate 1mbit burst 32kb latency 400ms
conflict_case "a foreign filter is added to medic's root" \
        tcq filter add dev vt0 parent 1: protocol ip pref 5 u32 match ip dport 22 0xffff flowid 1:1
if [ $AUTO = htb ]; then
        conflict_case "a class's rate is changed" \
                tcq class change dev vt0 parent 1:100 classid 1:1 htb rate 1mbit ceil 10gbit prio 0 quantum 1514
else # a prio class has no parameters; its qdisc's priomap does
        conflict_case "the priomap is changed" \
                tcq qdisc change dev vt0 root handle 1: prio bands 3 priomap 1 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2
fi
conflict_case "a qdisc is hung under class 1:3" \
        tcq qdisc add dev vt0 parent 1:3 handle 30: pfifo limit 10
conflict_case "medic's IPv6 filters are deleted" \
        tcq filter del dev vt0 parent 1: protocol ipv6 pref 2 u32

step "after apply, the root is deleted: rollback has nothing to undo there (exit 0)"
expect_rc 2 medic_ns apply
tcq qdisc del dev vt0 root
expect_rc 2 medic_ns audit
expect_rc 0 medic_ns rollback
assert_match "$OUT" '^peer first +vt0 +kernel default \(noqueue\) → kernel default \(noqueue\) +ok: already as before$'
assert_eq "$default_root" "$(snapshot)" "vt0 after rolling back a set whose root someone deleted"

# ---- 2. roots medic cannot rebuild --------------------------------------------------------
foreign_case() { # WHAT SETUP-CMDS (eval'd): apply refuses, replace-foreign replaces.
        local what=$1 build=$2 before
        step "a root medic cannot rebuild: $what"
        eval "$build"
        before=$(snapshot)
        cp "$T/plain.yaml" "$POLICY"
        expect_rc 2 medic_ns audit
        assert_match "$OUT" "^    note: the root qdisc .* is not medic's \(.*\): apply refuses this interface unless replace-foreign: true\$"
        assert_eq "$before" "$(snapshot)" "vt0 after audit"
        local sets
        sets=$(change_set_ids)
        expect_rc 4 medic_ns apply
        assert_match "$OUT" "^peer first +vt0 +.* +failed: vt0: the root qdisc .* is not medic's and medic could not give it back on rollback \(.*\); set replace-foreign: true to replace it anyway\$"
        assert_eq "$before" "$(snapshot)" "vt0 after the refused apply"
        local id
        id=$(change_set_ids | awk '{ print $NF }')
        if [ "$(change_set_ids)" != "$sets" ]; then
                assert_set_state "$id" failed
        fi

        cp "$T/replace.yaml" "$POLICY"
        expect_rc 2 medic_ns audit
        assert_match "$OUT" "^    note: the root qdisc .* is not medic's \(.*\): replace-foreign is set, so apply replaces it and rollback leaves the kernel default\$"
        assert_eq "$before" "$(snapshot)" "vt0 after audit with replace-foreign"
        expect_rc 2 medic_ns apply
        assert_match "$OUT" '^peer first +vt0 +.* → auto: peer 2380 > client 2379 > rest +changed$'
        tc_assert_auto_root "$NS" vt0
        assert_eq 1 "$(tcq qdisc show dev vt0 | wc -l)" "qdiscs on vt0 after replace-foreign"
        expect_rc 0 medic_ns audit
        # The old root is gone for good: rollback leaves the kernel default and says so.
        expect_rc 4 medic_ns rollback
        assert_contains "$OUT" "cannot be rebuilt"
        assert_contains "$OUT" "medic removed its own root and the kernel default is back"
        assert_eq "$default_root" "$(snapshot)" "vt0 after rolling back a replace-foreign apply"
        assert_eq "$peer" "$(tc -n "$NS" -d qdisc show dev vt1)" "vt1"
        cp "$T/plain.yaml" "$POLICY"
}

foreign_case "someone's htb 7: with a class and a filter" \
        'tcq qdisc add dev vt0 root handle 7: htb default 20
         tcq class add dev vt0 parent 7: classid 7:20 htb rate 5mbit
         tcq filter add dev vt0 parent 7: protocol ip pref 3 u32 match ip dport 80 0xffff flowid 7:20'
foreign_case "someone's htb 1: (medic's handle) with one class" \
        'tcq qdisc add dev vt0 root handle 1: htb default 3
         tcq class add dev vt0 parent 1: classid 1:3 htb rate 5mbit'
foreign_case "pfifo_fast with a handle" \
        'tcq qdisc add dev vt0 root handle 2: pfifo_fast'
foreign_case "a tbf with a qdisc below it" \
        'tcq qdisc add dev vt0 root handle 5: tbf rate 1mbit burst 32kb latency 400ms
         tcq qdisc add dev vt0 parent 5:1 handle 10: pfifo limit 10'
for q in "sfq perturb 10" "fq_codel"; do
        if ip netns exec "$NS" tc qdisc add dev vt1 root handle 3: $q 2>/dev/null; then
                tcq qdisc del dev vt1 root
                foreign_case "$q with a handle" "tcq qdisc add dev vt0 root handle 3: $q"
        else
                log "skipped: this kernel has no ${q%% *} qdisc"
        fi
done
