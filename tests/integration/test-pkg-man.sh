#!/bin/bash
# medic(8) and medic.yaml(5) render without a warning: groff -ww, and man -l as a reader
# gets them. Every top-level policy key and every action kind and key is in medic.yaml(5).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkg-lib.sh"
command -v groff >/dev/null || skip "needs groff (make deps: groff-base)"
command -v man >/dev/null || skip "needs man (make deps: man-db)"
setup
for page in "$PKG_TOP/packaging/man/medic.8" "$PKG_TOP/packaging/man/medic.yaml.5"; do
        step "groff -ww -z -man -t $(basename "$page")"
        expect_rc 0 env LC_ALL=C.UTF-8 groff -ww -z -man -t "$page"
        assert_empty "$ERR" "groff warnings for $(basename "$page")"
        step "man -l $(basename "$page")"
        expect_rc 0 env LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_STDERR=1 man --warnings -l "$page"
        assert_empty "$ERR" "man warnings for $(basename "$page")"
        [ "$(wc -l <"$OUT")" -gt 50 ] || fail "$(basename "$page") rendered to $(wc -l <"$OUT") lines"
done

step "medic.yaml(5) names every key of every action"
man5=$T/medic.yaml.5.txt
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$PKG_TOP/packaging/man/medic.yaml.5" 2>/dev/null | col -b >"$man5"
for k in medic name description agent sysctl-interval fight-limit targets process unit comm exe pidfile \
        interface actions mode enforce audit sysctl io-priority target class level data-dir traffic-priority \
        bands ports backend rate replace-foreign nic-offload features mount-options path set; do
        grep -qw -- "$k" "$man5" || fail "medic.yaml(5) does not mention '$k'"
done

step "medic(8) names every command and option of medic --help"
man8=$T/medic.8.txt
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$PKG_TOP/packaging/man/medic.8" 2>/dev/null | col -b >"$man8"
"$MEDIC_BIN" --help >"$T/help"
for w in $(grep -oE -- '--[a-z-]+' "$T/help" | sort -u) $(sed -n 's/^  \([a-z]\+\) .*/\1/p' "$T/help"); do
        grep -qF -- "$w" "$man8" || fail "medic(8) does not mention '$w' (from medic --help)"
done
log "PASS"
