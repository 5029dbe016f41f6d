#!/usr/bin/env bash
# The diagnosis checks against a real etcd (Debian's etcd-server) in a network namespace
# this test creates, on 127.0.0.1: etcd-config names where each timeout came from (flags,
# ETCD_* variables, a --config-file that overrides both), a finding makes audit and diagnose
# exit 2 and a good configuration makes them exit 0; db-quota with a sparse member/snap/db;
# hardware against fixture files; disk checks on tmpfs. Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"

ETCD=${ETCD:-$(command -v etcd || true)}
[ -x "$ETCD" ] || skip "no etcd binary (make build/etcd/usr/bin/etcd unpacks Debian's etcd-server)"
setup
ip netns exec "$NS" ip link set lo up
ETCD_PID=

stop_etcd() {
        [ -n "$ETCD_PID" ] || return 0
        kill "$ETCD_PID" 2>/dev/null || true
        wait "$ETCD_PID" 2>/dev/null || true
        ETCD_PID=
}

# start_etcd [env VAR=value...] -- [flags...]: a one-member etcd, its pid in $T/etcd.pid.
start_etcd() {
        local envs=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
        [ "${1:-}" = -- ] && shift
        stop_etcd
        rm -rf "$T/etcd"
        mkdir -p "$T/run"
        # env execs etcd in place inside ip netns exec: $! is etcd's own pid.
        ip netns exec "$NS" env "${envs[@]}" "$ETCD" "$@" >"$T/etcd.log" 2>&1 &
        ETCD_PID=$!
        helper_pid "$ETCD_PID"
        wait_until 10 grep -qs "ready to serve client requests" "$T/etcd.log" ||
                fail "etcd did not start: $(tail -3 "$T/etcd.log")"
        [ "$(cat /proc/$ETCD_PID/comm)" = etcd ] || fail "pid $ETCD_PID is not etcd"
        echo "$ETCD_PID" >"$T/etcd.pid"
}

