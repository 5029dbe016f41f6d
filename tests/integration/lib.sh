# shellcheck shell=bash
# Shared helpers for medic's integration tests. Source it first thing in a test:
#
#   . "$(dirname "$0")/lib.sh"
#   setup                       # temp dir, root-owned policy, state dir, network namespace
#   expect_rc 2 medic_ns apply  # medic inside the namespace, with the temp dir's files
#   assert_keepalive 600 60 5   # read back with cat /proc/sys inside the namespace
#
# The absolute rule: medic changes sysctls of the network namespace it runs in, so every
# medic run goes through medic_ns (or nobody_ns), which refuses to run without a namespace
# this test created. The host's own keepalive values are read before the test and checked
# again at the end and by every assert_keepalive, outside any namespace.
#
# Environment (set by tests/integration/run):
#   MEDIC_BIN      the medic binary to test (absolute path)
#   MEDIC_SAN      1 when MEDIC_BIN is a sanitizer build: reports go to files and fail the test
#   MEDIC_IT_SKIP  file where skip() writes its reason for the runner

set -eEu -o pipefail

readonly KEEPALIVE_KEYS="net.ipv4.tcp_keepalive_time net.ipv4.tcp_keepalive_intvl net.ipv4.tcp_keepalive_probes"

T=""            # temp dir (0755 so that user nobody can reach the policy in test 10)
NS=""           # the network namespace of this test
POLICY=""       # root-owned 0644 policy file
STATE=""        # 0700 state directory
AUDIT=""        # audit log
OUT="" ERR=""   # stdout and stderr of the last expect_rc / run_capture
RC=0            # exit code of the last expect_rc / run_capture
_NS_LIST=()
_HELPER_PIDS=()
_AT_EXIT=()
_NS_COUNT=0
_STEP=""

# ---- reporting ----

log() { printf '# %s\n' "$*"; }

fail() {
        [ -n "$T" ] && : >"$T/.failed"
        printf 'FAIL: %s\n' "$*" >&2
        [ -n "$_STEP" ] && printf '  (step: %s)\n' "$_STEP" >&2
        exit 1
}

# soft_fail MESSAGE: a failure that does not stop the test (so that the checks after it
# still run and report); the test fails at the end.
soft_fail() {
        printf 'FAIL: %s\n' "$*" >&2
        [ -n "$_STEP" ] && printf '  (step: %s)\n' "$_STEP" >&2
        printf '%s\n' "$*" >>"$T/.soft-failures"
}

# step "what the next commands check": named in failure messages.
step() { _STEP="$*"; log "$*"; }

skip() {
        [ -n "${MEDIC_IT_SKIP:-}" ] && printf '%s\n' "$*" >"$MEDIC_IT_SKIP"
        printf 'SKIP: %s\n' "$*"
        exit 77
}

_dump() {
        local label=$1 file=$2
        [ -s "$file" ] || return 0
        printf '  --- %s ---\n' "$label" >&2
        sed 's/^/  | /' "$file" | head -n 60 >&2
}

# ---- the host: read only, outside any namespace ----

host_keepalive() {
        local k out=""
        for k in $KEEPALIVE_KEYS; do
                out="$out $(tr -s ' \t' ' ' <"/proc/sys/${k//.//}")"
        done
        printf '%s\n' "${out# }"
}

HOST_KEEPALIVE_AT_START=$(host_keepalive)

assert_host_unchanged() {
        local now
        now=$(host_keepalive)
        [ "$now" = "$HOST_KEEPALIVE_AT_START" ] ||
                fail "THE HOST's keepalive sysctls changed: were '$HOST_KEEPALIVE_AT_START', now '$now'"
}

# ---- setup and cleanup ----

_cleanup() {
        local rc=$? pid ns f
        trap - EXIT ERR
        set +e
        for pid in "${_HELPER_PIDS[@]}"; do
                kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        done
        for f in "${_AT_EXIT[@]}"; do
                eval "$f"
        done
        # Whatever still runs in our namespaces is ours (a confirm watcher): end it by pid.
        for ns in "${_NS_LIST[@]}"; do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do
                        kill -KILL "$pid" 2>/dev/null
                done
                ip netns del "$ns" 2>/dev/null || printf 'cleanup: cannot delete netns %s\n' "$ns" >&2
        done
        if [ -n "$T" ] && [ -d "$T/san" ]; then
                for f in "$T"/san/*; do
                        [ -e "$f" ] || continue
                        printf 'FAIL: sanitizer report from medic (%s):\n' "${f##*/}" >&2
                        sed 's/^/  | /' "$f" | head -n 80 >&2
                        [ "$rc" = 0 ] && rc=1
                done
        fi
        if [ -n "$T" ] && [ -s "$T/.soft-failures" ]; then
                printf 'FAIL: %s check(s) failed along the way:\n' "$(wc -l <"$T/.soft-failures")" >&2
                sed 's/^/  - /' "$T/.soft-failures" >&2
                [ "$rc" = 0 ] && rc=1
        fi
        local now
        now=$(host_keepalive)
        if [ "$now" != "$HOST_KEEPALIVE_AT_START" ]; then
                printf 'FAIL: THE HOST keepalive sysctls changed during the test: were %s, now %s\n' \
                        "$HOST_KEEPALIVE_AT_START" "$now" >&2
                [ "$rc" = 0 ] || [ "$rc" = 77 ] && rc=1
        fi
        [ -n "$T" ] && case "$T" in /tmp/medic-it.*) rm -rf "$T" ;; esac
        exit "$rc"
}

