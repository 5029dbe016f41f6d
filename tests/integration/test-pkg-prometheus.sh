#!/bin/bash
# `medic audit --prometheus FILE` and `medic agent --prometheus FILE`, read by the real
# node_exporter (Debian's prometheus-node-exporter): started by this test inside its
# network namespace on 127.0.0.1, only the textfile collector, pointed at the test's dir.
# A scrape of /metrics must carry medic's series with the right values (label values
# escaped as the format requires) and node_textfile_scrape_error 0.
. "$(dirname "$0")/lib.sh"
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter || true)
[ -n "$NODE_EXPORTER" ] || skip "needs prometheus-node-exporter (make deps)"
setup - <<'YAML'
medic: 1
name: metrics
actions:
  - name: faster dead-peer detection
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
  - name: 'probes "five" \ back-slashed'
    sysctl:
      net.ipv4.tcp_keepalive_probes: 5
YAML
ip -n "$NS" link set lo up
TXT=$T/textfile
mkdir "$TXT"
PROM=$TXT/medic.prom
PORT=19100

# scrape → $T/metrics: node_exporter's /metrics, from inside the namespace.
scrape() {
        ip netns exec "$NS" python3 - "$PORT" >"$T/metrics" 2>"$T/scrape.err" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())
PY
}
# metric 'NAME{LABELS}': its value in the last scrape ("" when absent).
# (ENVIRON, not -v: awk would undo the backslash escapes.)
metric() { S=$1 awk 'index($0, ENVIRON["S"] " ") == 1 { print substr($0, length(ENVIRON["S"]) + 2) }' "$T/metrics"; }
assert_metric() {
        [ "$(metric "$1")" = "$2" ] || { grep '^medic\|^node_textfile' "$T/metrics" >&2; fail "scraped $1: expected '$2', got '$(metric "$1")'"; }
}

step "apply only the first action, so that the audit has one compliant and one drifted item"
expect_rc 2 medic_ns apply --only "faster dead-peer detection"

step "audit --prometheus: exit 2 (drift), the file written whole, no temp file left"
t0=$(date +%s)
expect_rc 2 medic_ns audit --prometheus "$PROM"
assert_eq "medic.prom" "$(ls "$TXT")" "files in the textfile directory"
assert_eq 644 "$(stat -c %a "$PROM")" "mode of $PROM (node_exporter runs as another user)"

step "node_exporter on 127.0.0.1:$PORT in the namespace, textfile collector only"
ip netns exec "$NS" "$NODE_EXPORTER" --web.listen-address="127.0.0.1:$PORT" --collector.disable-defaults \
        --collector.textfile --collector.textfile.directory="$TXT" >"$T/node-exporter.log" 2>&1 &
helper_pid $!
wait_until 15 scrape || fail "node_exporter did not answer: $(cat "$T/node-exporter.log" "$T/scrape.err")"

step "the scrape has medic's series with the right values"
assert_metric 'node_textfile_scrape_error' 0
assert_metric 'medic_item_compliant{action="faster dead-peer detection",kind="sysctl",object="net.ipv4.tcp_keepalive_time"}' 1
assert_metric 'medic_item_compliant{action="probes \"five\" \\ back-slashed",kind="sysctl",object="net.ipv4.tcp_keepalive_probes"}' 0
assert_metric 'medic_drift_items' 1
assert_metric 'medic_failed_items' 0
assert_metric 'medic_last_run_ok' 1
assert_metric 'medic_change_sets_total{kind="apply"}' 1
assert_metric 'medic_change_sets_total{kind="rollback"}' 0
assert_metric 'medic_change_sets_total{kind="repair"}' 0
ts=$(metric medic_last_audit_timestamp_seconds)
ts=$(printf '%.0f' "$ts")
[ "$ts" -ge "$t0" ] && [ "$ts" -le "$(( $(date +%s) + 1 ))" ] || fail "medic_last_audit_timestamp_seconds $ts is not now ($t0)"
assert_contains "$T/metrics" "# TYPE medic_item_compliant gauge"
assert_contains "$T/metrics" "# TYPE medic_change_sets_total counter"
assert_contains "$T/metrics" "# HELP medic_drift_items "
[ -z "$(metric medic_repairs_total)" ] || fail "audit wrote medic_repairs_total (the agent's)"

step "a file that cannot be written: exit 1, said why, the last one left as it was"
cp "$PROM" "$T/before.prom"
expect_rc 1 medic_ns audit --prometheus "$T/no-such-dir/medic.prom"
assert_contains "$ERR" "cannot write the metrics file $T/no-such-dir/medic.prom"
cmp -s "$PROM" "$T/before.prom" || fail "$PROM changed"
expect_rc 64 medic_ns history --prometheus "$PROM"

step "an invalid policy: medic_last_run_ok 0 and no item series"
write_policy "$T/bad.yaml" <<'YAML'
medic: 1
actions: 7
YAML
expect_rc 1 medic_ns --policy "$T/bad.yaml" audit --prometheus "$PROM"
scrape
assert_metric 'node_textfile_scrape_error' 0
assert_metric 'medic_last_run_ok' 0
assert_not_contains "$T/metrics" "medic_item_compliant{"

step "medic agent --prometheus: written after its start, and after a repair"
ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent \
        --sysctl-interval 1 --prometheus "$PROM" >"$T/agent.log" 2>&1 &
helper_pid $!
prom_has() { grep -qxF -- "$1" "$PROM"; }
wait_until 10 prom_has 'medic_repairs_total 0' || fail "no metrics after the agent's start: $(cat "$PROM" "$T/agent.log")"
assert_keepalive 600 75 5
set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
wait_until 10 prom_has 'medic_repairs_total 1' || fail "no metrics after a repair: $(cat "$PROM" "$T/agent.log")"
scrape
assert_metric 'node_textfile_scrape_error' 0
assert_metric 'medic_repairs_total' 1
assert_metric 'medic_item_compliant{action="faster dead-peer detection",kind="sysctl",object="net.ipv4.tcp_keepalive_time"}' 1
assert_metric 'medic_change_sets_total{kind="repair"}' 1
assert_metric 'medic_drift_items' 0
log "PASS"
