#!/bin/bash
# The audit log: one JSON object per line; every change event carries change id, action,
# kind, object, before, after and result; one change event per item changed. A log that
# cannot be written stops apply before anything changes (exit 1), and a write that fails
# mid-apply undoes the change (nothing changes unrecorded). A read-only audit appends to
# an existing log but creates none.
. "$(dirname "$0")/lib.sh"
setup
boot=$(cat /proc/sys/kernel/random/boot_id)
sha=$(sha256sum "$POLICY" | awk '{print $1}')

step "a read-only audit does not create the audit log"
expect_rc 2 medic_ns audit
[ -e "$AUDIT" ] && fail "audit created $AUDIT"

step "audit (log exists), apply, rollback: every line of the log is a JSON object"
install -m 0640 /dev/null "$AUDIT"
expect_rc 2 medic_ns audit
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
expect_rc 2 medic_ns rollback
assert_keepalive 7200 75 9
audit_events >"$T/events"
[ "$(wc -l <"$AUDIT")" -eq "$(wc -l <"$T/events")" ] || fail "audit log has lines that are not JSON objects"

step "the records: common fields, change events complete, counts match the journal"
PYTHONPATH="$(dirname "$0")" python3 - "$T/events" "$boot" "$sha" "$(journal_file 1)" "$(hostname)" <<'PY' || fail "audit log records"
import json, re, sys
import journal as medic_journal
events = [json.loads(l) for l in open(sys.argv[1])]
boot, sha, host = sys.argv[2], sys.argv[3], sys.argv[5]
journal = medic_journal.read_set(sys.argv[4])
bad = []
for n, e in enumerate(events, 1):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", e.get("time") or ""):
        bad.append("line %d: time %r is not RFC 3339 UTC" % (n, e.get("time")))
    for k, v in (("boot_id", boot), ("host", host)):
        if e.get(k) != v:
            bad.append("line %d: %s %r, want %r" % (n, k, e.get(k), v))
    if e.get("user", {}).get("uid") != 0:
        bad.append("line %d: user %r" % (n, e.get("user")))
    if e.get("policy", {}).get("name") != "etcd" or e.get("policy", {}).get("sha256") != sha:
        bad.append("line %d: policy %r, want etcd %s" % (n, e.get("policy"), sha))
    for k in ("event", "change", "action", "kind", "object", "before", "after", "result", "message"):
        if k not in e:
            bad.append("line %d: no %r field" % (n, k))

changes = [e for e in events if e["event"] == "change"]
changed_items = [i for i in journal["items"] if i["status"] == "changed"]
# Set 1 was rolled back since: its items now say "restored"; count what the apply changed.
applied = [i for i in journal["items"] if i["status"] in ("changed", "restored")]
if len(changes) != len(applied) or len(applied) != 3:
    bad.append("%d change events for %d changed items" % (len(changes), len(applied)))
want = {i["object"]: (i["before"], i["after"]) for i in applied}
for e in changes:
    if e["change"] != 1 or e["action"] != "faster dead-peer detection" or e["kind"] != "sysctl" or e["result"] != "changed":
        bad.append("change event %r" % e)
    if (e["before"], e["after"]) != want.get(e["object"]):
        bad.append("change event for %s: before/after %r/%r, journal %r" % (e["object"], e["before"], e["after"], want.get(e["object"])))
vals = sorted((e["object"], e["before"][e["object"]], e["after"][e["object"]]) for e in changes)
if vals != [("net.ipv4.tcp_keepalive_intvl", "75", "60"), ("net.ipv4.tcp_keepalive_probes", "9", "5"), ("net.ipv4.tcp_keepalive_time", "7200", "600")]:
    bad.append("change values %r" % vals)
rb = [e for e in events if e["event"] == "rollback"]
if sorted((e["object"], e["before"][e["object"]], e["after"][e["object"]], e["change"], e["result"]) for e in rb) != [
        ("net.ipv4.tcp_keepalive_intvl", "60", "75", 2, "restored"),
        ("net.ipv4.tcp_keepalive_probes", "5", "9", 2, "restored"),
        ("net.ipv4.tcp_keepalive_time", "600", "7200", 2, "restored")]:
    bad.append("rollback events %r" % rb)
drift = [e for e in events if e["event"] == "drift"]
if len(drift) != 3 or any(e["change"] is not None for e in drift):
    bad.append("drift events of the first audit: %r" % drift)
if [e["result"] for e in events if e["event"] == "audit"] != ["drift"]:
    bad.append("audit summary events %r" % [e for e in events if e["event"] == "audit"])
if bad:
    sys.stderr.write("\n".join(bad) + "\n")
    sys.exit(1)
PY

step "audit log path whose parent is a regular file: apply exits 1, nothing changed"
: >"$T/not-a-dir"
lines=$(wc -l <"$AUDIT")
expect_rc 1 medic_ns --audit-log "$T/not-a-dir/audit.jsonl" apply
assert_contains "$ERR" "cannot write the audit log $T/not-a-dir/audit.jsonl"
assert_contains "$ERR" "nothing was changed"
assert_keepalive 7200 75 9
assert_change_sets "1 2"
[ -s "$T/not-a-dir" ] && fail "medic wrote into $T/not-a-dir"
assert_eq "$lines" "$(wc -l <"$AUDIT")" "lines in the real audit log"

step "audit log on a full device: the write fails after the first change, which is undone"
expect_rc 4 medic_ns --audit-log /dev/full apply
assert_contains "$OUT" "cannot write the audit log"
assert_keepalive 7200 75 9
assert_change_sets "1 2 3"
assert_set_state 3 failed
py_assert "$(journal_file 3)" '"changed" not in [i["status"] for i in d["items"]]' "items of set 3"

step "the real log again: apply works"
expect_rc 2 medic_ns apply
assert_keepalive 600 60 5
assert_eq 6 "$(count_events change)" "change events after two successful applies"
