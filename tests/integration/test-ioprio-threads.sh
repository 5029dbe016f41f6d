#!/usr/bin/env bash
# io-priority on a process that keeps creating threads while medic applies: every thread
# ends up set. Also times apply on a 100-thread process. Exit 77 = skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ioprio-lib.sh"
ioprio_setup

comm=mt$$
comm=${comm:0:15}
# Spawns threads that live 0.2-1 s, 8 at a time, for 30 s; each new thread is created
# by a spawner thread, so the race is real.
python3 - "$comm" <<'PY' &
import ctypes, random, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
def spawner():
    end = time.time() + 30
    while time.time() < end:
        threading.Thread(target=time.sleep, args=(random.uniform(0.2, 1.0),), daemon=True).start()
        time.sleep(0.0025)
for _ in range(8):
    threading.Thread(target=spawner, daemon=True).start()
time.sleep(30)
PY
churn=$!
helper_pid "$churn"
# A loaded machine can take longer than python's start: wait until it has named itself.
named() { [ "$(cat /proc/"$churn"/comm 2>/dev/null)" = "$comm" ]; }
wait_until 10 named || fail "the churn helper did not name itself $comm"
sleep 0.5
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
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
time.sleep(30)
PY
hundred=$!
helper_pid "$hundred"
for _ in $(seq 50); do [ "$(ls /proc/$hundred/task | wc -l)" -ge 100 ] && break; sleep 0.1; done
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
