#!/bin/bash
# Two actions reach one interface only at run time: `interface: all` and `interface: vt0`.
# Wanting the same structure, the second is one item ("also set by"); wanting different
# bands, both audit and apply fail that interface as a conflict, and apply changes nothing
# anywhere (checked with tc) instead of letting the order of the actions decide.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tc-lib.sh"
setup - <<'YAML'
medic: 1
name: tp
actions:
  - name: everywhere
    traffic-priority:
      interface: all
      bands: [{name: peer, ports: [2380]}, {name: client, ports: [2379]}]
  - name: vt0 too
    traffic-priority:
      interface: vt0
      bands: [{name: peer, ports: [2380]}, {name: client, ports: [2379]}]
YAML
ip -n "$NS" link add vt0 type veth peer name vt1
ip -n "$NS" link set vt0 up
ip -n "$NS" link set vt1 up
tc_auto_backend
before0=$(tc_snapshot "$NS" vt0)
before1=$(tc_snapshot "$NS" vt1)

step "the same bands twice: one item, the second row says so"
expect_rc 2 medic_ns audit
assert_contains "$OUT" "also set by action 'everywhere'"
expect_rc 2 medic_ns apply
tc_assert_auto_root "$NS" vt0
expect_rc 2 medic_ns rollback
assert_eq "$before0" "$(tc_snapshot "$NS" vt0)" "vt0 after rollback"
assert_eq "$before1" "$(tc_snapshot "$NS" vt1)" "vt1 after rollback"

step "different bands: a conflict on vt0, and apply changes nothing"
write_policy "$POLICY" <<'YAML'
medic: 1
name: tp
actions:
  - name: everywhere
    traffic-priority:
      interface: all
      bands: [{name: peer, ports: [2380]}, {name: client, ports: [2379]}]
  - name: vt0 too
    traffic-priority:
      interface: vt0
      bands: [{name: peer, ports: [2379]}]
YAML
# Exit codes add up (DESIGN §3): audit finds drift on vt1 (2) and the conflict on vt0 fails
# (4); apply, refusing the whole set, only fails.
expect_rc 6 medic_ns audit
assert_contains "$OUT" "action 'everywhere' wants auto: peer 2380 > client 2379 > rest here: two actions disagree, fix the policy"
expect_rc 4 medic_ns apply
assert_contains "$OUT" "two actions disagree"
assert_eq "$before0" "$(tc_snapshot "$NS" vt0)" "vt0 after the refused apply"
assert_eq "$before1" "$(tc_snapshot "$NS" vt1)" "vt1 after the refused apply"
