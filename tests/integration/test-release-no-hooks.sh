#!/bin/bash
# The installed binary (build/medic, MEDIC_RELEASE_BIN) ignores every test hook: the same
# environment that steers the test build (MEDIC_BIN) changes nothing it does. Each step runs
# both builds with the hook set and checks that the test build follows it (so the step can
# fail) and the release build does not. The release binary changes only sysctls of this
# test's network namespace; for mount-options it only audits, so no host mount is touched.
. "$(dirname "$0")/lib.sh"
setup
RELEASE=${MEDIC_RELEASE_BIN:-}
[ -x "$RELEASE" ] || fail "MEDIC_RELEASE_BIN '$RELEASE' is not an executable (make integration sets it)"

# release_ns ARGS...: like medic_ns, with the release binary.
release_ns() {
        _need_ns
        ip netns exec "$NS" "$RELEASE" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}

step "MEDIC_CONF_ROOT: the test build reads the test's sysctl.d, the release build the host's"
mkdir -p "$T/root/etc/sysctl.d"
printf 'net.ipv4.tcp_keepalive_time = 1234\n' >"$T/root/etc/sysctl.d/90-medic-hook.conf"
MEDIC_CONF_ROOT=$T/root expect_rc 2 medic_ns audit
assert_contains "$OUT" "90-medic-hook.conf:1 sets 1234 at boot"
MEDIC_CONF_ROOT=$T/root expect_rc 2 release_ns audit
assert_not_contains "$OUT" "90-medic-hook.conf"
assert_not_contains "$OUT" "sets 1234 at boot"
assert_keepalive 7200 75 9

step "MEDIC_TEST_CRASH_AFTER: the release build does not kill itself mid-apply"
MEDIC_TEST_CRASH_AFTER=1 expect_rc 2 release_ns apply
assert_keepalive 600 60 5
assert_set_state 1 applied
expect_rc 2 release_ns rollback
assert_keepalive 7200 75 9

step "MEDIC_TEST_NO_WATCHER: the release build starts its confirm watcher, which rolls back"
# A window this machine can read the values in (time_scale: 2 s on a quiet one).
time_scale
MEDIC_TEST_NO_WATCHER=1 expect_rc 2 release_ns apply --confirm-within $((2 * TIME_SCALE))
assert_keepalive 600 60 5
wait_until $((10 + 2 * TIME_SCALE)) keepalive_is 7200 75 9 || fail "no watcher rolled back the unconfirmed set (MEDIC_TEST_NO_WATCHER was obeyed)"
# Set 1 was the apply above, 2 its rollback, 3 this apply; the watcher's rollback is 4.
set3_rolled_back() { [ "$(set_state 3)" = rolled-back ]; }
wait_until 5 set3_rolled_back || fail "change set 3 is $(set_state 3), not rolled-back"
no_ns_pids() { [ -z "$(ip netns pids "$NS")" ]; }
wait_until 5 no_ns_pids || fail "the confirm watcher did not exit"

command -v ethtool >/dev/null || skip "needs ethtool for the MEDIC_ETHTOOL step"
step "MEDIC_ETHTOOL=ioctl: the test build takes the ioctl, the release build ethtool netlink"
write_policy "$POLICY" <<'EOF'
medic: 1
name: offload
actions:
  - name: offload
    nic-offload:
      interface: nic0
      features: {tx-checksumming: off}
EOF
ip -n "$NS" link add nic0 type veth peer name nic1
ip -n "$NS" link set nic0 up
ip -n "$NS" link set nic1 up
MEDIC_ETHTOOL=ioctl expect_rc 2 medic_ns -v audit
assert_contains "$OUT" "nic0: driver veth; read through ethtool ioctl"
expect_rc 2 release_ns -v audit
if grep -qF "read through ethtool netlink" "$OUT"; then
        MEDIC_ETHTOOL=ioctl expect_rc 2 release_ns -v audit
        assert_contains "$OUT" "nic0: driver veth; read through ethtool netlink"
else
        log "this kernel has no ethtool netlink family: both builds use the ioctl, nothing to tell apart"
fi

