#!/bin/bash
# --json apply prints exactly one JSON document (items "changed", exit 2); usage errors
# exit 64 and change nothing.
. "$(dirname "$0")/lib.sh"
setup

step "--json apply: one document, every item changed, exit 2"
expect_rc 2 medic_ns --json apply
py_assert "$OUT" 'd["command"] == "apply" and d["exit"] == 2 and d["change"] == 1 and d["dry_run"] is False'
py_assert "$OUT" '[(i["object"], i["status"], i["current"][i["object"]], i["wanted"][i["object"]]) for i in d["items"]] == [
    ("net.ipv4.tcp_keepalive_time", "changed", "7200", "600"),
    ("net.ipv4.tcp_keepalive_intvl", "changed", "75", "60"),
    ("net.ipv4.tcp_keepalive_probes", "changed", "9", "5")]'
py_assert "$OUT" 'd["summary"]["changed"] == 3 and "errors" not in d'
py_assert "$OUT" 'd["policy"]["name"] == "etcd" and len(d["policy"]["sha256"]) == 64'
assert_keepalive 600 60 5

step "--json apply with nothing to do: exit 0, items ok"
expect_rc 0 medic_ns --json apply
py_assert "$OUT" 'd["exit"] == 0 and d["change"] is None and [i["status"] for i in d["items"]] == ["ok"] * 3'

step "--json rollback: one document, restored, exit 2"
expect_rc 2 medic_ns --json rollback
py_assert "$OUT" 'd["exit"] == 2 and d["change"] == 2 and [i["status"] for i in d["items"]] == ["restored"] * 3'
assert_keepalive 7200 75 9

usage() {
        step "usage error: medic $*"
        expect_rc 64 medic_ns "$@"
        [ -s "$ERR" ] || fail "usage error without a message on stderr: $*"
        assert_keepalive 7200 75 9
        assert_change_sets "1 2"
}
usage frobnicate
usage --no-such-option apply
usage apply --force
usage audit --keep-going
usage show
usage show one
usage rollback 0
usage apply extra-argument
usage --wait soon apply
usage apply --confirm-within 0
usage apply --confirm-within abc
usage apply --dry-run --confirm-within 5
usage
assert_contains "$ERR" "usage:"
