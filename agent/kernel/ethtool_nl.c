/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <string.h>

#include "../util.h"
#include "ethtool_nl.h"
#include "nlsock.h"

/* Attribute types, so that a short or malformed attribute is refused, not read past. */
static struct nla_policy bitset_policy[ETHTOOL_A_BITSET_MAX + 1] = {
        [ETHTOOL_A_BITSET_NOMASK] = { .type = NLA_FLAG },
        [ETHTOOL_A_BITSET_SIZE] = { .type = NLA_U32 },
        [ETHTOOL_A_BITSET_BITS] = { .type = NLA_NESTED },
};
static struct nla_policy bit_policy[ETHTOOL_A_BITSET_BIT_MAX + 1] = {
        [ETHTOOL_A_BITSET_BIT_INDEX] = { .type = NLA_U32 },
        [ETHTOOL_A_BITSET_BIT_VALUE] = { .type = NLA_FLAG },
};
static struct nla_policy header_policy[ETHTOOL_A_HEADER_MAX + 1] = {
        [ETHTOOL_A_HEADER_DEV_INDEX] = { .type = NLA_U32 },
        [ETHTOOL_A_HEADER_DEV_NAME] = { .type = NLA_STRING },
};
static struct nla_policy stringset_policy[ETHTOOL_A_STRINGSET_MAX + 1] = {
        [ETHTOOL_A_STRINGSET_ID] = { .type = NLA_U32 },
        [ETHTOOL_A_STRINGSET_COUNT] = { .type = NLA_U32 },
        [ETHTOOL_A_STRINGSET_STRINGS] = { .type = NLA_NESTED },
};
static struct nla_policy string_policy[ETHTOOL_A_STRING_MAX + 1] = {
        [ETHTOOL_A_STRING_INDEX] = { .type = NLA_U32 },
        [ETHTOOL_A_STRING_VALUE] = { .type = NLA_STRING },
};

struct ethnl {
        struct nl_sock *sock;
        int family;
        int kerr;   /* the kernel's errno of the last NLMSG_ERROR, negative */
        bool stale; /* an error left the socket's stream at an unknown place */
};

/* The errno of a failed exchange. Any error but the kernel's own NLMSG_ERROR (a timeout,
 * ENOBUFS, a message out of sequence) may leave replies to an abandoned request queued on
 * the socket, which the next exchange would read as its own: that one gets a new socket. */
static int nl_errno(struct ethnl *nl, int nlerr) {
        if (!nlsock_kernel_error(&nl->kerr))
                nl->stale = true;
        return nlsock_errno(&nl->kerr, nlerr);
}

static int sock_open(struct ethnl *nl) {
        int r = nlsock_open(NETLINK_GENERIC, &nl->kerr, &nl->sock);

        if (r < 0)
                return r;
        /* Acks are asked for where they are wanted: a dump ends with NLMSG_DONE. */
        nl_socket_disable_auto_ack(nl->sock);
        nl_socket_enable_msg_peek(nl->sock);
        return 0;
}

int ethnl_open(struct ethnl **ret) {
        struct ethnl *nl = xcalloc(1, sizeof(*nl));
        int r = sock_open(nl);

        if (r < 0) {
                free(nl);
                return r;
        }
        r = genl_ctrl_resolve(nl->sock, ETHTOOL_GENL_NAME);
        if (r < 0) {
                r = r == -NLE_OBJ_NOTFOUND ? -ENOENT : nl_errno(nl, r);
                ethnl_close(nl);
                return r;
        }
        nl->family = r;
        *ret = nl;
        return 0;
}

void ethnl_adopt(struct nl_sock *sock, int family, struct ethnl **ret) {
        struct ethnl *nl = xcalloc(1, sizeof(*nl));

        nl->sock = sock;
        nl->family = family;
        /* As sock_open() sets a socket up: acks where wanted, errnos kept. */
        nl_socket_disable_auto_ack(nl->sock);
        nl_socket_enable_msg_peek(nl->sock);
        nlsock_keep_errno(nl->sock, &nl->kerr);
        *ret = nl;
}

/* A new socket in place of a stale one; the family id stays what the kernel said. */
static int resync(struct ethnl *nl) {
        if (!nl->stale)
                return 0;
        nl_socket_free(nl->sock);
        nl->sock = NULL;
        nl->kerr = 0;
        int r = sock_open(nl);
        if (r >= 0)
                nl->stale = false;
        return r;
}

void ethnl_close(struct ethnl *nl) {
        if (!nl)
                return;
        if (nl->sock)
                nl_socket_free(nl->sock);
        free(nl);
}