_on_err() {
        # fail() has said why already (possibly from a subshell); else name the command.
        [ -n "$T" ] && [ -e "$T/.failed" ] && return 0
        printf 'FAIL: %s:%s: command failed (rc %s): %s\n' "${BASH_SOURCE[1]##*/}" "${BASH_LINENO[0]}" "$1" "$BASH_COMMAND" >&2
}

trap _cleanup EXIT
trap '_on_err $?' ERR

# new_netns: creates medic-t-PID-N and sets NS to it.
new_netns() {
        _NS_COUNT=$((_NS_COUNT + 1))
        local ns="medic-t-$$-$_NS_COUNT"
        ip netns add "$ns" || fail "cannot create network namespace $ns"
        _NS_LIST+=("$ns")
        NS=$ns
}

# helper_pid PID: a background helper this test started; killed at exit.
helper_pid() { _HELPER_PIDS+=("$1"); }

# at_exit COMMAND: run at exit, after the helpers are killed (undo what the test set up on
# the host, such as a test-only cgroup).
at_exit() { _AT_EXIT+=("$*"); }

# write_policy FILE: stdin → FILE, owned by root, mode 0644 (what apply accepts).
write_policy() {
        cat >"$1"
        chown 0:0 "$1"
        chmod 0644 "$1"
}

# The shipped default: the three keepalive sysctls (600/60/5).
default_policy() {
        write_policy "$1" <<'EOF'
medic: 1
name: etcd
actions:
  - name: faster dead-peer detection
    sysctl:
      net.ipv4.tcp_keepalive_time: 600
      net.ipv4.tcp_keepalive_intvl: 60
      net.ipv4.tcp_keepalive_probes: 5
EOF
}

# setup: temp dir, policy (stdin if given with "-", else the default), state dir, netns.
setup() {
        for tool in ip python3 setpriv flock; do
                command -v "$tool" >/dev/null || skip "needs $tool"
        done
        [ "$(id -u)" = 0 ] || skip "needs root"
        [ -x "${MEDIC_BIN:-}" ] || fail "MEDIC_BIN '${MEDIC_BIN:-}' is not an executable"
        T=$(mktemp -d /tmp/medic-it.XXXXXX)
        chmod 0755 "$T"
        mkdir -m 1777 "$T/san"
        POLICY=$T/policy.yaml
        if [ "${1:-}" = - ]; then
                write_policy "$POLICY"
        else
                default_policy "$POLICY"
        fi
        STATE=$T/state
        mkdir -m 0700 "$STATE"
        AUDIT=$T/audit.jsonl
        new_netns
        if [ "${MEDIC_SAN:-0}" = 1 ]; then
                export ASAN_OPTIONS="detect_leaks=0:log_path=$T/san/asan:${ASAN_OPTIONS_EXTRA:-}"
                export UBSAN_OPTIONS="print_stacktrace=1:log_path=$T/san/ubsan"
        fi
        # A fresh namespace starts from the kernel defaults; the tests rely on them.
        assert_keepalive 7200 75 9
}

# ---- running medic, always inside the namespace ----

_need_ns() {
        [ -n "$NS" ] || fail "internal: medic run without a test network namespace"
        case "$NS" in medic-t-$$-*) ;; *) fail "internal: '$NS' is not this test's namespace" ;; esac
}

