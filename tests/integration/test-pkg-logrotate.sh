#!/bin/bash
# The shipped logrotate config (packaging/logrotate/medic), run by the real logrotate on
# this test's audit log: rotation is a rename (no copytruncate), nothing is created in its
# place (nocreate), and the next medic run creates a new log itself (0640) while the
# rotated one keeps every line it had. The agent opens the log per repair: its next repair
# after a rotation goes to the new file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg-lib.sh"
command -v logrotate >/dev/null || skip "needs logrotate (make deps)"
setup

CONF=$T/logrotate.conf
# The shipped stanza with this test's log in place of /var/log/medic/audit.jsonl.
sed "s|^/var/log/medic/audit.jsonl {|$AUDIT {|" "$PKG_TOP/packaging/logrotate/medic" >"$CONF"
assert_contains "$CONF" "$AUDIT {"
! grep -q "^[[:space:]]*copytruncate" "$CONF" || fail "the config uses copytruncate"

step "apply writes the audit log"
expect_rc 2 medic_ns apply
lines=$(wc -l <"$AUDIT")
[ "$lines" -gt 0 ] || fail "no audit records after apply"
ino=$(stat -c %i "$AUDIT")

step "logrotate -f: the log renamed whole, none created in its place"
expect_rc 0 logrotate -f -s "$T/logrotate.state" "$CONF"
[ ! -e "$AUDIT" ] || fail "logrotate created $AUDIT (nocreate is the config's promise)"
[ -f "$AUDIT.1" ] || fail "no $AUDIT.1 after rotation: $(ls "$T")"
assert_eq "$ino" "$(stat -c %i "$AUDIT.1")" "inode of the rotated log (a rename, not a copy)"
assert_eq "$lines" "$(wc -l <"$AUDIT.1")" "lines in the rotated log"

step "the next medic run creates a new log (0640); the rotated one is untouched"
expect_rc 2 medic_ns rollback
[ -f "$AUDIT" ] || fail "rollback did not create a new audit log"
assert_eq 640 "$(stat -c %a "$AUDIT")" "mode of the new audit log"
assert_eq "$lines" "$(wc -l <"$AUDIT.1")" "lines in the rotated log after the rollback"
[ "$(count_events rollback)" -ge 1 ] || fail "the rollback's record is not in the new log"

step "a second rotation compresses the first (delaycompress), keeping both"
expect_rc 0 logrotate -f -s "$T/logrotate.state" "$CONF"
[ -f "$AUDIT.2.gz" ] && [ -f "$AUDIT.1" ] || fail "expected $AUDIT.1 and $AUDIT.2.gz: $(ls "$T")"
assert_eq "$lines" "$(gzip -dc "$AUDIT.2.gz" | wc -l)" "lines in the compressed first log"

step "the agent: after a rotation its next repair writes a new log"
ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent \
        --sysctl-interval 1 >"$T/agent.log" 2>&1 &
helper_pid $!
wait_until 10 keepalive_is 600 60 5 || fail "the agent did not apply: $(cat "$T/agent.log")"
expect_rc 0 logrotate -f -s "$T/logrotate.state" "$CONF"
[ ! -e "$AUDIT" ] || fail "logrotate created $AUDIT"
rotated=$(wc -l <"$AUDIT.1")
set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
wait_until 10 test -s "$AUDIT" || fail "the agent's repair did not create a new log: $(cat "$T/agent.log")"
[ "$(count_events repair)" -ge 1 ] || fail "no repair record in the new log"
assert_eq "$rotated" "$(wc -l <"$AUDIT.1")" "lines in the rotated log after the repair"
log "PASS"
