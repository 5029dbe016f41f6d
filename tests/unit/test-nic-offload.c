/* SPDX-License-Identifier: GPL-2.0-or-later */
/* actions/nic_offload.c through its ops table, without a kernel: parse (names, values,
 * contradictions, positions), claims, the journal's JSON of a snapshot and back, the pure
 * comparison of a policy's request and of a snapshot, and the text an operator reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <string.h>

#include "helpers.h"
#include "../../actions/action.h"
#include "../../agent/policy.h"
#include "../../agent/ynode.h"

static const struct action_ops *ops = &nic_offload_ops;
static const struct policy no_targets;

static int parse(const char *text, void **spec, struct perr *err, struct ydoc **d) {
        assert_int_equal(ydoc_load_string(text, strlen(text), "t.yaml", d, err), 0);
        return ops->parse(ynode_get((*d)->root, "nic-offload"), &no_targets, spec, err);
}

static void test_parse_errors(void **st _unused_) {
        static const char text[] = "nic-offload:\n"
                                   "  interface: eth0\n"
                                   "  features:\n"
                                   "    tx-checksuming: off\n"
                                   "    rx-checksumming: maybe\n"
                                   "    generic-receive-offload: on\n"
                                   "    rx-gro: off\n"
                                   "    tx: off\n";
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        void *spec = NULL;

        assert_int_equal(parse(text, &spec, &err, &d), -EINVAL);
        assert_null(spec);
        assert_int_equal(err.n, 4);
        assert_string_equal(err.msgs[0], "t.yaml:4:5: nic-offload.features: unknown offload feature 'tx-checksuming' (ethtool's names, like tx-checksumming or generic-receive-offload, or a kernel feature name, like tx-checksum-ip-generic)");
        assert_string_equal(err.msgs[1], "t.yaml:5:22: nic-offload.features.rx-checksumming: expected on or off");
        assert_string_equal(err.msgs[2], "t.yaml:7:5: nic-offload.features: rx-gro: off contradicts generic-receive-offload: on (it covers the same kernel feature)");
        assert_true(strstr(err.msgs[3], "t.yaml:8:5: nic-offload.features: unknown offload feature 'tx'"));
        perr_done(&err);
        ydoc_free(d);

        /* A user name and a kernel name it covers: contradicting is an error, agreeing is not. */
        d = NULL;
        assert_int_equal(parse("nic-offload: {interface: eth0, features: {tx-checksumming: off, tx-checksum-ipv4: on}}\n", &spec, &err, &d), -EINVAL);
        assert_int_equal(err.n, 1);
        assert_true(strstr(err.msgs[0], "tx-checksum-ipv4: on contradicts tx-checksumming: off"));
        perr_done(&err);
        ydoc_free(d);
        d = NULL;
        assert_int_equal(parse("nic-offload: {interface: eth0, features: {tx-checksumming: off, tx-checksum-ipv4: off}}\n", &spec, &err, &d), 0);
        ops->free(spec);
        ydoc_free(d);

        /* Missing keys, an unknown key, an empty feature map. */
        d = NULL;
        assert_int_equal(parse("nic-offload: {features: {}, colour: red}\n", &spec, &err, &d), -EINVAL);
        assert_int_equal(err.n, 3);
        perr_done(&err);
        ydoc_free(d);
}

struct claim_rec {
        char *object[8], *value[8];
        unsigned line[8];
        size_t n;
};

static void record_claim(void *userdata, const char *object, const char *value, const struct ynode *at) {
        struct claim_rec *c = userdata;
        c->object[c->n] = xstrdup(object);
        c->value[c->n] = xstrdup(value);
        c->line[c->n++] = at->line;
}