# medic_ns ARGS...: medic in the test netns with the temp dir's policy, state and log.
# Later options override these (getopt keeps the last --policy etc.).
medic_ns() {
        _need_ns
        ip netns exec "$NS" "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}

# nobody_ns ARGS...: the same as user nobody with no capabilities and no groups.
nobody_ns() {
        _need_ns
        ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}

# run_capture CMD...: runs it; stdout → $OUT, stderr → $ERR, exit code → $RC. Never fails.
_CAP_N=0
run_capture() {
        _CAP_N=$((_CAP_N + 1))
        OUT=$T/out.$_CAP_N
        ERR=$T/err.$_CAP_N
        RC=0
        "$@" >"$OUT" 2>"$ERR" || RC=$?
        return 0
}

# expect_rc N CMD...: runs CMD (output in $OUT/$ERR); fails the test unless it exits N.
expect_rc() {
        local want=$1
        shift
        run_capture "$@"
        if [ "$RC" != "$want" ]; then
                printf 'FAIL: expected exit %s, got %s: %s\n' "$want" "$RC" "$*" >&2
                _dump stdout "$OUT"
                _dump stderr "$ERR"
                fail "exit code of: $*"
        fi
        log "ok: rc $RC: $*"
}

# ---- assertions ----

assert_eq() {
        local want=$1 got=$2 what=${3:-value}
        [ "$want" = "$got" ] || fail "$what: expected '$want', got '$got'"
}

# assert_contains FILE TEXT [what]: fixed-string match.
assert_contains() {
        local file=$1 text=$2 what=${3:-output}
        if ! grep -qF -- "$text" "$file"; then
                printf 'FAIL: %s does not contain: %s\n' "$what" "$text" >&2
                _dump "$what" "$file"
                fail "$what lacks '$text'"
        fi
}

assert_not_contains() {
        local file=$1 text=$2 what=${3:-output}
        if grep -qF -- "$text" "$file"; then
                printf 'FAIL: %s contains: %s\n' "$what" "$text" >&2
                _dump "$what" "$file"
                fail "$what has '$text'"
        fi
}

# assert_match FILE ERE [what]: extended regex, line-wise.
assert_match() {
        local file=$1 re=$2 what=${3:-output}
        if ! grep -qE -- "$re" "$file"; then
                printf 'FAIL: %s has no line matching: %s\n' "$what" "$re" >&2
                _dump "$what" "$file"
                fail "$what does not match /$re/"
        fi
}

assert_empty() {
        local file=$1 what=${2:-output}
        if [ -s "$file" ]; then
                _dump "$what" "$file"
                fail "$what should be empty"
        fi
}

# ---- kernel state inside the namespace, read with cat (not with medic) ----

# sysctl_ns KEY: the namespace's value, blanks squeezed to one space.
sysctl_ns() {
        _need_ns
        ip netns exec "$NS" cat "/proc/sys/${1//.//}" | tr -s ' \t' ' '
}

# set_sysctl_ns KEY VALUE: a "foreign" change inside the namespace only.
set_sysctl_ns() {
        _need_ns
        # shellcheck disable=SC2016 # expanded by the inner sh
        ip netns exec "$NS" sh -c 'printf "%s\n" "$1" >"$2"' sh "$2" "/proc/sys/${1//.//}"
}

assert_sysctl() {
        local got
        got=$(sysctl_ns "$1")
        assert_eq "$2" "$got" "netns $NS: $1"
}

# assert_keepalive TIME INTVL PROBES: the namespace's three keepalive values, exactly.
assert_keepalive() {
        local got
        got="$(sysctl_ns net.ipv4.tcp_keepalive_time) $(sysctl_ns net.ipv4.tcp_keepalive_intvl) $(sysctl_ns net.ipv4.tcp_keepalive_probes)"
        assert_eq "$1 $2 $3" "$got" "netns keepalive time/intvl/probes"
        assert_host_unchanged
}

# ---- the journal and the audit log ----

# change_set_ids: the ids in STATE/changes, sorted, space separated ("" when none).
change_set_ids() {
        local d=${1:-$STATE}/changes f ids=()
        [ -d "$d" ] || { echo ""; return 0; }
        for f in "$d"/*.json; do
                [ -e "$f" ] || continue
                f=${f##*/}
                ids+=("${f%.json}")
        done
        [ ${#ids[@]} -gt 0 ] || { echo ""; return 0; }
        printf '%s\n' "${ids[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

assert_change_sets() {
        assert_eq "$1" "$(change_set_ids "${2:-}")" "change sets in ${2:-$STATE}/changes"
}

# py FILE EXPR: evaluates EXPR with d = the JSON document in FILE (json.load: exactly one
# document, nothing else; a change-set file under changes/ is read with its appended
# records by journal.py) and prints the result. Fails the test if FILE cannot be read so.
py() {
        local file=$1 expr=$2
        PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")" python3 - "$file" "$expr" <<'EOF' || fail "python check failed on $file: $expr"
import json, sys
import journal
with open(sys.argv[1]) as f:
    text = f.read()
try:
    if "/changes/" in sys.argv[1]:
        d = journal.read_set(sys.argv[1])
    else:
        d = json.loads(text)
except ValueError as e:
    sys.stderr.write("not exactly one JSON document: %s\n" % e)
    sys.exit(1)
v = eval("(" + sys.argv[2] + "\n)", {"d": d, "json": json})
print(v if not isinstance(v, (dict, list, bool)) or v is None else json.dumps(v, sort_keys=True))
EOF
}

# py_assert FILE EXPR [what]: the Python expression over d must be true.
py_assert() {
        local got
        got=$(py "$1" "$2")
        [ "$got" = True ] || [ "$got" = true ] || {
                _dump "${3:-$1}" "$1"
                fail "${3:-$1}: not true: $2 (got $got)"
        }
}

journal_file() { printf '%s/changes/%s.json\n' "$STATE" "$1"; }

# set_state ID: the state field of change set ID, read from the file (not through medic).
set_state() { py "$(journal_file "$1")" 'd["state"]'; }

assert_set_state() { assert_eq "$2" "$(set_state "$1")" "state of change set $1"; }

# audit_events [EVENT]: prints the audit log's lines (all, or of one event type); fails
# if any line is not a JSON object.
audit_events() {
        python3 - "$AUDIT" "${1:-}" <<'EOF' || fail "audit log $AUDIT: a line is not a JSON object"
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    try:
        d = json.loads(line)
    except ValueError as e:
        sys.stderr.write("line %d: %s\n" % (n, e))
        sys.exit(1)
    if not isinstance(d, dict):
        sys.stderr.write("line %d: not an object\n" % n)
        sys.exit(1)
    if not sys.argv[2] or d.get("event") == sys.argv[2]:
        print(json.dumps(d, sort_keys=True))
EOF
}

count_events() { audit_events "$1" | wc -l | tr -d ' '; }

# wait_until SECONDS CMD...: polls CMD every 0.1 s; returns 1 on timeout. SECONDS bounds
# something that is bound to happen (etcd ready, the agent's repair), so it is multiplied
# by MEDIC_IT_TIME_SCALE where that says this machine is slow (tests/vm's TCG guest).
wait_until() {
        local deadline=$(( $(date +%s%N) / 1000000 + ${1%.*} * 1000 * ${MEDIC_IT_TIME_SCALE:-1} ))
        shift
        until "$@"; do
                [ "$(( $(date +%s%N) / 1000000 ))" -lt "$deadline" ] || return 1
                sleep 0.1
        done
}

keepalive_is() {
        [ "$(sysctl_ns net.ipv4.tcp_keepalive_time) $(sysctl_ns net.ipv4.tcp_keepalive_intvl) $(sysctl_ns net.ipv4.tcp_keepalive_probes)" = "$*" ]
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# assert_keepalive_items FILE STATUS: the items of FILE's --json document are the shipped
# default's three keepalive sysctls, in order, each with STATUS, from the kernel defaults
# (7200 75 9) to the policy's values (600 60 5).
assert_keepalive_items() {
        py_assert "$1" '[(i["object"], i["status"], i["current"][i["object"]], i["wanted"][i["object"]]) for i in d["items"]] == [
    ("net.ipv4.tcp_keepalive_time", "'"$2"'", "7200", "600"),
    ("net.ipv4.tcp_keepalive_intvl", "'"$2"'", "75", "60"),
    ("net.ipv4.tcp_keepalive_probes", "'"$2"'", "9", "5")]'
}

# time_scale: sets TIME_SCALE (and TIME_PROBE_MS), the factor by which a test stretches
# the wall-clock windows it gives medic (--confirm-within, the waits for its watcher). Such
# a test checks the state inside the window with a few commands; 2 s hold them with room
# to spare on a quiet machine, not on a loaded one or in tests/vm's TCG guest, where a
# process start takes 0.2-0.5 s. So it is measured: one read in the namespace, one python3
# check and one medic run take TIME_PROBE_MS here; a 2 s window should hold 8 of these, so
# TIME_SCALE = ceil(8 * TIME_PROBE_MS / 2000 ms), at least 1 and at least
# $MEDIC_IT_TIME_SCALE (tests/vm sets a floor). Only the windows' lengths change; what
# the tests assert about them (nothing undone before the end, undone soon after) does not.
time_scale() {
        local t0 s floor=${MEDIC_IT_TIME_SCALE:-1}
        [ -z "${TIME_SCALE:-}" ] || return 0
        printf '{}\n' >"$T/time-probe.json"
        t0=$(now_ms)
        sysctl_ns net.ipv4.tcp_keepalive_time >/dev/null
        py "$T/time-probe.json" 'd' >/dev/null
        medic_ns history >/dev/null 2>&1 || true
        TIME_PROBE_MS=$(( $(now_ms) - t0 ))
        s=$(( (8 * TIME_PROBE_MS + 1999) / 2000 ))
        [ "$s" -ge "$floor" ] || s=$floor
        [ "$s" -ge 1 ] || s=1
        TIME_SCALE=$s
        log "time scale $TIME_SCALE: a read, a python3 check and a medic run took $TIME_PROBE_MS ms (floor $floor)"
}
