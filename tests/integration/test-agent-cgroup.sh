#!/bin/bash
# medic agent where the proc connector does not serve it: in a pid namespace of its own
# (unshare -p -f --mount-proc) the kernel ignores its listen request (cn_proc serves only
# the initial pid and user namespaces). The agent must notice that (no ack), say so in its
# log, and fall back to cgroup v2: inotify on cgroup.events of each process target's
# cgroup — a unit's (unit: rule) and the cgroup a found process runs in (exe: rule).
# cgroup2 is mounted over /sys/fs/cgroup in the agent's private mount namespace; the two
# cgroups the test makes there are real cgroups of this host's v2 hierarchy, removed at
# the end. Restarts are checked with ionice; the sysctl timer (3600 s) never fires. Then:
# without cgroup v2 (a tmpfs over /sys/fs/cgroup) the agent says it has only the timer.
. "$(dirname "$0")/lib.sh"
command -v ionice >/dev/null || skip "needs ionice"
command -v nsenter >/dev/null || skip "needs nsenter"
setup
UNIT=medic-cgt-$$.service
CG2=medic-cgt2-$$
mkdir -m 0755 "$T/bin" "$T/cg"
cp /bin/sleep "$T/bin/unit-etcd"
cp /bin/sleep "$T/bin/exe-etcd"
write_policy "$POLICY" <<YAML
medic: 1
name: agent-cgroup
targets:
  unit-etcd: {process: {unit: $UNIT}}
  exe-etcd: {process: {exe: $T/bin/exe-etcd}}
actions:
  - name: unit etcd I/O
    io-priority: {target: unit-etcd, class: best-effort, level: 1}
  - name: exe etcd I/O
    io-priority: {target: exe-etcd, class: best-effort, level: 2}
YAML

# The cgroups live in this host's real cgroup2 hierarchy: whatever runs in them is ended
# and they are removed through a private mount of it, after lib.sh's own cleanup ended
# the helpers.
_cg_exit() {
        local rc=$?
        trap - ERR
        set +e
        for pid in "${_HELPER_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
        unshare -m --propagation private sh -c '
                mount -t cgroup2 none "$1" || exit 0
                for d in "$1/$2" "$1/$3"; do
                        [ -d "$d" ] || continue
                        for p in $(cat "$d/cgroup.procs"); do kill -KILL "$p"; done
                        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
                        [ -d "$d" ] && echo "cleanup: cannot remove cgroup $d" >&2
                done' sh "$T/cg" "$UNIT" "$CG2"
        (exit "$rc")
        _cleanup
}
trap _cg_exit EXIT

unshare -m --propagation private sh -c 'mount -t cgroup2 none "$1"' sh "$T/cg" 2>"$T/mount.err" ||
        skip "cgroup2 cannot be mounted here: $(cat "$T/mount.err")"

# ns_run CMD...: CMD in the agent's pid and mount namespaces (in the background; its host
# pid in NS_PID).
ns_run() {
        nsenter -t "$AGENT" -m -p -- "$@" &
        local nse=$! kids=""
        helper_pid "$nse"
        for _ in $(seq 1 50); do
                kids=$(cat "/proc/$nse/task/$nse/children" 2>/dev/null || true)
                [ -n "$kids" ] && break
                sleep 0.02
        done
        [ -n "$kids" ] || fail "nsenter started nothing"
        NS_PID=${kids%% *}
        helper_pid "$NS_PID"
}
# start_in CGROUP BINARY: a process that enters CGROUP (under the private cgroup2 mount)
# and then execs BINARY, as systemd starts a unit's process. Host pid in NS_PID.
start_in() {
        ns_run sh -c 'echo $$ >"/sys/fs/cgroup/$1/cgroup.procs" && exec "$2" 600' sh "$1" "$2"
        wait_until 5 exe_is "$NS_PID" "$2" || fail "$2 did not start in $1"
}
exe_is() { [ "$(readlink "/proc/$1/exe")" = "$2" ]; }
prio_is() { [ "$(ionice -p "$1" 2>/dev/null)" = "best-effort: prio $2" ]; }