/* ---- messages ---- */

static int put_header(struct nl_msg *msg, int attr, const char *ifname) {
        struct nlattr *h = nla_nest_start(msg, attr | NLA_F_NESTED);

        if (!h)
                return -EMSGSIZE;
        if (ifname && nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname) < 0)
                return -EMSGSIZE;
        if (nla_put_u32(msg, ETHTOOL_A_HEADER_FLAGS, ETHTOOL_FLAG_COMPACT_BITSETS) < 0)
                return -EMSGSIZE;
        nla_nest_end(msg, h);
        return 0;
}

static struct nl_msg *new_request(int family, uint8_t cmd, int flags, int hdr_attr, const char *ifname) {
        struct nl_msg *msg = nlmsg_alloc();

        if (!msg)
                return NULL;
        if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, ETHTOOL_GENL_VERSION) ||
            put_header(msg, hdr_attr, ifname) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

int ethnl_put_bitset(struct nl_msg *msg, int attr, unsigned n_bits, const uint32_t *value, const uint32_t *mask) {
        struct nlattr *b = nla_nest_start(msg, attr | NLA_F_NESTED);
        int len = (int) (bits_words(n_bits) * sizeof(uint32_t));

        if (!b)
                return -EMSGSIZE;
        if (!mask && nla_put_flag(msg, ETHTOOL_A_BITSET_NOMASK) < 0)
                return -EMSGSIZE;
        if (nla_put_u32(msg, ETHTOOL_A_BITSET_SIZE, n_bits) < 0 ||
            nla_put(msg, ETHTOOL_A_BITSET_VALUE, len, value) < 0 ||
            (mask && nla_put(msg, ETHTOOL_A_BITSET_MASK, len, mask) < 0))
                return -EMSGSIZE;
        nla_nest_end(msg, b);
        return 0;
}

