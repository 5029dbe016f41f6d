#!/bin/bash
# A change set from an earlier boot (its boot_id is not this boot's) is not restored: its
# runtime changes died with the reboot. rollback says so and changes nothing; an
# interrupted set from an earlier boot is closed without touching the host.
. "$(dirname "$0")/lib.sh"
setup
other=00000000-1111-4222-8333-444444444444
[ "$(cat /proc/sys/kernel/random/boot_id)" != "$other" ] || fail "this boot has the test's fake boot id"

set_boot() { # ID UUID [STATE]: edit the journal file directly; the index of set states is
        # a cache of the files, so it goes with the edit
        PYTHONPATH="$(dirname "$0")" python3 - "$(journal_file "$1")" "$2" "${3:-}" <<'PY'
import sys
import journal
p = sys.argv[1]
d = journal.read_set(p)
d["boot_id"] = sys.argv[2]
if sys.argv[3]:
    d["state"] = sys.argv[3]
journal.write_set(p, d)
PY
        rm -f "$STATE/changes/index"
}

step "apply, then make change set 1 one of an earlier boot"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
set_boot 1 "$other"

step "rollback 1: says it was made in an earlier boot, changes nothing"
expect_rc 0 medic_ns rollback 1
assert_contains "$OUT" "change set 1 was made in an earlier boot ($other)"
assert_keepalive 600 60 5
assert_change_sets "1"
assert_set_state 1 applied
expect_rc 0 medic_ns rollback 1 --force
assert_contains "$OUT" "earlier boot"
assert_keepalive 600 60 5
assert_change_sets "1"

step "rollback without an id: no set of this boot, exit 1, nothing changed"
expect_rc 1 medic_ns rollback
assert_contains "$ERR" "no applied change set of this boot"
assert_keepalive 600 60 5

step "history marks it"
expect_rc 0 medic_ns history
assert_match "$OUT" '^ +1 .* apply +applied .*\[earlier boot\]'
expect_rc 0 medic_ns --json history
py_assert "$OUT" 'd["changes"][0]["this_boot"] is False'
expect_rc 0 medic_ns show 1
assert_contains "$OUT" "$other (an earlier boot)"

step "an interrupted set of an earlier boot: apply closes it without restoring"
# The namespace now holds 600 60 5, the set's "after"; restoring would write 7200 75 9.
set_boot 1 "$other" applying
expect_rc 0 medic_ns audit
assert_contains "$OUT" "change set 1 was interrupted while applying (in an earlier boot)"
expect_rc 0 medic_ns apply
assert_keepalive 600 60 5
assert_set_state 1 failed
assert_change_sets "1"
assert_eq 1 "$(audit_events interrupted | grep -c '"result": "abandoned"')" "interrupted/abandoned events"

step "an expired awaiting-confirm set of an earlier boot: closed, not restored"
# Back to 7200 75 9 by hand (the earlier-boot set cannot be rolled back), then a fresh set.
set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
set_sysctl_ns net.ipv4.tcp_keepalive_intvl 75
set_sysctl_ns net.ipv4.tcp_keepalive_probes 9
MEDIC_TEST_NO_WATCHER=1 expect_rc 2 medic_ns apply --confirm-within 1
assert_keepalive 600 60 5
assert_change_sets "1 2"
assert_set_state 2 awaiting-confirm
set_boot 2 "$other"
sleep 2.2  # past the deadline even when it is rounded up to a whole second
expect_rc 0 medic_ns apply
assert_keepalive 600 60 5
assert_set_state 2 rolled-back
assert_change_sets "1 2"
# And it stays closed: the next run has nothing to do with it.
expect_rc 0 medic_ns apply
assert_keepalive 600 60 5
assert_change_sets "1 2"
