#!/bin/bash
# exe: and pidfile: targets find an etcd that runs as another user (here a stand-in: a copy
# of python3 in the test's temp dir, 4 threads, as user nobody) in audit, apply --dry-run
# and apply. Read-only commands keep only the read capabilities (CAP_SYS_PTRACE for
# /proc/PID/exe; CAP_DAC_READ_SEARCH only for a pidfile rule: the pidfile is 0600 in a
# 0700 directory of nobody's), never a write capability; without CAP_SYS_PTRACE the exe
# rule says what it could not read. Every thread is checked with ionice -p.
. "$(dirname "$0")/lib.sh"
for tool in ionice strace; do command -v "$tool" >/dev/null || skip "needs $tool"; done
setup

# The distribution's interpreter (a `python3` on PATH may be a pyenv shell script).
py3=$(readlink -f /usr/bin/python3 2>/dev/null || true)
[ -x "$py3" ] && [ "$(head -c 4 "$py3")" = $'\x7fELF' ] || skip "needs /usr/bin/python3 (an ELF binary to copy)"
mkdir -m 0755 "$T/bin"
standin=$T/bin/etcd-standin
cp "$py3" "$standin"
chmod 0755 "$standin"
mkdir -m 0700 "$T/run"
chown 65534:65534 "$T/run"
# The stand-in writes its own pidfile, as etcd's unit would, 0600 as user nobody.
PYTHONHOME=$("$py3" -c 'import sys; print(sys.base_prefix)') \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$standin" -c '
import os, sys, threading, time
for _ in range(3):
    threading.Thread(target=time.sleep, args=(300,), daemon=True).start()
fd = os.open(sys.argv[1] + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"%d\n" % os.getpid())
os.close(fd)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)' "$T/run/etcd.pid" &
pid=$!
helper_pid "$pid"
started() { [ -e "$T/run/etcd.pid" ] && [ "$(ls "/proc/$pid/task" | wc -l)" = 4 ]; }
wait_until 10 started || fail "the stand-in etcd (pid $pid) did not start 4 threads and write its pidfile"
[ "$(stat -c %u "/proc/$pid")" = 65534 ] || fail "the stand-in does not run as nobody"
[ "$(readlink "/proc/$pid/exe")" = "$standin" ] || fail "the stand-in's exe is not $standin"
[ "$(cat "$T/run/etcd.pid")" = "$pid" ] || fail "the pidfile does not name pid $pid"

# assert_threads CLASS: `ionice -p` of every thread of the stand-in.
assert_threads() {
        local tid n=0
        for tid in $(ls "/proc/$pid/task"); do
                assert_eq "$1" "$(ionice -p "$tid")" "ionice -p $tid (a thread of pid $pid)"
                n=$((n + 1))
        done
        assert_eq 4 "$n" "threads checked"
}

# caps_of FILE: the effective set of medic's last capset(2), as strace decodes it.
caps_of() { grep -o 'effective=[^,]*' "$1" | tail -n 1; }

assert_threads "none: prio 0"

for rule in exe pidfile; do
        case $rule in
        exe)
                value=$standin
                read_caps="effective=1<<CAP_SYS_PTRACE"
                plan_caps="effective=1<<CAP_SYS_PTRACE|1<<CAP_SYS_NICE" ;;
        pidfile)
                value=$T/run/etcd.pid
                read_caps="effective=1<<CAP_DAC_READ_SEARCH|1<<CAP_SYS_PTRACE"
                plan_caps="effective=1<<CAP_DAC_READ_SEARCH|1<<CAP_SYS_PTRACE|1<<CAP_SYS_NICE" ;;
        esac
        write_policy "$POLICY" <<EOF
medic: 1
name: other-user
targets:
  etcd:
    process: {$rule: "$value"}
actions:
  - name: etcd io
    io-priority: {target: etcd, class: idle}
EOF
        STATE=$T/state-$rule
        mkdir -m 0700 "$STATE"
        row="etcd io +pid $pid \\(etcd-standin\\), 4 threads +none +→ idle"

        step "$rule: audit finds nobody's process; keeps only $read_caps"
        _need_ns
        run_capture ip netns exec "$NS" strace -qq -o "$T/audit-$rule.strace" -e trace=capset \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" audit
        [ "$RC" = 2 ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "$rule: audit exited $RC, want 2"; }
        assert_match "$OUT" "$row +drift"
        assert_contains "$OUT" "found by $rule $value"
        assert_eq "$read_caps" "$(caps_of "$T/audit-$rule.strace")" "$rule: audit's capabilities"
        assert_threads "none: prio 0"

        step "$rule: apply --dry-run finds it too and changes nothing"
        run_capture ip netns exec "$NS" strace -qq -o "$T/dry-$rule.strace" -e trace=capset \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" apply --dry-run
        [ "$RC" = 2 ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "$rule: apply --dry-run exited $RC, want 2"; }
        assert_match "$OUT" "$row +drift"
        assert_eq "$read_caps" "$(caps_of "$T/dry-$rule.strace")" "$rule: apply --dry-run's capabilities"
        assert_threads "none: prio 0"
        assert_change_sets ""

        step "$rule: apply sets every thread; it plans with the read capabilities, writes with CAP_SYS_NICE only"
        run_capture ip netns exec "$NS" strace -qq -o "$T/apply-$rule.strace" -e trace=capset \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" apply
        [ "$RC" = 2 ] || { _dump stdout "$OUT"; _dump stderr "$ERR"; fail "$rule: apply exited $RC, want 2"; }
        assert_match "$OUT" "$row +changed"
        assert_threads idle
        # First the union for planning (with the read capabilities), then the write set.
        assert_contains "$T/apply-$rule.strace" "$plan_caps," "$rule: apply's capsets"
        assert_eq "effective=1<<CAP_SYS_NICE" "$(caps_of "$T/apply-$rule.strace")" "$rule: apply's capabilities while changing"
        expect_rc 0 medic_ns audit
        expect_rc 2 medic_ns rollback
        assert_threads "none: prio 0"
done

step "without CAP_SYS_PTRACE the exe rule finds nothing and says why"
write_policy "$POLICY" <<EOF
medic: 1
name: other-user
targets:
  etcd:
    process: {exe: "$standin"}
actions:
  - name: etcd io
    io-priority: {target: etcd, class: idle}
EOF
_need_ns
run_capture ip netns exec "$NS" setpriv --bounding-set=-sys_ptrace --inh-caps=-sys_ptrace \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" audit
[ "$RC" = 2 ] || { _dump stderr "$ERR"; fail "audit without CAP_SYS_PTRACE exited $RC, want 2 (a finding)"; }
assert_contains "$OUT" "no process found by exe $standin"
assert_match "$OUT" "/proc/PID/exe of [0-9]+ processes could not be read"
assert_threads "none: prio 0"

step "as user nobody, audit finds nobody's own process"
expect_rc 2 nobody_ns audit
assert_match "$OUT" "etcd io +pid $pid \\(etcd-standin\\), 4 threads +none +→ idle +drift"
assert_threads "none: prio 0"