struct nl_msg *ethnl_msg_features_set(int family, const char *ifname, unsigned n_bits, const uint32_t *mask,
                                      const uint32_t *value) {
        struct nl_msg *msg = new_request(family, ETHTOOL_MSG_FEATURES_SET, NLM_F_REQUEST | NLM_F_ACK,
                                         ETHTOOL_A_FEATURES_HEADER, ifname);

        if (msg && ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_WANTED, n_bits, value, mask) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

/* Copies the first n_bits bits of a word array of len bytes. */
static void copy_bits(uint32_t *dst, const void *src, int len, unsigned n_bits) {
        unsigned words = bits_words(n_bits);
        size_t have = (size_t) len / sizeof(uint32_t);

        memcpy(dst, src, (have < words ? have : words) * sizeof(uint32_t));
        if (n_bits % 32 && have >= words)
                dst[words - 1] &= (UINT32_C(1) << (n_bits % 32)) - 1;
}

int ethnl_parse_bitset(const struct nlattr *a, unsigned n_bits, uint32_t *value, uint32_t *mask) {
        struct nlattr *tb[ETHTOOL_A_BITSET_MAX + 1];
        unsigned words = bits_words(n_bits);
        bool nomask;

        if (!a || nla_parse_nested(tb, ETHTOOL_A_BITSET_MAX, (struct nlattr *) a, bitset_policy) < 0)
                return -EBADMSG;
        nomask = tb[ETHTOOL_A_BITSET_NOMASK] != NULL;
        if (nomask)
                for (unsigned i = 0; i < n_bits; i++)
                        bit_put(mask, i, true);

        if (tb[ETHTOOL_A_BITSET_BITS]) {
                struct nlattr *bit;
                int rem;
                nla_for_each_nested(bit, tb[ETHTOOL_A_BITSET_BITS], rem) {
                        struct nlattr *bt[ETHTOOL_A_BITSET_BIT_MAX + 1];
                        uint32_t idx;
                        if (nla_type(bit) != ETHTOOL_A_BITSET_BITS_BIT ||
                            nla_parse_nested(bt, ETHTOOL_A_BITSET_BIT_MAX, bit, bit_policy) < 0 ||
                            !bt[ETHTOOL_A_BITSET_BIT_INDEX])
                                return -EBADMSG;
                        idx = nla_get_u32(bt[ETHTOOL_A_BITSET_BIT_INDEX]);
                        if (idx >= n_bits)
                                continue;
                        /* Without a mask the list names the bits that are set. */
                        bit_put(value, idx, nomask || bt[ETHTOOL_A_BITSET_BIT_VALUE]);
                        bit_put(mask, idx, true);
                }
                return 0;
        }

        if (!tb[ETHTOOL_A_BITSET_SIZE] || !tb[ETHTOOL_A_BITSET_VALUE])
                return -EBADMSG;
        uint32_t size = nla_get_u32(tb[ETHTOOL_A_BITSET_SIZE]);
        int need = (int) (bits_words(size) * sizeof(uint32_t));
        if (nla_len(tb[ETHTOOL_A_BITSET_VALUE]) < need ||
            (!nomask && (!tb[ETHTOOL_A_BITSET_MASK] || nla_len(tb[ETHTOOL_A_BITSET_MASK]) < need)))
                return -EBADMSG;
        unsigned n = size < n_bits ? size : n_bits;
        memset(value, 0, words * sizeof(uint32_t));
        copy_bits(value, nla_data(tb[ETHTOOL_A_BITSET_VALUE]), need, n);
        if (!nomask) {
                memset(mask, 0, words * sizeof(uint32_t));
                copy_bits(mask, nla_data(tb[ETHTOOL_A_BITSET_MASK]), need, n);
        }
        return 0;
}

static int parse_ifname(struct nlattr *hdr, char ifname[IF_NAMESIZE]) {
        struct nlattr *tb[ETHTOOL_A_HEADER_MAX + 1];

        if (!hdr || nla_parse_nested(tb, ETHTOOL_A_HEADER_MAX, hdr, header_policy) < 0 || !tb[ETHTOOL_A_HEADER_DEV_NAME])
                return -EBADMSG;
        str_copy(ifname, nla_get_string(tb[ETHTOOL_A_HEADER_DEV_NAME]), IF_NAMESIZE);
        return 0;
}

int ethnl_parse_features(struct nlmsghdr *h, unsigned n_bits, char ifname[IF_NAMESIZE], struct eth_features *f) {
        struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1];
        _cleanup_free_ uint32_t *scratch = xcalloc(bits_words(n_bits), sizeof(uint32_t));
        int r;

        if (genlmsg_parse(h, 0, tb, ETHTOOL_A_FEATURES_MAX, NULL) < 0 || parse_ifname(tb[ETHTOOL_A_FEATURES_HEADER], ifname) < 0)
                return -EBADMSG;
        eth_features_init(f, n_bits);
        /* HW comes with a mask (every bit the kernel knows); the other three are plain maps. */
        r = ethnl_parse_bitset(tb[ETHTOOL_A_FEATURES_HW], n_bits, f->hw, scratch);
        if (r >= 0)
                r = ethnl_parse_bitset(tb[ETHTOOL_A_FEATURES_WANTED], n_bits, f->wanted, scratch);
        if (r >= 0)
                r = ethnl_parse_bitset(tb[ETHTOOL_A_FEATURES_ACTIVE], n_bits, f->active, scratch);
        if (r >= 0)
                r = ethnl_parse_bitset(tb[ETHTOOL_A_FEATURES_NOCHANGE], n_bits, f->nochange, scratch);
        if (r < 0)
                eth_features_done(f);
        return r;
}

int ethnl_parse_set_reply(struct nlmsghdr *h, unsigned n_bits, struct eth_set_result *res) {
        struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1];
        _cleanup_free_ uint32_t *scratch = xcalloc(bits_words(n_bits), sizeof(uint32_t));
        int r;

        if (genlmsg_parse(h, 0, tb, ETHTOOL_A_FEATURES_MAX, NULL) < 0)
                return -EBADMSG;
        /* WANTED: mask = requested bits that differ from the result; value = what was asked. */
        r = ethnl_parse_bitset(tb[ETHTOOL_A_FEATURES_WANTED], n_bits, scratch, res->not_taken);
        if (r < 0)
                return r;
        /* ACTIVE: mask = bits that changed; value = their new state. */
        return ethnl_parse_bitset(tb[ETHTOOL_A_FEATURES_ACTIVE], n_bits, res->active, res->changed);
}