static void test_claims_and_spec_json(void **st _unused_) {
        static const char text[] = "nic-offload:\n"
                                   "  interface: all\n"
                                   "  features:\n"
                                   "    rx-gro: on\n"
                                   "    tx-checksumming: off\n"
                                   "    rx-checksumming: \"off\"\n";
        struct perr err = { 0 };
        struct ydoc *d = NULL;
        struct claim_rec c = { 0 };
        struct json_object *j = NULL;
        void *spec = NULL;

        assert_int_equal(parse(text, &spec, &err, &d), 0);
        ops->claims(spec, record_claim, &c);
        assert_int_equal(c.n, 3);
        /* rx-gro and generic-receive-offload are one kernel feature: one claim object. */
        assert_string_equal(c.object[0], "all offload generic-receive-offload");
        assert_string_equal(c.value[0], "on");
        assert_int_equal(c.line[0], 4);
        assert_string_equal(c.object[1], "all offload tx-checksumming");
        assert_string_equal(c.value[1], "off");
        assert_string_equal(c.object[2], "all offload rx-checksumming");
        for (size_t i = 0; i < c.n; i++)
                free(c.object[i]), free(c.value[i]);
        assert_int_equal(ops->to_json(spec, &j), 0);
        assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                            "{\"interface\":\"all\",\"features\":{\"rx-gro\":\"on\",\"tx-checksumming\":\"off\",\"rx-checksumming\":\"off\"}}");
        json_object_put(j);
        ops->free(spec);
        ydoc_free(d);
}

static char *json_of(const void *s) {
        struct json_object *j = NULL;
        char *out;
        assert_int_equal(ops->to_json(s, &j), 0);
        out = xstrdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
        json_object_put(j);
        return out;
}

static void assert_describe(const void *s, const char *want) {
        char *d = ops->describe(s);
        assert_string_equal(d, want);
        free(d);
}

/* A veth after `ethtool -K tx off`: TSO wanted but not active, LRO fixed. The kernel's
 * features sit under "observed"; journals written before that hold them beside
 * "features" (SNAPSHOT_TX_OFF_OLD), which must still read the same. */
#define TX_OFF_KERNEL                                                                                           \
        "\"kernel\":{"                                                                                          \
        "\"on\":[\"rx-checksum\",\"tx-scatter-gather\"],"                                                     \
        "\"off\":[\"tx-checksum-ip-generic\",\"tx-checksum-sctp\",\"rx-gro\"],"                               \
        "\"off-requested-on\":[\"tx-tcp-segmentation\",\"tx-tcp6-segmentation\"],"                            \
        "\"fixed-off\":[\"tx-checksum-ipv4\",\"rx-lro\"]},"                                                   \
        "\"changed\":[\"tx-checksum-ip-generic off\",\"tx-checksum-sctp off\",\"tx-tcp-segmentation off\"]"
#define SNAPSHOT_TX_OFF "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"off\"},\"observed\":{" TX_OFF_KERNEL "}}"
#define SNAPSHOT_TX_OFF_OLD "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"off\"}," TX_OFF_KERNEL "}"

/* A veth with every offload on but GRO, LRO and IPv4 checksumming (fixed off). */
#define BEFORE_KERNEL                                                                                           \
        "\"kernel\":{"                                                                                          \
        "\"on\":[\"rx-checksum\",\"tx-scatter-gather\",\"tx-checksum-ip-generic\",\"tx-checksum-sctp\","       \
        "\"tx-tcp-segmentation\",\"tx-tcp6-segmentation\"],"                                                   \
        "\"off\":[\"rx-gro\"],"                                                                               \
        "\"fixed-off\":[\"tx-checksum-ipv4\",\"rx-lro\"]}"
#define SNAPSHOT_BEFORE "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"on\"}," BEFORE_KERNEL "}"

static void test_snapshot_json_round_trip(void **st _unused_) {
        void *s = state_from_json(ops, SNAPSHOT_TX_OFF);
        char *text = json_of(s);
        /* Every class comes back in the same list (empty classes are left out). */
        assert_string_equal(text, SNAPSHOT_TX_OFF);
        free(text);
        assert_describe(s, "tx-checksumming off; the kernel also changed tx-tcp-segmentation off");
        ops->free(s);

        /* The form of earlier journals reads as the same state and writes the new one. */
        s = state_from_json(ops, SNAPSHOT_TX_OFF_OLD);
        text = json_of(s);
        assert_string_equal(text, SNAPSHOT_TX_OFF);
        free(text);
        ops->free(s);

        s = state_from_json(ops, SNAPSHOT_BEFORE);
        assert_describe(s, "tx-checksumming on");
        ops->free(s);
}

