#!/bin/bash
# The package from `make deb` is lintian clean: no error, warning, info or pedantic tag
# (each override in packaging/debian/medic.lintian-overrides says why it is there).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg-lib.sh"
command -v lintian >/dev/null || skip "needs lintian (make deps)"
DEB=$(pkg_deb)
setup

step "lintian --pedantic -I -E $(basename "$DEB")"
run_capture lintian --pedantic -I -E --tag-display-limit 0 "$DEB"
sed 's/^/# lintian: /' "$OUT"
assert_eq 0 "$RC" "lintian's exit code"
# Tags are lines "X: package: tag"; N: lines are the explanation of an override.
if grep -E '^[EWIPX]: ' "$OUT" >"$T/tags"; then
        _dump "lintian tags" "$T/tags"
        fail "lintian reports $(wc -l <"$T/tags") tag(s)"
fi
grep -v '^running with root privileges is not recommended!$' "$ERR" >"$T/lintian.err" || true
assert_empty "$T/lintian.err" "lintian's stderr"
log "PASS"
