#!/bin/bash
# history lists the change set (text and --json), show has before/after for every item
# (text and --json), and --json audit prints exactly one JSON document whose exit field is
# the exit code.
. "$(dirname "$0")/lib.sh"
setup
boot=$(cat /proc/sys/kernel/random/boot_id)

step "--json audit with drift: one document on stdout, exit field 2"
expect_rc 2 medic_ns --json audit
py_assert "$OUT" 'd["exit"] == 2 and d["command"] == "audit" and d["dry_run"] is False'
assert_keepalive_items "$OUT" drift
py_assert "$OUT" 'd["summary"]["drift"] == 3 and d["summary"]["ok"] == 0 and d["policy"]["name"] == "etcd"'
assert_keepalive 7200 75 9

step "history before any change: empty"
expect_rc 0 medic_ns --json history
py_assert "$OUT" 'd["changes"] == [] and d["exit"] == 0'

step "apply, then history"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
expect_rc 0 medic_ns history
assert_match "$OUT" '^ +1 +[0-9T:.-]+Z +apply +applied +3 items +etcd$'
assert_eq 2 "$(wc -l <"$OUT" | tr -d ' ')" "history lines (header + one set)"

expect_rc 0 medic_ns --json history
py_assert "$OUT" 'len(d["changes"]) == 1 and d["exit"] == 0'
py_assert "$OUT" '{k: d["changes"][0][k] for k in ("id", "kind", "state", "items", "policy", "uid", "this_boot")} ==
    {"id": 1, "kind": "apply", "state": "applied", "items": 3, "policy": "etcd", "uid": 0, "this_boot": True}'

step "show 1: every item with before → after"
expect_rc 0 medic_ns show 1
assert_contains "$OUT" "change set 1: apply, applied"
assert_contains "$OUT" "boot     $boot (this boot)"
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_time +7200 → 600 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_intvl +75 → 60 +changed'
assert_match "$OUT" 'net\.ipv4\.tcp_keepalive_probes +9 → 5 +changed'

step "--json show 1: before/after of every item, header fields"
expect_rc 0 medic_ns --json show 1
py_assert "$OUT" 'd["exit"] == 0 and d["change"] == 1'
py_assert "$OUT" '{i["object"]: (i["before"][i["object"]], i["after"][i["object"]], i["status"], i["kind"]) for i in d["change_set"]["items"]} == {
    "net.ipv4.tcp_keepalive_time": ("7200", "600", "changed", "sysctl"),
    "net.ipv4.tcp_keepalive_intvl": ("75", "60", "changed", "sysctl"),
    "net.ipv4.tcp_keepalive_probes": ("9", "5", "changed", "sysctl")}'
# before and after are the policy's form: {key: value}, one key, the item's object.
py_assert "$OUT" 'all(list(i["before"]) == [i["object"]] == list(i["after"]) for i in d["change_set"]["items"])'
cs_boot=$(py "$OUT" 'd["change_set"]["boot_id"]')
assert_eq "$boot" "$cs_boot" "boot id recorded in change set 1"
py_assert "$OUT" 'd["change_set"]["id"] == 1 and d["change_set"]["kind"] == "apply" and d["change_set"]["state"] == "applied"'
py_assert "$OUT" 'd["change_set"]["policy"]["name"] == "etcd" and len(d["change_set"]["policy"]["sha256"]) == 64'
py_assert "$OUT" 'd["change_set"]["user"]["uid"] == 0 and d["change_set"]["command"].endswith(" apply")'
# The journal file itself says the same (show is not the only reader).
py_assert "$(journal_file 1)" '[(i["before"][i["object"]], i["after"][i["object"]]) for i in d["items"]] == [("7200", "600"), ("75", "60"), ("9", "5")]'

step "show 1 prints the before as a policy: it validates, and applying it puts every sysctl back"
expect_rc 0 medic_ns show 1
assert_contains "$OUT" "before, as a policy"
# The text after that line is the policy itself, as an operator would save it.
sed -n '/^before, as a policy/,$p' "$OUT" | tail -n +2 | write_policy "$T/before-text.yaml"
assert_contains "$T/before-text.yaml" '"net.ipv4.tcp_keepalive_time":"7200"'
expect_rc 0 medic_ns --json show 1
py "$OUT" 'd["before_policy"]' | write_policy "$T/before.yaml"
assert_eq "$(cat "$T/before-text.yaml")" "$(cat "$T/before.yaml")" "the text and --json forms of the before policy"
POLICY=$T/before.yaml expect_rc 0 medic_ns validate
assert_contains "$OUT" "valid (3 actions"
POLICY=$T/before.yaml expect_rc 0 medic_ns --json validate
py_assert "$OUT" 'sorted((a["name"], a["sysctl"]) for a in d["normalised"]["actions"]) == [
    ("faster dead-peer detection (item 1)", {"net.ipv4.tcp_keepalive_time": "7200"}),
    ("faster dead-peer detection (item 2)", {"net.ipv4.tcp_keepalive_intvl": "75"}),
    ("faster dead-peer detection (item 3)", {"net.ipv4.tcp_keepalive_probes": "9"})]'
assert_keepalive 600 60 5
POLICY=$T/before.yaml expect_rc 2 medic_ns apply
assert_keepalive 7200 75 9
# ... and back to the policy's values, so the rest of this test starts where it was.
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5

step "--json audit when compliant: one document, exit field 0"
expect_rc 0 medic_ns --json audit
py_assert "$OUT" 'd["exit"] == 0 and [i["status"] for i in d["items"]] == ["ok"] * 3'

step "show of a change set that does not exist: exit 1"
expect_rc 1 medic_ns show 7
assert_contains "$ERR" "no change set 7"
assert_keepalive 600 60 5