step "MEDIC_HOST_MNTNS_PID: the release build looks at PID 1's mount namespace, not the test's"
# A stand-in for PID 1: a process in a private mount namespace of its own, with a tmpfs
# mounted only there (nothing is mounted in the host's namespace).
mkdir -p "$T/data/etcd"
unshare -m --propagation private sleep 600 &
standin=$!
helper_pid "$standin"
standin_ready() { [ "$(readlink "/proc/$standin/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]; }
wait_until 5 standin_ready || fail "the stand-in process did not start"
[ "$(readlink "/proc/$standin/ns/mnt")" != "$(readlink /proc/1/ns/mnt)" ] || fail "the stand-in shares PID 1's mount namespace"
nsenter -t "$standin" -m mount -t tmpfs -o relatime,size=1m medic-hook "$T/data"
nsenter -t "$standin" -m mkdir "$T/data/etcd"
# mount_id_of PID PATH: the id of the mount PATH is on in PID's mount namespace, not read
# by medic: through /proc/PID/root (an fd's fdinfo), or where that is refused (this
# machine's PID 1 cannot be ptrace-read even with CAP_SYS_PTRACE) the longest mount point
# in /proc/PID/mountinfo that holds PATH, the same fallback medic takes.
mount_id_of() {
        python3 - "$1" "$2" <<'PY' || fail "cannot find the mount of $2 in the namespace of pid $1"
import os, sys
pid, path = sys.argv[1], sys.argv[2]
try:
    fd = os.open("/proc/%s/root%s" % (pid, path), os.O_PATH)
    print([l.split()[1] for l in open("/proc/self/fdinfo/%d" % fd) if l.startswith("mnt_id:")][0])
    sys.exit(0)
except PermissionError:
    pass
best = None
for line in open("/proc/%s/mountinfo" % pid):
    f = line.split()
    target = f[4].replace("\\040", " ")
    if path == target or path.startswith(target.rstrip("/") + "/"):
        if best is None or len(target) >= len(best[1]):
            best = (f[0], target)
print(best[0])
PY
}
standin_id=$(mount_id_of "$standin" "$T/data/etcd")
host_id=$(mount_id_of 1 "$T/data/etcd")
[ -n "$standin_id" ] && [ -n "$host_id" ] && [ "$standin_id" != "$host_id" ] ||
        fail "cannot tell the stand-in's mount ($standin_id) from PID 1's ($host_id)"
write_policy "$POLICY" <<EOF
medic: 1
name: mnt
actions:
  - name: atime
    mount-options: {path: "$T/data/etcd", set: [noatime]}
EOF
MEDIC_HOST_MNTNS_PID=$standin expect_rc 2 medic_ns --json audit
py_assert "$OUT" 'd["items"][0]["wanted"]["observed"]["mount_id"] == '"$standin_id" "the test build's planned mount (the stand-in's tmpfs)"
MEDIC_HOST_MNTNS_PID=$standin run_capture release_ns --json audit
case $RC in 0 | 2) ;; *) _dump stderr "$ERR"; fail "release audit: exit $RC" ;; esac
py_assert "$OUT" 'd["items"][0]["wanted"]["observed"]["mount_id"] == '"$host_id" "the release build's planned mount (PID 1's)"
assert_not_contains "$OUT" "medic-hook"
assert_not_contains "$OUT" "pid $standin"
assert_eq relatime "$(findmnt -N "$standin" -rn -o VFS-OPTIONS --mountpoint "$T/data" | tr ',' '\n' | grep -x relatime)" \
        "the stand-in's tmpfs after both audits"

step "MEDIC_TEST_NLROUTE: the test build loads the missing file it names, the release build libnl-route-3"
ip -n "$NS" link add hk0 type veth peer name hk1
ip -n "$NS" link set hk0 up
ip -n "$NS" link set hk1 up
printf 'medic: 1\nname: hook-tc\nactions:\n  - name: peer first\n    traffic-priority:\n      interface: hk0\n      backend: htb\n      rate: 1gbit\n      bands:\n        - {name: peer, ports: [2380]}\n' >"$T/tc.yaml"
chmod 0644 "$T/tc.yaml"
tc_run() { # BINARY ARGS...
        local bin=$1
        shift
        ip netns exec "$NS" "$bin" --policy "$T/tc.yaml" --state-dir "$T/state-tc" --audit-log "$T/tc.audit.jsonl" "$@"
}
MEDIC_TEST_NLROUTE=$T/no-such.so expect_rc 4 tc_run "$MEDIC_BIN" apply
assert_contains "$OUT" "hk0: libnl-route-3 cannot be loaded"
tc -n "$NS" qdisc show dev hk0 | grep -q ' 1: root' && fail "the test build built a root without the library"
MEDIC_TEST_NLROUTE=$T/no-such.so expect_rc 2 tc_run "$RELEASE" apply
tc -n "$NS" qdisc show dev hk0 | grep -q '^qdisc htb 1: root' || fail "the release build built no root: $(tc -n "$NS" qdisc show dev hk0)"
MEDIC_TEST_NLROUTE=$T/no-such.so expect_rc 2 tc_run "$RELEASE" rollback
tc -n "$NS" qdisc show dev hk0 | grep -q ' 1: root' && fail "the release build's rollback left the root"
true