int ethnl_parse_strset(struct nlmsghdr *h, char ***ret, unsigned *ret_n) {
        struct nlattr *tb[ETHTOOL_A_STRSET_MAX + 1], *set, *s;
        int rem, rem2;

        if (genlmsg_parse(h, 0, tb, ETHTOOL_A_STRSET_MAX, NULL) < 0 || !tb[ETHTOOL_A_STRSET_STRINGSETS])
                return -EBADMSG;
        nla_for_each_nested(set, tb[ETHTOOL_A_STRSET_STRINGSETS], rem) {
                struct nlattr *st[ETHTOOL_A_STRINGSET_MAX + 1];
                char **names;
                uint32_t count;

                if (nla_parse_nested(st, ETHTOOL_A_STRINGSET_MAX, set, stringset_policy) < 0 || !st[ETHTOOL_A_STRINGSET_ID] ||
                    !st[ETHTOOL_A_STRINGSET_COUNT])
                        return -EBADMSG;
                if (nla_get_u32(st[ETHTOOL_A_STRINGSET_ID]) != ETH_SS_FEATURES)
                        continue;
                count = nla_get_u32(st[ETHTOOL_A_STRINGSET_COUNT]);
                if (count == 0 || count > 4096)
                        return -EBADMSG;
                names = xcalloc(count + 1, sizeof(*names));
                if (st[ETHTOOL_A_STRINGSET_STRINGS])
                        nla_for_each_nested(s, st[ETHTOOL_A_STRINGSET_STRINGS], rem2) {
                                struct nlattr *sv[ETHTOOL_A_STRING_MAX + 1];
                                uint32_t idx;
                                if (nla_parse_nested(sv, ETHTOOL_A_STRING_MAX, s, string_policy) < 0 || !sv[ETHTOOL_A_STRING_INDEX])
                                        continue;
                                idx = nla_get_u32(sv[ETHTOOL_A_STRING_INDEX]);
                                if (idx < count && sv[ETHTOOL_A_STRING_VALUE] && !names[idx])
                                        names[idx] = xstrndup(nla_data(sv[ETHTOOL_A_STRING_VALUE]),
                                                              strnlen(nla_data(sv[ETHTOOL_A_STRING_VALUE]),
                                                                      (size_t) nla_len(sv[ETHTOOL_A_STRING_VALUE])));
                        }
                /* Unnamed bits (retired features) keep an empty name: the index is the bit. */
                for (uint32_t i = 0; i < count; i++)
                        if (!names[i])
                                names[i] = xstrdup("");
                *ret = names;
                *ret_n = count;
                return 0;
        }
        return -ENOENT;
}

/* ---- the exchange with the kernel ---- */

struct xfer {
        int (*fn)(struct nlmsghdr *h, void *data);
        void *data;
        int err;
        bool done;
};

static int on_valid(struct nl_msg *m, void *arg) {
        struct xfer *x = arg;
        if (x->err == 0 && x->fn) {
                int r = x->fn(nlmsg_hdr(m), x->data);
                if (r < 0)
                        x->err = r;
        }
        return NL_OK;
}

static int on_done(struct nl_msg *m, void *arg) {
        struct xfer *x = arg;
        (void) m;
        x->done = true;
        return NL_STOP;
}

/* Sends msg (taken) and reads until the ack (a request) or NLMSG_DONE (a dump). */
static int exchange(struct ethnl *nl, struct nl_msg *msg, int (*fn)(struct nlmsghdr *, void *), void *data) {
        struct xfer x = { .fn = fn, .data = data };
        struct nl_cb *cb;
        int r;

        if (!msg)
                return -ENOMEM;
        r = resync(nl);
        if (r < 0) {
                nlmsg_free(msg);
                return r;
        }
        nl->kerr = 0;
        r = nl_send_auto(nl->sock, msg);
        nlmsg_free(msg);
        if (r < 0)
                return nl_errno(nl, r);
        cb = nlsock_cb_clone(nl->sock);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
        nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &x);
        nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &x);
        while (!x.done && r >= 0)
                r = nl_recvmsgs(nl->sock, cb);
        nl_cb_put(cb);
        if (r < 0)
                return nl_errno(nl, r);
        return x.err;
}

struct names_out {
        char ***names;
        unsigned *n;
};

static int names_cb(struct nlmsghdr *h, void *data) {
        struct names_out *o = data;
        return ethnl_parse_strset(h, o->names, o->n);
}

int ethnl_feature_names(struct ethnl *nl, char ***ret, unsigned *ret_n) {
        struct nl_msg *msg = new_request(nl->family, ETHTOOL_MSG_STRSET_GET, NLM_F_REQUEST | NLM_F_ACK,
                                         ETHTOOL_A_STRSET_HEADER, NULL);
        struct nlattr *sets, *set;
        char **names = NULL;
        unsigned n = 0;
        struct names_out o = { &names, &n };
        int r;

        if (!msg)
                return -ENOMEM;
        sets = nla_nest_start(msg, ETHTOOL_A_STRSET_STRINGSETS | NLA_F_NESTED);
        set = sets ? nla_nest_start(msg, ETHTOOL_A_STRINGSETS_STRINGSET | NLA_F_NESTED) : NULL;
        if (!set || nla_put_u32(msg, ETHTOOL_A_STRINGSET_ID, ETH_SS_FEATURES) < 0) {
                nlmsg_free(msg);
                return -EMSGSIZE;
        }
        nla_nest_end(msg, set);
        nla_nest_end(msg, sets);
        r = exchange(nl, msg, names_cb, &o);
        if (r >= 0 && !names)
                r = -EBADMSG;
        if (r < 0) {
                strv_free(names);
                return r;
        }
        *ret = names;
        *ret_n = n;
        return 0;
}

