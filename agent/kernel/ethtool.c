/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ethtool front: which path (netlink or ioctl), the kernel's feature names, and the
 * features of every interface, read with one dump and kept until a write. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <string.h>

#include "../util.h"
#include "ethtool.h"
#include "ethtool_ioctl.h"
#include "ethtool_names.h"
#include "ethtool_nl.h"

enum backend {
        BACKEND_NETLINK,
        BACKEND_IOCTL,
        _BACKEND_MAX,
};

struct eth_dev {
        char name[IF_NAMESIZE];
        struct eth_features f;
        bool stale;     /* written since it was read */
        char **changes; /* the last write's changed bits, "name on|off" */
};

struct ethtool {
        enum backend backend;
        struct ethnl *nl;
        int fd; /* the ioctl's socket, opened on first use (drvinfo needs it on both paths) */
        char **names;
        unsigned n_names;
        const char **interned; /* by names' index: offload_intern()'s copy, or NULL */
        int8_t *groups;        /* by names' index: offload_group() */
        bool dumped;
        struct eth_dev **devs; /* pointers: what ethtool_features() lends stays put as the list grows */
        size_t n_devs;
        /* devs by name (open addressing, under half full): `interface: all` looks each
         * interface up several times. */
        struct eth_dev **slot;
        size_t cap;
        bool opened; /* the path is picked */
        char *why;   /* ethtool_why() */
};

struct ethtool *ethtool_new(void) {
        struct ethtool *e = xcalloc(1, sizeof(*e));
        e->fd = -1;
        return e;
}

void ethtool_free(struct ethtool *e) {
        if (!e)
                return;
        ethnl_close(e->nl);
        if (e->fd >= 0)
                close(e->fd);
        strv_free(e->names);
        free(e->interned);
        free(e->groups);
        for (size_t i = 0; i < e->n_devs; i++) {
                eth_features_done(&e->devs[i]->f);
                strv_free(e->devs[i]->changes);
                free(e->devs[i]);
        }
        free(e->devs);
        free(e->slot);
        free(e->why);
        free(e);
}

const char *ethtool_why(const struct ethtool *e) {
        return e->why;
}

static void fail(struct ethtool *e, const char *fmt, ...) _printf_(2, 3);
static void fail(struct ethtool *e, const char *fmt, ...) {
        va_list ap;

        free(e->why);
        va_start(ap, fmt);
        e->why = xvasprintf(fmt, ap);
        va_end(ap);
}

static int ioctl_fd(struct ethtool *e) {
        int r;
        if (e->fd < 0) {
                r = ethioc_open(&e->fd);
                if (r < 0) {
                        fail(e, "opening a socket for SIOCETHTOOL: %s", strerror(-r));
                        return r;
                }
        }
        return e->fd;
}

/* The netlink family where the kernel has it (5.6+), else the ioctl. In a test build,
 * MEDIC_ETHTOOL=ioctl takes the ioctl path anyway, so that tests cover both on one kernel. */
static int pick(struct ethtool *e) {
        const char *force = test_hook("MEDIC_ETHTOOL");
        int r;

        if (e->opened)
                return 0;
        e->backend = BACKEND_IOCTL;
        if (!streq(force, "ioctl")) {
                r = ethnl_open(&e->nl);
                if (r >= 0)
                        e->backend = BACKEND_NETLINK;
                else if (r != -ENOENT) {
                        fail(e, "opening the ethtool netlink family: %s", strerror(-r));
                        return r;
                }
        }
        e->opened = true;
        return 0;
}

const char *ethtool_backend(struct ethtool *e) {
        if (pick(e) < 0)
                return "?";
        switch (e->backend) {
        case BACKEND_NETLINK:
                return "netlink";
        case BACKEND_IOCTL:
                return "ioctl";
        case _BACKEND_MAX:
                break;
        }
        return "?";
}

int ethtool_names(struct ethtool *e, const char *ifname, char ***ret, unsigned *ret_n) {
        int r = pick(e);

        if (r < 0)
                return r;
        if (!e->names) {
                if (e->backend == BACKEND_NETLINK)
                        r = ethnl_feature_names(e->nl, &e->names, &e->n_names);
                else {
                        r = ioctl_fd(e);
                        /* The ioctl needs an interface even for a global string set. */
                        if (r >= 0)
                                r = ethioc_feature_names(e->fd, ifname, &e->names, &e->n_names);
                }
                if (r < 0) {
                        fail(e, "%s: reading the kernel's offload feature names (%s): %s", ifname,
                             ethtool_backend(e), strerror(-r));
                        return r;
                }
        }
        *ret = e->names;
        *ret_n = e->n_names;
        return 0;
}

void ethtool_names_interned(struct ethtool *e, const char *const **ret_interned, const int8_t **ret_groups) {
        if (!e->interned && e->names) {
                e->interned = xcalloc(e->n_names + 1, sizeof(*e->interned));
                e->groups = xcalloc(e->n_names + 1, sizeof(*e->groups));
                for (unsigned i = 0; i < e->n_names; i++) {
                        int g = -1;
                        e->interned[i] = offload_intern(e->names[i], &g);
                        e->groups[i] = (int8_t) (e->interned[i] ? g : offload_group(e->names[i]));
                }
        }
        *ret_interned = e->interned;
        *ret_groups = e->groups;
}

