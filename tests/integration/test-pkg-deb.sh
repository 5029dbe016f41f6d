#!/bin/bash
# The package from `make deb`, installed for real into this machine's dpkg database:
# dpkg -i, the file list, /usr/sbin/medic --version, a read-only `medic audit` with the
# installed default policy (inside the test's network namespace), tmpfiles.d's
# directories, systemd-analyze verify on the installed units (man pages included), no
# unit enabled; dpkg -r, then dpkg -P leaves nothing behind, except a log directory that
# holds data. Always purged at the end.
#
# Guard: a medic that this test did not install is never touched. The test skips when
# /usr/sbin/medic exists or the medic package is installed before it starts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg-lib.sh"
command -v dpkg >/dev/null || skip "not a Debian system (no dpkg)"
# tests/vm's guest shares this host's /usr read-only and has no dpkg database of its own.
[ -w /var/lib/dpkg/status ] || skip "no writable dpkg database (/var/lib/dpkg/status) to install into"
[ -w /usr/sbin ] || skip "/usr/sbin is read-only here: the package cannot be installed"
DEB=$(pkg_deb)
setup

# One package test at a time on this machine (other checkouts may run theirs).
exec 9>/run/medic-pkg-test.lock
flock -w 120 9 || fail "another medic package test holds /run/medic-pkg-test.lock"

if dpkg-query -W -f='${Status}' medic 2>/dev/null | grep -q ' installed$'; then
        skip "the medic package is installed on this machine ($(dpkg-query -W -f='${Version}' medic)): not replacing or purging it"
fi
if [ -e /usr/sbin/medic ]; then
        skip "/usr/sbin/medic exists and is not from the medic package ($(dpkg -S /usr/sbin/medic 2>/dev/null || echo 'no package')): not clobbering it"
fi
had() { [ -e "$1" ] && echo 1 || echo 0; }
HAD_STATE=$(had /var/lib/medic) HAD_LOG=$(had /var/log/medic) HAD_ETC=$(had /etc/medic)
INSTALLED=0

purge() {
        [ "$INSTALLED" = 1 ] || return 0
        if dpkg-query -W -f='${Status}' medic 2>/dev/null | grep -qv '^unknown ok not-installed$'; then
                DEBIAN_FRONTEND=noninteractive dpkg -P medic >/dev/null 2>&1 || printf 'cleanup: dpkg -P medic failed\n' >&2
        fi
        # What this test made (and only that): the data it left in the log directory.
        [ "$HAD_LOG" = 1 ] || rm -rf /var/log/medic
        [ "$HAD_STATE" = 1 ] || rm -rf /var/lib/medic
        [ "$HAD_ETC" = 1 ] || rm -rf /etc/medic
}
# Purge first, then lib.sh's cleanup with the test's exit code (errexit off: (exit 1) must
# not end the trap).
trap 'rc=$?; set +eE; trap - ERR; purge; (exit $rc); _cleanup' EXIT

VERSION=$(dpkg-deb -f "$DEB" Version)
step "the package depends on the libraries medic loads itself"
# libnl-route-3 is dlopen()ed (agent/kernel/nlroute.c): dpkg-shlibdeps cannot see it.
depends=$(dpkg-deb -f "$DEB" Depends)
grep -q '\blibnl-route-3-200\b' <<<"$depends" || fail "Depends lacks libnl-route-3-200: $depends"
grep -q '\blibnl-3-200\b' <<<"$depends" || fail "Depends lacks libnl-3-200: $depends"
step "dpkg -i $(basename "$DEB")"
INSTALLED=1
expect_rc 0 env DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB"
assert_eq "install ok installed $VERSION" "$(dpkg-query -W -f='${Status} ${Version}' medic)" "dpkg's record of medic"

step "the package's file list"
dpkg -L medic | while read -r f; do [ -d "$f" ] || echo "$f"; done | sort >"$T/files"
{
        printf '%s\n' /etc/logrotate.d/medic /lib/systemd/system/medic-agent.service \
                /lib/systemd/system/medic-apply.service /lib/systemd/system/medic-audit.service \
                /lib/systemd/system/medic-audit.timer /usr/lib/tmpfiles.d/medic.conf /usr/sbin/medic \
                /usr/share/doc/medic/changelog.Debian.gz /usr/share/doc/medic/copyright \
                /usr/share/lintian/overrides/medic /usr/share/man/man5/medic.yaml.5.gz \
                /usr/share/man/man8/medic.8.gz /usr/share/medic/etcd.yaml
        for f in "$PKG_TOP"/policies/examples/*.yaml; do echo "/usr/share/medic/examples/${f##*/}"; done
} | sort >"$T/files.want"
diff -u "$T/files.want" "$T/files" >"$T/files.diff" || { _dump "file list (want vs installed)" "$T/files.diff"; fail "the package's files differ"; }
dpkg -L medic | grep -qx /etc/medic/policy.d || fail "the package does not ship /etc/medic/policy.d"
[ -d /etc/medic/policy.d ] && [ -z "$(ls -A /etc/medic/policy.d)" ] || fail "/etc/medic/policy.d is not an empty directory"
assert_eq "/etc/logrotate.d/medic" "$(dpkg-query -W -f='${Conffiles}' medic | awk 'NF { print $1 }')" "conffiles"
cmp -s "$PKG_TOP/policies/etcd.yaml" /usr/share/medic/etcd.yaml || fail "/usr/share/medic/etcd.yaml is not policies/etcd.yaml"