/* Descriptions of alike reads are made once and reused: each must still be exactly what its
 * own features say, whatever was described before it. */
static void test_describe_alike(void **st _unused_) {
        void *before = state_from_json(ops, SNAPSHOT_BEFORE);
        void *other_if = state_from_json(ops, "{\"interface\":\"nic7\",\"features\":{\"tx-checksumming\":\"on\"}," BEFORE_KERNEL "}");
        /* One covered feature off: the same names, one bit apart. */
        void *sctp_off = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"on\"},\"kernel\":{"
                                              "\"on\":[\"rx-checksum\",\"tx-scatter-gather\",\"tx-checksum-ip-generic\","
                                              "\"tx-tcp-segmentation\",\"tx-tcp6-segmentation\"],\"off\":[\"rx-gro\",\"tx-checksum-sctp\"],"
                                              "\"fixed-off\":[\"tx-checksum-ipv4\",\"rx-lro\"]}}");
        /* Wanted on in both, and kept off by the kernel in the second: only the active bit
         * of one feature differs, at the same place in the list. */
        void *sctp_on = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"on\"},\"kernel\":{"
                                             "\"on\":[\"rx-checksum\",\"tx-scatter-gather\",\"tx-checksum-ip-generic\","
                                             "\"tx-tcp-segmentation\",\"tx-checksum-sctp\"],"
                                             "\"fixed-off\":[\"tx-checksum-ipv4\",\"rx-lro\"]}}");
        void *sctp_kept = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"on\"},\"kernel\":{"
                                               "\"on\":[\"rx-checksum\",\"tx-scatter-gather\",\"tx-checksum-ip-generic\","
                                               "\"tx-tcp-segmentation\"],\"off-requested-on\":[\"tx-checksum-sctp\"],"
                                               "\"fixed-off\":[\"tx-checksum-ipv4\",\"rx-lro\"]}}");
        /* All of it off, one feature requested on in the second: only a wanted bit differs. */
        void *tx_off = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"off\"},\"kernel\":{"
                                            "\"on\":[\"rx-checksum\"],\"off\":[\"tx-checksum-ip-generic\",\"tx-checksum-sctp\"]}}");
        void *tx_asked = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"off\"},\"kernel\":{"
                                              "\"on\":[\"rx-checksum\"],\"off\":[\"tx-checksum-ip-generic\"],"
                                              "\"off-requested-on\":[\"tx-checksum-sctp\"]}}");
        /* A write's read-back names what the kernel changed besides: never from the memo. */
        void *tx_written = state_from_json(ops, SNAPSHOT_TX_OFF);
        void *tx_read = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"off\"},\"observed\":{\"kernel\":{"
                                             "\"on\":[\"rx-checksum\",\"tx-scatter-gather\"],"
                                             "\"off\":[\"tx-checksum-ip-generic\",\"tx-checksum-sctp\",\"rx-gro\"],"
                                             "\"off-requested-on\":[\"tx-tcp-segmentation\",\"tx-tcp6-segmentation\"],"
                                             "\"fixed-off\":[\"tx-checksum-ipv4\",\"rx-lro\"]}}}");
        /* The same kernel, another request. */
        void *gro = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"rx-gro\":\"on\"}," BEFORE_KERNEL "}");

        for (int round = 0; round < 2; round++) {
                assert_describe(before, "tx-checksumming on");
                assert_describe(other_if, "tx-checksumming on");
                assert_describe(sctp_off, "tx-checksumming on (tx-checksum-sctp off)");
                assert_describe(sctp_off, "tx-checksumming on (tx-checksum-sctp off)");
                assert_describe(gro, "rx-gro off");
                assert_describe(before, "tx-checksumming on");
                assert_describe(sctp_on, "tx-checksumming on");
                assert_describe(sctp_kept, "tx-checksumming on (tx-checksum-sctp off)");
                assert_describe(sctp_on, "tx-checksumming on");
                assert_describe(tx_off, "tx-checksumming off");
                assert_describe(tx_asked, "tx-checksumming off (tx-checksum-sctp requested on)");
                assert_describe(tx_off, "tx-checksumming off");
        }
        assert_describe(tx_read, "tx-checksumming off");
        assert_describe(tx_written, "tx-checksumming off; the kernel also changed tx-tcp-segmentation off");
        ops->free(tx_off), ops->free(tx_asked), ops->free(tx_read), ops->free(tx_written);
        ops->free(before), ops->free(other_if), ops->free(sctp_off), ops->free(sctp_on), ops->free(sctp_kept);
        ops->free(gro);
}