static size_t name_hash(const char *s) {
        size_t h = 14695981039346656037ULL;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static void slot_put(struct ethtool *e, struct eth_dev *d) {
        size_t i = name_hash(d->name) & (e->cap - 1);
        while (e->slot[i])
                i = (i + 1) & (e->cap - 1);
        e->slot[i] = d;
}

static struct eth_dev *dev_find(const struct ethtool *e, const char *ifname) {
        if (!e->cap)
                return NULL;
        for (size_t i = name_hash(ifname) & (e->cap - 1); e->slot[i]; i = (i + 1) & (e->cap - 1))
                if (streq(e->slot[i]->name, ifname))
                        return e->slot[i];
        return NULL;
}

static void dev_index(struct ethtool *e, struct eth_dev *d) {
        if (2 * e->n_devs > e->cap) {
                free(e->slot);
                e->cap = e->cap ? 2 * e->cap : 64;
                e->slot = xcalloc(e->cap, sizeof(*e->slot));
                for (size_t i = 0; i < e->n_devs; i++)
                        slot_put(e, e->devs[i]);
                return;
        }
        slot_put(e, d);
}

static struct eth_dev *dev_add(struct ethtool *e, const char *ifname) {
        struct eth_dev *d = dev_find(e, ifname);
        if (d)
                return d;
        e->devs = xrealloc(e->devs, (e->n_devs + 1) * sizeof(*e->devs));
        d = e->devs[e->n_devs++] = xcalloc(1, sizeof(*d));
        d->stale = true;
        str_copy(d->name, ifname, sizeof d->name);
        dev_index(e, d);
        return d;
}

static void dump_one(void *userdata, const char *ifname, struct eth_features *f) {
        struct eth_dev *d = dev_add(userdata, ifname);
        eth_features_done(&d->f);
        d->f = *f;
        d->stale = false;
}

int ethtool_features(struct ethtool *e, const char *ifname, const struct eth_features **ret) {
        struct eth_dev *d;
        char **names;
        unsigned n;
        int r;

        r = ethtool_names(e, ifname, &names, &n);
        if (r < 0)
                return r;
        /* One dump answers every interface of the run; the ioctl has no dump. */
        if (e->backend == BACKEND_NETLINK && !e->dumped) {
                r = ethnl_features_dump(e->nl, n, dump_one, e);
                if (r < 0) {
                        fail(e, "dumping offload features: %s", strerror(-r));
                        return r;
                }
                e->dumped = true;
        }
        d = dev_find(e, ifname);
        if (e->backend == BACKEND_NETLINK && !d) {
                fail(e, "%s: no such interface", ifname);
                return -ENODEV;
        }
        if (!d || d->stale) {
                struct eth_features f;
                if (e->backend == BACKEND_NETLINK)
                        r = ethnl_features_get(e->nl, ifname, n, &f);
                else
                        r = ethioc_features_get(e->fd, ifname, n, &f);
                if (r == -ENODEV) {
                        fail(e, "%s: no such interface", ifname);
                        return r;
                }
                if (r < 0) {
                        fail(e, "%s: reading offload features (%s): %s", ifname, ethtool_backend(e), strerror(-r));
                        return r;
                }
                dump_one(e, ifname, &f);
                d = dev_find(e, ifname);
        }
        *ret = &d->f;
        return 0;
}

static char **describe_changes(const struct ethtool *e, const struct eth_set_result *res) {
        char **v = NULL;
        for (unsigned i = 0; i < e->n_names; i++)
                if (bit_on(res->changed, i) && e->names[i][0])
                        strv_push(&v, xasprintf("%s %s", e->names[i], bit_on(res->active, i) ? "on" : "off"));
        return v;
}

int ethtool_set(struct ethtool *e, const char *ifname, const uint32_t *mask, const uint32_t *value,
                struct eth_set_result *ret) {
        const struct eth_features *cur;
        struct eth_features before;
        struct eth_dev *d;
        int r;

        r = ethtool_features(e, ifname, &cur);
        if (r < 0)
                return r;
        eth_features_copy(&before, cur);
        d = dev_find(e, ifname);
        d->stale = true; /* whatever happens next, read it again */
        if (e->backend == BACKEND_NETLINK)
                r = ethnl_features_set(e->nl, ifname, before.n_bits, mask, value, ret);
        else
                r = ethioc_features_set(e->fd, ifname, before.n_bits, mask, value, ret);
        if (r == -EPERM)
                fail(e, "%s: changing offload features needs CAP_NET_ADMIN", ifname);
        else if (r < 0)
                fail(e, "%s: changing offload features (%s): %s", ifname, ethtool_backend(e), strerror(-r));
        if (r == 0) {
                /* No reply (5.6-5.8 kernels when nothing moved): compare a fresh read. */
                const struct eth_features *now;
                r = ethtool_features(e, ifname, &now);
                for (unsigned i = 0; r >= 0 && i < before.words; i++) {
                        ret->not_taken[i] = mask[i] & (value[i] ^ now->active[i]);
                        ret->changed[i] = before.active[i] ^ now->active[i];
                        ret->active[i] = now->active[i];
                }
        }
        eth_features_done(&before);
        if (r < 0)
                return r;
        d = dev_find(e, ifname);
        strv_free(d->changes);
        d->changes = describe_changes(e, ret);
        return 0;
}

char *const *ethtool_last_changes(const struct ethtool *e, const char *ifname) {
        struct eth_dev *d = dev_find(e, ifname);
        return d ? d->changes : NULL;
}

int ethtool_driver(struct ethtool *e, const char *ifname, char **ret) {
        int r = pick(e);

        if (r >= 0)
                r = ioctl_fd(e);
        if (r >= 0)
                r = ethioc_driver(e->fd, ifname, ret);
        return r < 0 ? r : 0;
}
