#!/bin/bash
# medic agent under systemd's eyes: the unit verifies (systemd-analyze verify, in a mount
# namespace of the test's own where /usr/sbin/medic is this build), it keeps the host's
# mounts, /proc/sys and netlink visible, the agent tells the notify socket READY=1 and a
# STATUS= line and pings the watchdog when asked to, and an idle agent makes no system
# calls at all (strace -c) and stays small.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent-lib.sh"
setup - <<'YAML'
medic: 1
name: agent-sd
actions:
  - name: keepalive
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
YAML
unit=$(cd "$(dirname "$0")/../.." && pwd)/packaging/systemd/medic-agent.service

step "systemd-analyze verify: clean"
if command -v systemd-analyze >/dev/null; then
        mkdir "$T/sbin"
        cp "$MEDIC_BIN" "$T/sbin/medic"
        unshare -m bash -c 'mount --make-rprivate / && mount --bind "$1" /usr/sbin && systemd-analyze verify --man=no "$2"' \
                _ "$T/sbin" "$unit" >"$T/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify")"
        assert_empty "$T/verify" "systemd-analyze verify's output"
else
        log "skipped: no systemd-analyze on this machine"
fi
for hidden in ProtectSystem PrivateTmp ProtectKernelTunables PrivateNetwork PrivateMounts ProtectProc; do
        ! grep -q "^$hidden=" "$unit" || fail "$hidden= hides what the agent repairs"
done
grep -q '^Type=notify$' "$unit" || fail "the unit is not Type=notify"

step "READY=1, STATUS= and the watchdog on the notify socket"
python3 - "$T/notify" "$T/notices" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 8
with open(sys.argv[2], "w") as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).decode() + "\n---\n")
            out.flush()
        except socket.timeout:
            pass
PY
helper_pid $!
wait_until 5 test -S "$T/notify" || fail "the notify listener did not start"
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=400000 start_agent --ns
wait_until 5 grep -q '^READY=1' "$T/notices" || fail "no READY=1: $(cat "$T/notices" "$T/agent.log")"
grep -q '^STATUS=1 actions in policy agent-sd, 0 repairs since start' "$T/notices" || fail "no STATUS= line: $(cat "$T/notices")"
wait_until 3 grep -q '^WATCHDOG=1' "$T/notices" || fail "no watchdog pings with WATCHDOG_USEC set"
kill -TERM "$AGENT"
wait "$AGENT" || fail "the agent exited $?"
grep -q '^STOPPING=1' "$T/notices" || fail "no STOPPING=1"

step "idle: no system calls in 10 s, RSS at most 4 MiB (the release build)"
if command -v strace >/dev/null; then
        # The shipped binary: a sanitizer build's shadow memory says nothing of medic's RSS.
        MEDIC_BIN=${MEDIC_RELEASE_BIN:-$MEDIC_BIN} AGENT_LOG=$T/agent2.log start_agent --ns --sysctl-interval 3600
        wait_until 5 grep -q "running with policy" "$T/agent2.log" || fail "the agent did not start: $(cat "$T/agent2.log")"
        timeout -s INT 10 strace -c -f -p "$AGENT" -o "$T/strace" >/dev/null 2>&1 || true
        calls=$(awk '$NF == "total" { print $(NF-2) }' "$T/strace")
        log "system calls in 10 idle seconds: ${calls:-0}"
        [ "${calls:-0}" = 0 ] || fail "an idle agent made system calls: $(cat "$T/strace")"
        rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$AGENT"/status)
        log "idle agent: RSS $rss KiB ($(awk '/^RssAnon:/ { print $2 }' /proc/"$AGENT"/status) KiB anonymous)"
        if [ -n "${MEDIC_RELEASE_BIN:-}" ]; then
                [ "$rss" -le 4096 ] || fail "an idle agent's RSS is $rss KiB, over 4 MiB"
        fi
        # The start-up pages were given back; a reload and a repair map some again, and
        # the agent still stays within the figure.
        set_sysctl_ns net.ipv4.tcp_keepalive_time 7200
        kill -HUP "$AGENT"
        wait_until 5 grep -q "applied net.ipv4.tcp_keepalive_time: 7200 → 600 (policy reloaded)" "$T/agent2.log" ||
                fail "no repair after SIGHUP: $(cat "$T/agent2.log")"
        assert_eq 600 "$(sysctl_ns net.ipv4.tcp_keepalive_time)" "keepalive time after the repair"
        rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$AGENT"/status)
        log "after a reload and a repair: RSS $rss KiB"
        if [ -n "${MEDIC_RELEASE_BIN:-}" ]; then
                [ "$rss" -le 4096 ] || fail "the agent's RSS after a reload and a repair is $rss KiB, over 4 MiB"
        fi
        kill -TERM "$AGENT"
        wait "$AGENT" || true
else
        log "skipped: no strace"
fi