static void test_same(void **st _unused_) {
        void *before = state_from_json(ops, SNAPSHOT_BEFORE), *after = state_from_json(ops, SNAPSHOT_TX_OFF);
        void *want_off = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"off\"}}");
        void *want_on = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tx-checksumming\":\"on\"}}");
        void *want_tso = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"tcp-segmentation-offload\":\"on\"}}");
        void *want_lro = state_from_json(ops, "{\"interface\":\"nic0\",\"features\":{\"large-receive-offload\":\"on\"}}");
        void *other = state_from_json(ops, "{\"interface\":\"nic1\",\"features\":{\"tx-checksumming\":\"on\"}}");

        assert_describe(want_off, "tx-checksumming off");
        /* A request holds when every changeable feature it covers is wanted and active so;
         * the fixed tx-checksum-ipv4 does not count. */
        assert_true(ops->same(want_off, after));
        assert_false(ops->same(want_off, before));
        assert_true(ops->same(want_on, before));
        assert_false(ops->same(want_on, after));
        /* TSO wanted but kept off by the kernel is not TSO on. */
        assert_false(ops->same(want_tso, after));
        assert_true(ops->same(want_tso, before));
        /* LRO is fixed off on this NIC: the plan reports it; the comparison has nothing to
         * hold it to. */
        assert_true(ops->same(want_lro, after));
        assert_false(ops->same(other, before));

        /* Snapshots compare every feature, wanted and active. */
        assert_true(ops->same(before, before));
        assert_false(ops->same(before, after));
        assert_false(ops->same(after, before));
        assert_true(ops->same(after, after));

        ops->free(before), ops->free(after), ops->free(want_off), ops->free(want_on);
        ops->free(want_tso), ops->free(want_lro), ops->free(other);
}

static void test_from_json_rejects(void **st _unused_) {
        static const char *const bad[] = {
                "{}",
                "{\"interface\":\"nic0\"}",
                "{\"interface\":\"nic0\",\"features\":{}}",
                "{\"interface\":\"nic0\",\"features\":{\"rx-gro\":\"maybe\"}}",
                "{\"interface\":\"nic0\",\"features\":{\"../x\":\"on\"}}",
                "{\"interface\":\"a-name-far-too-long\",\"features\":{\"rx-gro\":\"on\"}}",
                "{\"interface\":\"nic0\",\"features\":{\"rx-gro\":\"on\"},\"kernel\":{\"on\":\"rx-gro\"}}",
                "{\"interface\":\"nic0\",\"features\":{\"rx-gro\":\"on\"},\"changed\":[1]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct json_object *j = json_tokener_parse(bad[i]);
                void *s = NULL;
                assert_non_null(j);
                if (ops->from_json(j, &s) != -EBADMSG)
                        fail_msg("accepted: %s", bad[i]);
                json_object_put(j);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_claims_and_spec_json),
                cmocka_unit_test(test_snapshot_json_round_trip),
                cmocka_unit_test(test_describe_alike),
                cmocka_unit_test(test_same),
                cmocka_unit_test(test_from_json_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