step "/usr/sbin/medic --version"
expect_rc 0 /usr/sbin/medic --version
assert_eq "medic ${VERSION%%-*}" "$(cat "$OUT")" "medic --version"

step "tmpfiles.d made /var/lib/medic (0700) and /var/log/medic (0750)"
if command -v systemd-tmpfiles >/dev/null; then
        assert_eq "700 root" "$(stat -c '%a %U' /var/lib/medic)" "/var/lib/medic"
        assert_eq "750 root" "$(stat -c '%a %U' /var/log/medic)" "/var/log/medic"
fi

step "a read-only medic audit with the installed default policy, in the test's namespace"
_need_ns
run_capture ip netns exec "$NS" /usr/sbin/medic --json audit
case "$RC" in 0|2|4|6) ;; *) _dump stdout "$OUT"; _dump stderr "$ERR"; fail "medic audit exited $RC" ;; esac
py_assert "$OUT" 'd["policy"]["path"] == "/usr/share/medic/etcd.yaml" and d["policy"]["name"] == "etcd"'
py_assert "$OUT" 'len(d["items"]) > 0 and d["command"] == "audit"'
assert_keepalive 7200 75 9
[ "$HAD_STATE" = 1 ] || [ -z "$(ls -A /var/lib/medic)" ] || fail "the audit wrote to /var/lib/medic: $(ls -A /var/lib/medic)"
[ "$HAD_LOG" = 1 ] || [ -z "$(ls -A /var/log/medic)" ] || fail "the audit wrote to /var/log/medic: $(ls -A /var/log/medic)"
expect_rc 0 /usr/sbin/medic validate
grep -q "/usr/share/medic/etcd.yaml: valid" "$OUT" "$ERR" || fail "medic validate did not validate the shipped policy"

step "the installed units: systemd-analyze verify (with their man pages), none enabled"
if command -v systemd-analyze >/dev/null; then
        expect_rc 0 systemd-analyze verify /lib/systemd/system/medic-agent.service /lib/systemd/system/medic-apply.service \
                /lib/systemd/system/medic-audit.service /lib/systemd/system/medic-audit.timer
        assert_empty "$OUT" "systemd-analyze verify stdout"
        assert_empty "$ERR" "systemd-analyze verify stderr"
fi
enabled=$(find /etc/systemd/system -name 'medic*' 2>/dev/null)
[ -z "$enabled" ] || fail "units enabled on install: $enabled"
expect_rc 0 man -w 8 medic
expect_rc 0 man -w 5 medic.yaml

step "dpkg -r: the program goes, the conffile stays"
expect_rc 0 env DEBIAN_FRONTEND=noninteractive dpkg -r medic
[ ! -e /usr/sbin/medic ] || fail "/usr/sbin/medic is still there after dpkg -r"
[ -e /etc/logrotate.d/medic ] || fail "dpkg -r removed the conffile /etc/logrotate.d/medic"
assert_eq "deinstall ok config-files" "$(dpkg-query -W -f='${Status}' medic)" "dpkg's record after -r"

step "dpkg -P: nothing left, except a log directory that holds data"
if [ "$HAD_LOG" = 0 ]; then
        echo '{"event":"test"}' >/var/log/medic/audit.jsonl
fi
expect_rc 0 env DEBIAN_FRONTEND=noninteractive dpkg -P medic
dpkg-query -W -f='${Status}' medic 2>/dev/null | grep -q ' installed$' && fail "medic is still installed after dpkg -P"
while read -r f; do
        [ ! -e "$f" ] || fail "$f is still there after dpkg -P"
done <"$T/files"
[ "$HAD_ETC" = 1 ] || [ ! -e /etc/medic ] || fail "/etc/medic is still there after dpkg -P"
[ "$HAD_STATE" = 1 ] || [ ! -e /var/lib/medic ] || fail "the empty /var/lib/medic is still there after dpkg -P"
if [ "$HAD_LOG" = 0 ]; then
        [ -f /var/log/medic/audit.jsonl ] || fail "dpkg -P removed a log directory that holds an audit log"
        rm -rf /var/log/medic
fi
INSTALLED=0
log "PASS"
