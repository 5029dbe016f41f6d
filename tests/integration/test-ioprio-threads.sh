#!/usr/bin/env bash
# io-priority on a process that keeps creating threads while medic applies: every thread
# ends up set. Also times apply on a 100-thread process. Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
ioprio_setup

comm=mt$$
comm=${comm:0:15}
# Spawns threads that live 0.2-1 s, 8 at a time, for 300 s (until killed: the checks
# below must find it running however slow the machine); each new thread is created by a
# spawner thread, so the race is real.
python3 - "$comm" <<'PY' &
import ctypes, random, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
def spawner():
    end = time.time() + 300
    while time.time() < end:
        threading.Thread(target=time.sleep, args=(random.uniform(0.2, 1.0),), daemon=True).start()
        time.sleep(0.0025)
for _ in range(8):
    threading.Thread(target=spawner, daemon=True).start()
time.sleep(300)
PY
churn=$!
helper_pid "$churn"
# python3 takes a while to rename itself and start its threads on a slow machine (a loaded
# host, tests/vm's TCG guest).
named() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && [ "$(ls "/proc/$1/task" | wc -l)" -ge "$3" ]; }
wait_until 60 named "$churn" "$comm" 9 || fail "the churn helper did not become $comm with 9 threads"
write_policy "$POLICY" <<POL
medic: 1
targets:
  t: {process: {comm: $comm}}
actions:
  - name: churn
    io-priority: {target: t, class: best-effort, level: 1}
POL
rc=0; out=$(medic_host apply) || rc=$?
[ $rc = 2 ] || fail "apply on churning process: rc $rc: $out"
bad=0; total=0
for t in /proc/$churn/task/*; do
        v=$(ionice -p "${t##*/}" 2>/dev/null) || continue
        total=$((total + 1))
        [ "$v" = "best-effort: prio 1" ] || { bad=$((bad + 1)); echo "thread ${t##*/}: $v"; }
done
[ $bad = 0 ] || fail "$bad of $total threads not set while threads were being created"
[ $total -gt 1 ] || fail "the churn helper had no threads"

# 100 threads: time apply (wall clock, one run; the benchmark is tests/bench).
comm2=ht$$
comm2=${comm2:0:15}
python3 - "$comm2" <<'PY' &
import ctypes, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
for _ in range(99):
    threading.Thread(target=time.sleep, args=(300,), daemon=True).start()
time.sleep(300)
PY
hundred=$!
helper_pid "$hundred"
wait_until 60 named "$hundred" "$comm2" 100 || fail "the 100-thread helper did not become $comm2 with 100 threads"
sed -i "s/comm: $comm/comm: $comm2/" "$POLICY"
start=$(date +%s%N)
rc=0; out=$(medic_host apply) || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 2 ] || fail "apply on 100 threads: rc $rc: $out"
n=0
for t in /proc/$hundred/task/*; do
        [ "$(ionice -p "${t##*/}")" = "best-effort: prio 1" ] || fail "thread ${t##*/} not set"
        n=$((n + 1))
done
echo "ok: churn $total threads all set; apply on $n threads took ${ms} ms"
