#!/bin/bash
# A damaged journal file stops every changing command (exit 1, the file named, nothing
# changed): medic cannot know what it would have to undo. Read-only commands still work.
. "$(dirname "$0")/lib.sh"
setup
mkdir -m 0700 "$STATE/changes"
echo 'garbage, not JSON' >"$STATE/changes/1.json"

step "apply with a damaged journal: exit 1, names the file, nothing changed"
expect_rc 1 medic_ns apply
assert_contains "$ERR" "$STATE/changes/1.json: damaged journal file"
assert_keepalive 7200 75 9
assert_eq "garbage, not JSON" "$(cat "$STATE/changes/1.json")" "the damaged file (left as it was)"
assert_change_sets "1"

step "rollback and confirm: exit 1, nothing changed"
expect_rc 1 medic_ns rollback
assert_contains "$ERR" "$STATE/changes/1.json"
expect_rc 1 medic_ns confirm
assert_keepalive 7200 75 9

step "history names the damage (exit 1); audit still works"
expect_rc 1 medic_ns history
assert_contains "$ERR" "$STATE/changes/1.json: damaged journal file"
expect_rc 2 medic_ns audit
assert_contains "$OUT" "$STATE/changes/1.json"
assert_keepalive 7200 75 9

step "a set whose id does not match its file name is damaged too"
mv "$STATE/changes/1.json" "$T/1.json.bad"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
expect_rc 2 medic_ns rollback
assert_keepalive 7200 75 9
cp "$(journal_file 1)" "$STATE/changes/5.json"
expect_rc 1 medic_ns apply
assert_contains "$ERR" "$STATE/changes/5.json: damaged journal file: it says it is set 1"
assert_keepalive 7200 75 9
assert_change_sets "1 2 5"

step "moved aside, apply works again"
mv "$STATE/changes/5.json" "$T/5.json.bad"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
assert_change_sets "1 2 3"