struct dump_ctx {
        unsigned n_bits;
        ethnl_dev_fn fn;
        void *userdata;
        int err; /* a message that did not parse: its errno */
};

static int dump_cb(const struct nlmsghdr *h, void *data) {
        struct dump_ctx *d = data;
        struct eth_features f;
        char ifname[IF_NAMESIZE];
        /* libnl's parser only reads the message. */
        int r = ethnl_parse_features((struct nlmsghdr *) h, d->n_bits, ifname, &f);

        if (r < 0) {
                d->err = r;
                return -NLE_PARSE_ERR; /* stops the dump */
        }
        d->fn(d->userdata, ifname, &f);
        return 0;
}

/* Read straight from the socket (nlsock_dump()), as tc's dumps are, not through libnl's
 * receive path, which peeks at each datagram and copies each message into an object of
 * its own: one message per interface, a thousand on a host of veths. */
int ethnl_features_dump(struct ethnl *nl, unsigned n_bits, ethnl_dev_fn fn, void *userdata) {
        struct dump_ctx d = { n_bits, fn, userdata, 0 };
        struct nl_msg *msg = new_request(nl->family, ETHTOOL_MSG_FEATURES_GET, NLM_F_REQUEST | NLM_F_DUMP,
                                         ETHTOOL_A_FEATURES_HEADER, NULL);
        struct nlmsghdr *h;
        int r;

        if (!msg)
                return -ENOMEM;
        r = resync(nl);
        if (r >= 0) {
                h = nlmsg_hdr(msg);
                nl->kerr = 0;
                r = nlsock_dump(nl->sock, &nl->kerr, nl->family, nlmsg_data(h), (size_t) nlmsg_datalen(h), dump_cb, &d);
                if (d.err < 0) {
                        /* The rest of the dump is unread: the next request takes a new socket. */
                        nl->stale = true;
                        nl->kerr = 0;
                        r = d.err;
                } else if (r < 0)
                        r = nl_errno(nl, r);
        }
        nlmsg_free(msg);
        return r;
}

struct one_ctx {
        unsigned n_bits;
        struct eth_features *f;
        bool got;
};

static int one_cb(struct nlmsghdr *h, void *data) {
        struct one_ctx *o = data;
        char ifname[IF_NAMESIZE];
        int r;

        if (o->got)
                return 0;
        r = ethnl_parse_features(h, o->n_bits, ifname, o->f);
        if (r >= 0)
                o->got = true;
        return r;
}

int ethnl_features_get(struct ethnl *nl, const char *ifname, unsigned n_bits, struct eth_features *ret) {
        struct one_ctx o = { n_bits, ret, false };
        int r = exchange(nl, new_request(nl->family, ETHTOOL_MSG_FEATURES_GET, NLM_F_REQUEST | NLM_F_ACK,
                                         ETHTOOL_A_FEATURES_HEADER, ifname),
                         one_cb, &o);
        if (r >= 0 && !o.got)
                r = -EBADMSG;
        if (r < 0 && o.got)
                eth_features_done(ret);
        return r;
}

struct set_ctx {
        unsigned n_bits;
        struct eth_set_result *res;
        bool got;
};

static int set_cb(struct nlmsghdr *h, void *data) {
        struct set_ctx *s = data;
        struct genlmsghdr *g = nlmsg_data(h);

        if (!genlmsg_valid_hdr(h, 0) || g->cmd != ETHTOOL_MSG_FEATURES_SET_REPLY)
                return 0;
        s->got = true;
        return ethnl_parse_set_reply(h, s->n_bits, s->res);
}

int ethnl_features_set(struct ethnl *nl, const char *ifname, unsigned n_bits, const uint32_t *mask,
                       const uint32_t *value, struct eth_set_result *ret) {
        struct set_ctx s = { n_bits, ret, false };
        int r = exchange(nl, ethnl_msg_features_set(nl->family, ifname, n_bits, mask, value), set_cb, &s);

        /* 5.6-5.8 kernels send no reply when the wanted bits did not move: 0 tells the caller
         * to work the outcome out from a read before and after. */
        return r < 0 ? r : s.got;
}