step "the agent starts in a pid namespace of its own, with cgroup2 at /sys/fs/cgroup"
# Where /sys/fs/cgroup is cgroup2 already (a unified host), the kernel refuses to mount it
# there again: the private namespace then keeps the mount it has.
unshare -m -p -f --mount-proc --propagation private sh -c '
        { [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || mount -t cgroup2 none /sys/fs/cgroup; } &&
        mkdir "/sys/fs/cgroup/$1" "/sys/fs/cgroup/$2" && shift 2 && exec "$@"' sh "$UNIT" "$CG2" \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent \
        --sysctl-interval 3600 --fight-limit 0 >"$T/agent.log" 2>&1 &
USH=$!
helper_pid "$USH"
wait_until 5 eval '[ -n "$(cat /proc/$USH/task/$USH/children 2>/dev/null)" ]' || fail "unshare started nothing: $(cat "$T/agent.log")"
AGENT=$(cat "/proc/$USH/task/$USH/children")
AGENT=${AGENT%% *}
helper_pid "$AGENT"
wait_until 10 grep -q "running with policy" "$T/agent.log" || fail "the agent did not start: $(cat "$T/agent.log")"
assert_contains "$T/agent.log" "no process events: the proc connector did not answer: it serves only the initial pid and user namespaces, and medic runs in another" "the agent's log"
assert_contains "$T/agent.log" "etcd (re)starts seen through cgroup.events of /sys/fs/cgroup/$UNIT, and at the sysctl timer" "the agent's log"

step "a process enters the unit's cgroup: set from cgroup.events"
start_in "$UNIT" "$T/bin/unit-etcd"
u1=$NS_PID
wait_until 5 prio_is "$u1" 1 || fail "unit-etcd $u1: $(ionice -p "$u1"); $(cat "$T/agent.log")"
grep -q "^medic agent: repaired .*(/sys/fs/cgroup/$UNIT: populated 1)" "$T/agent.log" ||
        fail "the repair does not name cgroup.events: $(cat "$T/agent.log")"

step "the exe: rule's process: its cgroup is watched once it is found"
start_in "$CG2" "$T/bin/exe-etcd"
e1=$NS_PID
# Nothing announces this first one (its cgroup is not known yet): a reload looks.
kill -HUP "$AGENT"
wait_until 5 prio_is "$e1" 2 || fail "exe-etcd $e1 after the reload: $(ionice -p "$e1")"
wait_until 5 grep -q "cgroup.events of .*/sys/fs/cgroup/$CG2" "$T/agent.log" ||
        fail "the exe target's cgroup is not watched: $(cat "$T/agent.log")"

step "the exe: rule's process is killed and started again in its cgroup: set from its cgroup.events"
kill -KILL "$e1"
wait_until 5 eval '[ ! -e /proc/$e1 ]'
sleep 0.5 # the agent's pass after the cgroup emptied, so that it still watches an empty cgroup
start_in "$CG2" "$T/bin/exe-etcd"
e2=$NS_PID
wait_until 5 prio_is "$e2" 2 || fail "restarted exe-etcd $e2: $(ionice -p "$e2"); $(cat "$T/agent.log")"
grep "^medic agent: repaired .*(exe-etcd)" "$T/agent.log" | tail -1 |
        grep -qE "\((/sys/fs/cgroup/$CG2: populated 1|a process entered etcd's cgroup: looked at again .*)\)$" ||
        fail "the repair of exe-etcd $e2 does not come from its cgroup: $(cat "$T/agent.log")"

step "the unit's process is killed and started again: set"
kill -KILL "$u1"
start_in "$UNIT" "$T/bin/unit-etcd"
u2=$NS_PID
wait_until 5 prio_is "$u2" 1 || fail "restarted unit-etcd $u2: $(ionice -p "$u2"); $(cat "$T/agent.log")"

step "the unit's cgroup is removed and made again (systemd stop, start): still watched"
kill -KILL "$u2"
wait_until 5 eval '[ ! -e /proc/$u2 ]'
nsenter -t "$AGENT" -m -p -- rmdir "/sys/fs/cgroup/$UNIT"
nsenter -t "$AGENT" -m -p -- mkdir "/sys/fs/cgroup/$UNIT"
start_in "$UNIT" "$T/bin/unit-etcd"
u3=$NS_PID
wait_until 5 prio_is "$u3" 1 || fail "unit-etcd $u3 in the re-made cgroup: $(ionice -p "$u3"); $(cat "$T/agent.log")"
n=$(audit_events repair | wc -l)
[ "$n" -ge 4 ] || fail "$n repair records, want at least 4"
kill -KILL "$e2"
wait_until 5 eval '[ ! -e /proc/$e2 ]'
sleep 0.5
grep -q "cgroup.events of .*/sys/fs/cgroup/$CG2" <(tail -1 <(grep "etcd (re)starts seen" "$T/agent.log")) ||
        fail "the exe target's cgroup is no longer watched once its process is gone: $(cat "$T/agent.log")"

step "SIGTERM: exit 0"
kill -TERM "$AGENT"
rc=0
wait "$USH" || rc=$?
assert_eq 0 "$rc" "the agent's exit code (through unshare)"
grep -q "exiting; changes stay in place" "$T/agent.log" || fail "no exit message"

step "without cgroup v2 the agent says it has only the timer"
unshare -m -p -f --mount-proc --propagation private sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh \
        "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" agent \
        --sysctl-interval 3600 >"$T/agent2.log" 2>&1 &
USH2=$!
helper_pid "$USH2"
wait_until 10 grep -q "running with policy" "$T/agent2.log" || fail "the second agent did not start: $(cat "$T/agent2.log")"
AGENT2=$(cat "/proc/$USH2/task/$USH2/children")
AGENT2=${AGENT2%% *}
assert_contains "$T/agent2.log" "no cgroup v2 mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified: etcd (re)starts found at the sysctl timer only" "the second agent's log"
kill -TERM "$AGENT2"
wait "$USH2" || fail "the second agent's exit code: $?"
log "agent log:"
sed 's/^/#   /' "$T/agent.log"
