#!/usr/bin/env bash
# Process targets: found by unit (a cgroup named like a systemd unit, in a test-only
# slice), a pidfile naming a dead pid, and a comm that matches nothing. Only processes this
# test started are ever matched. Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
ioprio_setup
slice_dir=
# The test's cgroups go once the sleeper in them is killed (a helper): anything left is
# moved back to the root first.
remove_slice() {
        [ -n "$slice_dir" ] || return 0
        for p in $(cat "$slice_dir"/*/cgroup.procs 2>/dev/null); do echo "$p" >"$root/cgroup.procs"; done
        rmdir "$slice_dir"/* "$slice_dir" 2>/dev/null
}
at_exit remove_slice
policy() {
        printf 'medic: 1\ntargets:\n  t:\n    process: {%s}\nactions:\n  - name: prio\n    io-priority: {target: t, class: idle}\n' "$1" | write_policy "$POLICY"
}

# The hierarchy systemd tracks units in: cgroup2 at /sys/fs/cgroup (unified), the cgroup2
# at /sys/fs/cgroup/unified (hybrid), else name=systemd (legacy).
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
        root=/sys/fs/cgroup
elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        root=/sys/fs/cgroup/unified
elif [ -e /sys/fs/cgroup/systemd/cgroup.procs ]; then
        root=/sys/fs/cgroup/systemd
else
        skip "no cgroup2 or name=systemd hierarchy"
fi
unit=medic-test-$$.service
slice_dir=$root/medic-test.slice
mkdir -p "$slice_dir/$unit"
sleep 300 &
sleeper=$!
helper_pid "$sleeper"
echo "$sleeper" >"$slice_dir/$unit/cgroup.procs"

# 1. unit: found through the unit's cgroup, and the output says which rule found it.
policy "unit: $unit, comm: no-such-comm"
rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit by unit: rc $rc: $out"
echo "$out" | grep -q "pid $sleeper (sleep)" || fail "unit rule did not find pid $sleeper: $out"
echo "$out" | grep -q "found by unit $unit" || fail "output does not name the unit rule: $out"
[ "$(ionice -p "$sleeper")" = "none: prio 0" ] || fail "audit changed the process"
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 2 ] || fail "apply by unit: rc $rc: $out"
[ "$(ionice -p "$sleeper")" = "idle" ] || fail "apply by unit did not set idle: $(ionice -p "$sleeper")"
rc=0; out=$(medic_host rollback) || rc=$?
[ $rc = 2 ] || fail "rollback by unit: rc $rc: $out"
[ "$(ionice -p "$sleeper")" = "none: prio 0" ] || fail "rollback did not restore none"

# 2. a pidfile naming a dead pid: a finding in audit, skipped in apply.
sh -c 'exit 0' & dead=$!; wait "$dead"
echo "$dead" >"$T/dead.pid"
policy "pidfile: $T/dead.pid"
rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit with a dead pidfile: rc $rc, want 2 (a finding): $out"
echo "$out" | grep -q "pid $dead, which is not running" || fail "audit does not explain the stale pidfile: $out"
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 0 ] || fail "apply with a dead pidfile: rc $rc, want 0 (skipped): $out"
echo "$out" | grep -q "skipped" || fail "apply does not report the item skipped: $out"

# 3. comm with no match.
policy "comm: nomatch$$"
rc=0; out=$(medic_host audit) || rc=$?
[ $rc = 2 ] || fail "audit with no match: rc $rc: $out"
echo "$out" | grep -q "t: no process found by comm nomatch$$" || fail "no 'no process found': $out"
rc=0; out=$(medic_host --json apply) || rc=$?
[ $rc = 0 ] || fail "apply with no match: rc $rc: $out"
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["items"][0]["status"]=="skipped", d'
# 4. a zombie with the target's comm is not a running process: not found.
zcomm=zz$$
zcomm=${zcomm:0:15}
python3 - "$zcomm" <<'PY' &
import ctypes, os, sys, time
if os.fork() == 0:
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
    os._exit(0)
time.sleep(30)  # never reaps the child: it stays a zombie
PY
zparent=$!
helper_pid "$zparent"
for _ in $(seq 50); do
        zpid=$(pgrep -P "$zparent" || true)
        [ -n "$zpid" ] && [ "$(awk '{print $3}' /proc/$zpid/stat 2>/dev/null)" = Z ] && break
        sleep 0.1
done
[ "$(cat /proc/$zpid/comm)" = "$zcomm" ] && [ "$(awk '{print $3}' /proc/$zpid/stat)" = Z ] || fail "no zombie to test with"
policy "comm: $zcomm"
rc=0; out=$(medic_host audit) || rc=$?
kill "$zparent"; wait "$zparent" 2>/dev/null || true
[ $rc = 2 ] || fail "audit with only a zombie: rc $rc: $out"
echo "$out" | grep -q "t: no process found by comm $zcomm" || fail "a zombie was taken for a running process: $out"
echo "ok: unit ($root), dead pidfile, no comm match, zombie skipped"
