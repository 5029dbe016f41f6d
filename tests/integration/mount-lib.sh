# shellcheck shell=bash
# Helpers for the mount-options tests. Source it first thing in a test:
#
#   . "$(dirname "$0")/mount-lib.sh"
#   mount_setup                  # temp dir, policy, state, a test fstab; we are in a private mount ns
#   mount -t tmpfs ... "$T/mnt"  # mounts exist only in this test's namespace
#   expect_rc 2 medic apply
#   assert_opts "$T/mnt" rw,nosuid,nodev,noatime   # checked with findmnt, not with medic
#
# The absolute rule: mount flags are per mount namespace, and medic acts on the namespace of
# MEDIC_HOST_MNTNS_PID (PID 1 by default). Sourcing this file re-runs the test inside
# `unshare -m --propagation private`, and medic() always points MEDIC_HOST_MNTNS_PID at a
# process of that namespace (or of one the test made), never at PID 1. The outer shell
# stays in the host's namespace and checks, after the test, that nothing of it is mounted
# there and that no loop device of it is left.

if [ -z "${MEDIC_MNT_INNER:-}" ]; then
        [ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
        for tool in unshare findmnt mount umount python3 setpriv; do
                command -v "$tool" >/dev/null || { echo "skipped: needs $tool"; exit 77; }
        done
        _outer_rc=0
        MEDIC_MNT_INNER=$$ unshare -m --propagation private bash "$0" "$@" || _outer_rc=$?
        _leak=$(findmnt -rn -o TARGET | grep -F "/tmp/medic-it.m$$." || true)
        if [ -n "$_leak" ]; then
                printf 'FAIL: the test left mounts in the host mount namespace:\n%s\n' "$_leak" >&2
                _outer_rc=1
        fi
        # A loop device still in use when detached is cleared when its last user goes.
        for _ in 1 2 3 4 5 6 7 8 9 10; do
                _loops=$(losetup -a 2>/dev/null | grep -F "/tmp/medic-it.m$$." || true)
                [ -z "$_loops" ] && break
                sleep 0.2
        done
        if [ -n "$_loops" ]; then
                printf 'FAIL: the test left loop devices attached:\n%s\n' "$_loops" >&2
                _outer_rc=1
        fi
        exit "$_outer_rc"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

HOST_SHELL=$MEDIC_MNT_INNER # a process in the host's mount namespace: the outer shell
_LOOPS=()

# loop_attach FILE: sets LOOP_DEV to a loop device for FILE; detached at exit. (Not in a
# command substitution: the subshell would forget the device.)
LOOP_DEV=""
loop_attach() {
        LOOP_DEV=$(losetup -f --show "$1") || fail "losetup $1"
        _LOOPS+=("$LOOP_DEV")
}

# ext4_loop_image [MKFS-OPTION...]: a 32 MiB ext4 file system in $T/disk.img on a loop device
# (LOOP_DEV, detached at exit); skips the test without mkfs.ext4 or losetup.
ext4_loop_image() {
        command -v mkfs.ext4 >/dev/null || skip "needs mkfs.ext4 (e2fsprogs)"
        command -v losetup >/dev/null || skip "needs losetup"
        truncate -s 32M "$T/disk.img"
        mkfs.ext4 -q -F "$@" "$T/disk.img"
        loop_attach "$T/disk.img"
}

_mnt_cleanup() {
        local pid m dev
        for pid in "${_HELPER_PIDS[@]}"; do
                kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        done
        _HELPER_PIDS=()
        if [ -n "$T" ]; then
                # Deepest first; these mounts exist only in this test's namespace.
                for m in $(findmnt -rn -o TARGET | grep -F "$T/" | sort -r); do
                        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
                done
        fi
        for dev in "${_LOOPS[@]}"; do
                losetup -d "$dev" 2>/dev/null
        done
}

_mnt_exit() {
        local rc=$?
        set +e
        _mnt_cleanup
        (exit "$rc")
        _cleanup
}
trap _mnt_exit EXIT

mount_setup() {
        [ -x "${MEDIC_BIN:-}" ] || fail "MEDIC_BIN '${MEDIC_BIN:-}' is not an executable"
        [ "$(readlink /proc/self/ns/mnt)" != "$(readlink "/proc/$HOST_SHELL/ns/mnt")" ] ||
                fail "internal: not in a private mount namespace"
        T=$(mktemp -d "/tmp/medic-it.m$HOST_SHELL.XXXXXX")
        chmod 0755 "$T"
        mkdir -m 1777 "$T/san"
        POLICY=$T/policy.yaml
        STATE=$T/state
        mkdir -m 0700 "$STATE"
        AUDIT=$T/audit.jsonl
        # The notes read DIR/etc/fstab and DIR/etc/systemd/system: a test fstab, never the host's.
        mkdir -p "$T/root/etc/systemd/system"
        printf '# test fstab\n' >"$T/root/etc/fstab"
        export MEDIC_CONF_ROOT=$T/root
        if [ "${MEDIC_SAN:-0}" = 1 ]; then
                export ASAN_OPTIONS="detect_leaks=0:log_path=$T/san/asan:${ASAN_OPTIONS_EXTRA:-}"
                export UBSAN_OPTIONS="print_stacktrace=1:log_path=$T/san/ubsan"
        fi
        HOST_PID=$$ # whose namespace medic treats as the host's
}

# medic ARGS...: medic with the temp dir's policy, state and log, acting on the mount
# namespace of $HOST_PID (this test's own, unless the test says otherwise).
medic() {
        [ -n "${HOST_PID:-}" ] && [ "$HOST_PID" != 1 ] || fail "internal: medic run without a test namespace"
        MEDIC_HOST_MNTNS_PID=$HOST_PID "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}

# mount_policy PATH OPTION...: a one-action policy.
mount_policy() {
        local path=$1 set
        shift
        set=$(printf '%s, ' "$@")
        write_policy "$POLICY" <<EOF
medic: 1
name: mnt
actions:
  - name: atime
    mount-options: {path: "$path", set: [${set%, }]}
EOF
}

# opts DIR [PID]: the per-mount options of the (top) mount on DIR, read by findmnt in the
# namespace of PID (default: this test's).
opts() {
        findmnt ${2:+-N "$2"} -rn -o VFS-OPTIONS --mountpoint "$1" | tail -n 1
}

assert_opts() {
        assert_eq "$2" "$(opts "$1" "${3:-}")" "findmnt options of $1${3:+ in the namespace of pid $3}"
}

# The host's namespace never sees the test's mounts.
assert_host_clean() {
        local seen
        seen=$(findmnt -N "$HOST_SHELL" -rn -o TARGET | grep -F "$T" || true)
        [ -z "$seen" ] || fail "the host's mount namespace sees the test's mounts: $seen"
}

# strace_medic FILE ARGS...: medic under strace -f, the mount system calls to FILE.
strace_medic() {
        local file=$1
        shift
        MEDIC_HOST_MNTNS_PID=$HOST_PID strace -f -qq -e trace=mount,mount_setattr -o "$file" \
                "$MEDIC_BIN" --policy "$POLICY" --state-dir "$STATE" --audit-log "$AUDIT" "$@"
}