URLS=(--name t --data-dir "$T/etcd"
      --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380
      --initial-cluster t=http://127.0.0.1:2380)

write_policy "$POLICY" <<POL
medic: 1
name: diag
targets:
  etcd:
    process: {pidfile: $T/etcd.pid}
checks:
  - name: etcd timeouts
    etcd-config: {target: etcd}
  - name: db space
    db-quota: {target: etcd}
  # This test is about reading etcd's histograms, not this shared machine's disk: the
  # thresholds are generous here; the finding is checked below with a tight one.
  - name: etcd's own latency
    etcd-metrics: {target: etcd, max-wal-fsync: 2s, max-backend-commit: 2s}
POL

step "etcd with --heartbeat-interval 100 --election-timeout 600: a finding that names the flags"
start_etcd -- "${URLS[@]}" --heartbeat-interval 100 --election-timeout 600
expect_rc 2 medic_ns diagnose
assert_contains "$OUT" "etcd pid $ETCD_PID: election-timeout / heartbeat-interval"
assert_contains "$OUT" "600 ms / 100 ms = 6.0× (flag --election-timeout; flag --heartbeat-interval)"
assert_contains "$OUT" "drift: set election-timeout to 1000 ms or more"
expect_rc 2 medic_ns audit
assert_contains "$OUT" "6.0×"
expect_rc 2 medic_ns diagnose --json
py_assert "$OUT" '[i["status"] for i in d["items"] if i["object"].endswith("election-timeout / heartbeat-interval")] == ["drift"]'
py_assert "$OUT" '[i["current"]["election-timeout-from"] for i in d["items"] if i["object"].endswith("election-timeout / heartbeat-interval")] == ["flag --election-timeout"]'
py_assert "$OUT" 'd["exit"] == 2'

# (etcd itself refuses to start when a variable and a flag set the same key.)
step "the same through ETCD_* variables: the source is the environment"
start_etcd ETCD_HEARTBEAT_INTERVAL=100 ETCD_ELECTION_TIMEOUT=700 -- "${URLS[@]}" --snapshot-count 5000
expect_rc 2 medic_ns diagnose
assert_contains "$OUT" "700 ms / 100 ms = 7.0× (environment ETCD_ELECTION_TIMEOUT; environment ETCD_HEARTBEAT_INTERVAL)"
assert_contains "$OUT" "5000 (flag --snapshot-count)"

step "a --config-file overrides flags and variables, as etcd does"
cat >"$T/etcd.conf.yml" <<CONF
name: t
data-dir: $T/etcd
heartbeat-interval: 50
election-timeout: 400
listen-client-urls: http://127.0.0.1:2379
advertise-client-urls: http://127.0.0.1:2379
listen-peer-urls: http://127.0.0.1:2380
initial-advertise-peer-urls: http://127.0.0.1:2380
initial-cluster: t=http://127.0.0.1:2380
CONF
start_etcd ETCD_ELECTION_TIMEOUT=5000 -- --config-file "$T/etcd.conf.yml" --heartbeat-interval 500
expect_rc 2 medic_ns diagnose
assert_contains "$OUT" "400 ms / 50 ms = 8.0× (config file $T/etcd.conf.yml:4; config file $T/etcd.conf.yml:3)"
assert_contains "$OUT" "ignored by etcd (config file given): --heartbeat-interval"
assert_contains "$OUT" "ignored by etcd (config file given): ETCD_ELECTION_TIMEOUT"

step "a good configuration (1000/100, etcd's defaults) and a small db: diagnose and audit exit 0"
start_etcd -- "${URLS[@]}"
expect_rc 0 medic_ns diagnose
assert_contains "$OUT" "1000 ms / 100 ms = 10.0× (etcd's default; etcd's default)"
assert_contains "$OUT" "$T/etcd/member/snap/db: size"
# etcd's /metrics over plain HTTP on its client URL: its own fsync and commit histograms.
assert_match "$OUT" "etcd WAL fsync p99 +[0-9.]+ ms \(etcd_disk_wal_fsync_duration_seconds, [0-9]+ observations"
assert_match "$OUT" "etcd backend commit p99 +[0-9.]+ ms"
assert_match "$OUT" "[0-9]+ leader changes, [0-9]+ heartbeat send failures since etcd started"
changes=$(ip netns exec "$NS" python3 -c 'import urllib.request; print(sum(float(l.split()[-1]) for l in urllib.request.urlopen("http://127.0.0.1:2379/metrics").read().decode().splitlines() if l.startswith("etcd_server_leader_changes_seen_total")))')
assert_contains "$OUT" "${changes%.0} leader changes"
expect_rc 0 medic_ns audit
expect_rc 0 medic_ns audit --only "db space"
sed -i 's/max-wal-fsync: 2s/max-wal-fsync: 10us/' "$POLICY"
expect_rc 2 medic_ns diagnose --only "etcd's own latency"
assert_contains "$OUT" "drift: medic cannot fix this: etcd waits this long for its WAL to reach the disk"
sed -i 's/max-wal-fsync: 10us/max-wal-fsync: 2s/' "$POLICY"
assert_not_contains "$OUT" "etcd-config"

step "db-quota: a member/snap/db over 80 % of --quota-backend-bytes is a finding"
start_etcd -- "${URLS[@]}" --quota-backend-bytes 16777216
started=$ETCD_PID
# A sparse file: what counts is the size etcd's bbolt maps, which is the file's size.
truncate -s 14M "$T/etcd/member/snap/db"
expect_rc 2 medic_ns diagnose --only "db space"
assert_contains "$OUT" "14.0 MiB = 87.5 % of 16.0 MiB"
assert_contains "$OUT" "flag --quota-backend-bytes"
assert_contains "$OUT" "medic cannot fix this: compact the keyspace and defragment"
[ "$started" = "$ETCD_PID" ] || fail "etcd restarted"

step "etcd with only a TLS client URL: etcd-metrics says why it cannot read /metrics"
stop_etcd
mkdir -p "$T/tls"
if command -v openssl >/dev/null; then
        openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" -days 1 \
                -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
        start_etcd -- --name t --data-dir "$T/etcd" --cert-file "$T/tls/cert.pem" --key-file "$T/tls/key.pem" \
                --listen-client-urls https://127.0.0.1:2379 --advertise-client-urls https://127.0.0.1:2379 \
                --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
                --initial-cluster t=http://127.0.0.1:2380
        expect_rc 0 medic_ns diagnose --only "etcd's own latency"
        assert_contains "$OUT" "skipped: etcd serves /metrics only over TLS: add --listen-metrics-urls http://127.0.0.1:2381"
        stop_etcd
else
        log "no openssl: the TLS-only case is not tested"
fi

step "etcd not running: say so, no finding"
stop_etcd
expect_rc 0 medic_ns diagnose
assert_contains "$OUT" "skipped: etcd not running"
