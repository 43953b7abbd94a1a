/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <assert.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cleanup.h"
#include "net/nl.h"
#include "xalloc.h"

#define NL_SEND_SIZE 8192
#define NL_RECV_SIZE 32768

struct nl {
        struct mnl_socket *sock;
        unsigned portid;
        uint32_t seq;
        char extack[256]; /* kernel's extended-ack message of the last failed request */
        char sbuf[NL_SEND_SIZE];
        char rbuf[NL_RECV_SIZE];
};

typedef int nl_msg_cb(const struct nlmsghdr *nlh, void *data);

int nl_open(struct nl **ret, struct err **errp) {
        _cleanup_(nl_freep) struct nl *nl = NULL;
        struct timespec ts;
        int one = 1;

        nl = xnew0(struct nl, 1);
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock)
                return err_set(errp, errno, "open rtnetlink socket");
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return err_set(errp, errno, "bind rtnetlink socket");
        /* Extended acks give the kernel's reason ("Invalid MTU"), capped acks keep error replies
         * short. Both are optional: older kernels simply give bare errnos. */
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
        nl->portid = mnl_socket_get_portid(nl->sock);
        clock_gettime(CLOCK_MONOTONIC, &ts);
        nl->seq = (uint32_t)ts.tv_nsec;
        *ret = TAKE_PTR(nl);
        return 0;
}

/* Joining the target namespace on the calling thread and coming back is cheaper than forking a
 * helper and passing the socket over SCM_RIGHTS, and safe because berth's daemons run one thread
 * (STYLE C11): nothing else can observe the switch. */
int nl_open_netns(int netns_fd, struct nl **ret, struct err **errp) {
        _cleanup_close_ int self = -EBADF;
        int r;

        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return err_set(errp, errno, "open own network namespace");
        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return err_set(errp, errno, "join network namespace (fd %d)", netns_fd);
        r = nl_open(ret, errp);
        /* Returning cannot fail for a namespace we were in a moment ago; staying in the wrong
         * namespace would silently misconfigure the host, so this is fatal. */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        return r;
}

struct nl *nl_free(struct nl *nl) {
        if (!nl)
                return NULL;
        if (nl->sock)
                mnl_socket_close(nl->sock);
        free(nl);
        return NULL;
}

void nl_freep(struct nl **nl) {
        *nl = nl_free(*nl);
}

/* Fails with the kernel's errno and, when available, its extended-ack message. */
_printf_(4, 5) static int nl_fail(struct nl *nl, struct err **errp, int r, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;

        va_start(ap, fmt);
        what = xvasprintf(fmt, ap);
        va_end(ap);
        if (nl->extack[0])
                return err_setx(errp, -r, "%s: %s (%s)", what, strerror(-r), nl->extack);
        return err_setx(errp, -r, "%s: %s", what, strerror(-r));
}

bool nl_ifname_valid(const char *name) {
        if (!name || !name[0] || strlen(name) >= IFNAMSIZ)
                return false;
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || *p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
                        return false;
        return true;
}

static int nl_check_ifname(const char *name, struct err **errp) {
        if (!name || !name[0] || strlen(name) >= IFNAMSIZ)
                return err_setx(errp, EINVAL, "invalid interface name '%s': 1 to %d characters",
                                name ? name : "", IFNAMSIZ - 1);
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || *p <= ' ' || *p > '~' || *p == '"' || *p == '\\')
                        return err_setx(errp, EINVAL,
                                        "invalid interface name '%s': character '%c' not allowed",
                                        name, *p);
        return 0;
}

static void nl_extack_parse(struct nl *nl, const struct nlmsghdr *h) {
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
        size_t off = sizeof(struct nlmsghdr) + sizeof(struct nlmsgerr);
        const struct nlattr *a;
        int len;

        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        if (off >= h->nlmsg_len)
                return;
        a = (const struct nlattr *)((const char *)h + MNL_ALIGN(off));
        len = (int)h->nlmsg_len - (int)MNL_ALIGN(off);
        while (mnl_attr_ok(a, len)) {
                if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
                    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) {
                        snprintf(nl->extack, sizeof(nl->extack), "%s", mnl_attr_get_str(a));
                        return;
                }
                len -= (int)MNL_ALIGN(a->nla_len);
                a = mnl_attr_next(a);
        }
}

/* Sends one request and reads until its ACK (or NLMSG_DONE for dumps). Every other message with
 * our sequence number goes to cb. Returns 0 or the kernel's -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_msg_cb *cb, void *data) {
        /* NLM_F_DUMP shares bits with NLM_F_EXCL/NLM_F_REPLACE: only RTM_GET* can dump. */
        bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP && (nlh->nlmsg_type & 3) == 2;
        uint32_t seq;

        nl->extack[0] = 0;
        nlh->nlmsg_flags |= NLM_F_REQUEST;
        if (!dump)
                nlh->nlmsg_flags |= NLM_F_ACK;
        seq = nlh->nlmsg_seq = ++nl->seq;
        if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
                return -errno;

        for (;;) {
                const struct nlmsghdr *h;
                ssize_t n;
                int len;

                n = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                len = (int)n;
                for (h = (const struct nlmsghdr *)nl->rbuf; mnl_nlmsg_ok(h, len);
                     h = mnl_nlmsg_next(h, &len)) {
                        if (h->nlmsg_seq != seq || h->nlmsg_pid != nl->portid)
                                continue; /* a late answer to an earlier request */
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

                                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
                                        return -EPROTO;
                                if (e->error == 0)
                                        return 0;
                                nl_extack_parse(nl, h);
                                return e->error < 0 ? e->error : -EPROTO;
                        }
                        if (h->nlmsg_type == NLMSG_DONE) {
                                if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
                                        int e = *(const int *)mnl_nlmsg_get_payload(h);
                                        if (e < 0)
                                                return e;
                                }
                                return 0;
                        }
                        if (h->nlmsg_type < NLMSG_MIN_TYPE)
                                continue;
                        if (cb) {
                                int r = cb(h, data);
                                if (r < 0)
                                        return r;
                        }
                }
        }
}

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->sbuf);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        return nlh;
}

static struct nlmsghdr *nl_link_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
                                    const char *name) {
        struct nlmsghdr *nlh = nl_msg(nl, type, flags);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        if (name)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        return nlh;
}

struct link_info {
        int ifindex;
        int link; /* IFLA_LINK: a veth's peer's index (in the peer's namespace), 0 = none */
        char kind[32];
};

static int link_info_cb(const struct nlmsghdr *nlh, void *data) {
        struct link_info *li = data;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a, *b;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        li->ifindex = ifi->ifi_index;
        mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
                if (mnl_attr_get_type(a) == IFLA_LINK && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                        li->link = (int)mnl_attr_get_u32(a);
                if (mnl_attr_get_type(a) != IFLA_LINKINFO)
                        continue;
                mnl_attr_for_each_nested(b, a) {
                        if (mnl_attr_get_type(b) == IFLA_INFO_KIND &&
                            mnl_attr_validate(b, MNL_TYPE_NUL_STRING) >= 0)
                                snprintf(li->kind, sizeof(li->kind), "%s", mnl_attr_get_str(b));
                }
        }
        return 0;
}

static int nl_link_get(struct nl *nl, const char *name, struct link_info *li) {
        struct nlmsghdr *nlh;

        *li = (struct link_info){};
        nlh = nl_link_msg(nl, RTM_GETLINK, 0, 0, name);
        mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        return nl_talk(nl, nlh, link_info_cb, li);
}

/* Link name into li, which has an index: the lookup of nl_link_index and nl_veth_connect. */
static int link_lookup(struct nl *nl, const char *name, struct link_info *li, struct err **errp) {
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        r = nl_link_get(nl, name, li);
        if (r < 0)
                return nl_fail(nl, errp, r, "look up link '%s'", name);
        if (li->ifindex <= 0)
                return err_setx(errp, EPROTO, "look up link '%s': no index in reply", name);
        return 0;
}

int nl_link_index(struct nl *nl, const char *name, int *ret_ifindex, struct err **errp) {
        struct link_info li;
        int r;

        r = link_lookup(nl, name, &li, errp);
        if (r < 0)
                return r;
        *ret_ifindex = li.ifindex;
        return 0;
}

/* Puts bridge port ifindex in hairpin mode: the bridge may send a frame back out of the port it
 * came in on. (RTM_SETLINK of family AF_BRIDGE, IFLA_PROTINFO/IFLA_BRPORT_MODE.) */
static int nl_brport_hairpin(struct nl *nl, int ifindex) {
        struct nlmsghdr *nlh = nl_link_msg(nl, RTM_SETLINK, 0, ifindex, NULL);
        struct nlattr *nest;

        ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family = AF_BRIDGE;
        nest = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
        mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, 1);
        mnl_attr_nest_end(nlh, nest);
        return nl_talk(nl, nlh, NULL, NULL);
}

int nl_link_exists(struct nl *nl, const char *name, struct err **errp) {
        struct link_info li;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        r = nl_link_get(nl, name, &li);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return nl_fail(nl, errp, r, "look up link '%s'", name);
        return 1;
}

int nl_link_kind(struct nl *nl, const char *name, char *buf, size_t n, struct err **errp) {
        struct link_info li;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        r = nl_link_get(nl, name, &li);
        if (r < 0)
                return nl_fail(nl, errp, r, "look up link '%s'", name);
        snprintf(buf, n, "%s", li.kind);
        return 0;
}

/* EEXIST handling shared by the create functions: an existing link of the same kind is the
 * object we wanted (0), anything else is a conflict. */
static int nl_link_exists_as(struct nl *nl, const char *name, const char *kind, struct err **errp) {
        struct link_info li;
        int r;

        r = nl_link_get(nl, name, &li);
        if (r < 0)
                return nl_fail(nl, errp, r, "look up existing link '%s'", name);
        if (strcmp(li.kind, kind) != 0)
                return err_setx(errp, EEXIST,
                                "link '%s' already exists and is not a %s (kind '%s')", name, kind,
                                li.kind);
        return 0;
}

int nl_link_add_bridge(struct nl *nl, const char *name, uint32_t mtu, struct err **errp) {
        struct nlmsghdr *nlh;
        struct nlattr *info;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        nlh = nl_link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, info);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -EEXIST)
                return nl_link_exists_as(nl, name, "bridge", errp);
        if (r < 0)
                return nl_fail(nl, errp, r, "create bridge '%s'", name);
        return 1;
}

/* RTM_NEWLINK for a veth pair. up: the host end is created up (the peer cannot be: the
 * kernel configures it before the pair is linked, and opening it then fails with ENOTCONN);
 * master: the host end's bridge (0 = none). */
static struct nlmsghdr *nl_veth_msg(struct nl *nl, const char *name, const char *peer,
                                    int peer_netns_fd, uint32_t mtu, const uint8_t *peer_mac,
                                    bool up, int master) {
        struct nlattr *info, *data, *pa;
        struct ifinfomsg *ifi, *pifi;
        struct nlmsghdr *nlh;

        nlh = nl_link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name);
        ifi = mnl_nlmsg_get_payload(nlh);
        if (up) {
                ifi->ifi_flags = IFF_UP;
                ifi->ifi_change = IFF_UP;
        }
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (master > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        pa = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        /* The peer's attributes are preceded by its own ifinfomsg. */
        pifi = mnl_nlmsg_get_payload_tail(nlh);
        memset(pifi, 0, MNL_ALIGN(sizeof(*pifi)));
        pifi->ifi_family = AF_UNSPEC;
        nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        if (peer_netns_fd >= 0)
                mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (peer_mac)
                mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, peer_mac);
        mnl_attr_nest_end(nlh, pa);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        return nlh;
}

int nl_link_add_veth(struct nl *nl, const char *name, const char *peer, int peer_netns_fd,
                     uint32_t mtu, const uint8_t *peer_mac, struct err **errp) {
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        r = nl_check_ifname(peer, errp);
        if (r < 0)
                return r;
        r = nl_talk(nl, nl_veth_msg(nl, name, peer, peer_netns_fd, mtu, peer_mac, false, 0), NULL,
                    NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "create veth pair '%s'/'%s'", name, peer);
        return 1;
}

int nl_link_add_vxlan(struct nl *nl, const char *name, const struct nl_vxlan *cfg,
                      struct err **errp) {
        struct nlattr *info, *data;
        struct nlmsghdr *nlh;
        int link = 0, r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        if (cfg->vni == 0 || cfg->vni > 0xffffff)
                return err_setx(errp, EINVAL, "vxlan '%s': VNI %u out of range 1..16777215", name,
                                cfg->vni);
        if (cfg->dev) {
                r = nl_link_index(nl, cfg->dev, &link, errp);
                if (r < 0)
                        return err_wrap(errp, "vxlan '%s'", name);
        }
        nlh = nl_link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name);
        if (cfg->mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, cfg->mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, cfg->vni);
        if (cfg->local.family == AF_INET)
                mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, sizeof(cfg->local.v4), &cfg->local.v4);
        else if (cfg->local.family == AF_INET6)
                mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, sizeof(cfg->local.v6), &cfg->local.v6);
        if (link > 0)
                mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)link);
        mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(cfg->port ? cfg->port : 4789));
        mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, cfg->learning ? 1 : 0);
        mnl_attr_put_u8(nlh, IFLA_VXLAN_PROXY, cfg->proxy ? 1 : 0);
        /* RFC 7348: the outer UDP checksum SHOULD be zero over IPv4 (the inner frame has its
         * own); computing it costs throughput. */
        if (cfg->local.family != AF_INET6)
                mnl_attr_put_u8(nlh, IFLA_VXLAN_UDP_CSUM, 0);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -EEXIST)
                return nl_link_exists_as(nl, name, "vxlan", errp);
        if (r < 0)
                return nl_fail(nl, errp, r, "create vxlan '%s' (VNI %u)", name, cfg->vni);
        return 1;
}

int nl_link_add_macvlan(struct nl *nl, const char *name, const char *lower, int netns_fd,
                        uint32_t mtu, const uint8_t *mac, struct err **errp) {
        struct nlattr *info, *data;
        struct nlmsghdr *nlh;
        int link, r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        r = nl_link_index(nl, lower, &link, errp);
        if (r < 0)
                return err_wrap(errp, "macvlan '%s'", name);
        nlh = nl_link_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, name);
        mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)link);
        if (netns_fd >= 0)
                mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
        if (mtu > 0)
                mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (mac)
                mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, mac);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -EEXIST && netns_fd < 0)
                return nl_link_exists_as(nl, name, "macvlan", errp);
        if (r < 0)
                return nl_fail(nl, errp, r, "create macvlan '%s' on '%s'", name, lower);
        return 1;
}

int nl_link_set_up(struct nl *nl, const char *name, bool up, struct err **errp) {
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        nlh = nl_link_msg(nl, RTM_NEWLINK, 0, 0, name);
        ifi = mnl_nlmsg_get_payload(nlh);
        ifi->ifi_change = IFF_UP;
        ifi->ifi_flags = up ? IFF_UP : 0;
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "set link '%s' %s", name, up ? "up" : "down");
        return 0;
}

int nl_link_set_master(struct nl *nl, const char *name, const char *master, struct err **errp) {
        struct nlmsghdr *nlh;
        int m = 0, r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        if (master) {
                r = nl_link_index(nl, master, &m, errp);
                if (r < 0)
                        return err_wrap(errp, "attach '%s'", name);
        }
        nlh = nl_link_msg(nl, RTM_NEWLINK, 0, 0, name);
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)m);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "set master of '%s' to '%s'", name,
                               master ? master : "none");
        return 0;
}

int nl_link_set_mtu(struct nl *nl, const char *name, uint32_t mtu, struct err **errp) {
        struct nlmsghdr *nlh;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        nlh = nl_link_msg(nl, RTM_NEWLINK, 0, 0, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "set MTU of '%s' to %u", name, mtu);
        return 0;
}

int nl_link_set_mac(struct nl *nl, const char *name, const uint8_t mac[NL_MAC_LEN],
                    struct err **errp) {
        struct nlmsghdr *nlh;
        char buf[18];
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        nlh = nl_link_msg(nl, RTM_NEWLINK, 0, 0, name);
        mnl_attr_put(nlh, IFLA_ADDRESS, NL_MAC_LEN, mac);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0) {
                nl_mac_format(mac, buf);
                return nl_fail(nl, errp, r, "set MAC of '%s' to %s", name, buf);
        }
        return 0;
}

int nl_link_rename(struct nl *nl, const char *name, const char *newname, struct err **errp) {
        struct nlmsghdr *nlh;
        int idx, r;

        r = nl_check_ifname(newname, errp);
        if (r < 0)
                return r;
        r = nl_link_index(nl, name, &idx, errp);
        if (r < 0)
                return err_wrap(errp, "rename to '%s'", newname);
        nlh = nl_link_msg(nl, RTM_NEWLINK, 0, idx, newname);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "rename link '%s' to '%s'", name, newname);
        return 0;
}

int nl_link_set_netns(struct nl *nl, const char *name, int netns_fd, struct err **errp) {
        struct nlmsghdr *nlh;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        nlh = nl_link_msg(nl, RTM_NEWLINK, 0, 0, name);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "move link '%s' to namespace fd %d", name, netns_fd);
        return 0;
}

int nl_link_del(struct nl *nl, const char *name, struct err **errp) {
        struct nlmsghdr *nlh;
        int r;

        r = nl_check_ifname(name, errp);
        if (r < 0)
                return r;
        nlh = nl_link_msg(nl, RTM_DELLINK, 0, 0, name);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return nl_fail(nl, errp, r, "delete link '%s'", name);
        return 1;
}

static size_t nl_ip_len(const struct nl_ip *ip) {
        return ip->family == AF_INET6 ? sizeof(ip->v6) : sizeof(ip->v4);
}

static int nl_ip_check(const struct nl_ip *ip, unsigned prefixlen, const char *what,
                       struct err **errp) {
        if (!ip || (ip->family != AF_INET && ip->family != AF_INET6))
                return err_setx(errp, EAFNOSUPPORT, "%s: address family not supported", what);
        if (prefixlen > (ip->family == AF_INET ? 32u : 128u))
                return err_setx(errp, EINVAL, "%s: prefix length %u out of range", what, prefixlen);
        return 0;
}

static struct nlmsghdr *nl_addr_msg(struct nl *nl, uint16_t type, uint16_t flags, int ifindex,
                                    const struct nl_ip *ip, unsigned prefixlen) {
        struct nlmsghdr *nlh = nl_msg(nl, type, flags);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

        ifa->ifa_family = (uint8_t)ip->family;
        ifa->ifa_prefixlen = (uint8_t)prefixlen;
        ifa->ifa_index = (uint32_t)ifindex;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        mnl_attr_put(nlh, IFA_LOCAL, nl_ip_len(ip), &ip->v6);
        mnl_attr_put(nlh, IFA_ADDRESS, nl_ip_len(ip), &ip->v6);
        return nlh;
}

struct addr_scan {
        int ifindex;
        int family;               /* 0 = any */
        const struct nl_ip *want; /* NULL = count all */
        unsigned prefixlen;
        int count;
        bool found;
};

static int addr_scan_cb(const struct nlmsghdr *nlh, void *data) {
        struct addr_scan *s = data;
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != s->ifindex)
                return 0;
        if (s->family && ifa->ifa_family != s->family)
                return 0;
        s->count++;
        if (!s->want || ifa->ifa_family != s->want->family || ifa->ifa_prefixlen != s->prefixlen)
                return 0;
        mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
                if (mnl_attr_get_type(a) == IFA_LOCAL &&
                    mnl_attr_get_payload_len(a) == nl_ip_len(s->want) &&
                    memcmp(mnl_attr_get_payload(a), &s->want->v6, nl_ip_len(s->want)) == 0)
                        s->found = true;
        }
        return 0;
}

static int nl_addr_scan(struct nl *nl, struct addr_scan *s) {
        struct nlmsghdr *nlh = nl_msg(nl, RTM_GETADDR, NLM_F_DUMP);
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

        ifa->ifa_family = AF_UNSPEC;
        return nl_talk(nl, nlh, addr_scan_cb, s);
}

int nl_addr_add(struct nl *nl, const char *ifname, const struct nl_ip *ip, unsigned prefixlen,
                struct err **errp) {
        char buf[INET6_ADDRSTRLEN] = "";
        int idx, r;

        r = nl_ip_check(ip, prefixlen, ifname, errp);
        if (r < 0)
                return r;
        r = nl_link_index(nl, ifname, &idx, errp);
        if (r < 0)
                return err_wrap(errp, "add address");
        inet_ntop(ip->family, &ip->v6, buf, sizeof(buf));
        r = nl_talk(nl, nl_addr_msg(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, idx, ip, prefixlen),
                    NULL, NULL);
        if (r == -EEXIST) {
                struct addr_scan s = {.ifindex = idx, .want = ip, .prefixlen = prefixlen};

                r = nl_addr_scan(nl, &s);
                if (r < 0)
                        return nl_fail(nl, errp, r, "list addresses of '%s'", ifname);
                if (!s.found)
                        return err_setx(errp, EEXIST, "address %s/%u conflicts on '%s'", buf,
                                        prefixlen, ifname);
                return 0;
        }
        if (r < 0)
                return nl_fail(nl, errp, r, "add address %s/%u to '%s'", buf, prefixlen, ifname);
        return 1;
}

int nl_addr_del(struct nl *nl, const char *ifname, const struct nl_ip *ip, unsigned prefixlen,
                struct err **errp) {
        char buf[INET6_ADDRSTRLEN] = "";
        int idx, r;

        r = nl_ip_check(ip, prefixlen, ifname, errp);
        if (r < 0)
                return r;
        r = nl_link_exists(nl, ifname, errp);
        if (r <= 0)
                return r;
        r = nl_link_index(nl, ifname, &idx, errp);
        if (r < 0)
                return r;
        inet_ntop(ip->family, &ip->v6, buf, sizeof(buf));
        r = nl_talk(nl, nl_addr_msg(nl, RTM_DELADDR, 0, idx, ip, prefixlen), NULL, NULL);
        if (r == -EADDRNOTAVAIL || r == -ENODEV)
                return 0;
        if (r < 0)
                return nl_fail(nl, errp, r, "delete address %s/%u from '%s'", buf, prefixlen,
                               ifname);
        return 1;
}

int nl_addr_count(struct nl *nl, const char *ifname, int family, struct err **errp) {
        struct addr_scan s = {.family = family};
        int r;

        r = nl_link_index(nl, ifname, &s.ifindex, errp);
        if (r < 0)
                return r;
        r = nl_addr_scan(nl, &s);
        if (r < 0)
                return nl_fail(nl, errp, r, "list addresses of '%s'", ifname);
        return s.count;
}

static int nl_route_msg(struct nl *nl, uint16_t type, uint16_t flags, const struct nl_ip *dst,
                        unsigned dst_len, const struct nl_ip *gw, const char *ifname,
                        struct nlmsghdr **ret, struct err **errp) {
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        int oif = 0, r;

        r = nl_ip_check(dst, dst_len, "route", errp);
        if (r < 0)
                return r;
        if (gw && gw->family != dst->family)
                return err_setx(errp, EINVAL, "route: gateway family differs from destination");
        if (!gw && !ifname)
                return err_setx(errp, EINVAL, "route: needs a gateway or a device");
        if (ifname) {
                r = nl_link_index(nl, ifname, &oif, errp);
                if (r < 0)
                        return err_wrap(errp, "route");
        }
        nlh = nl_msg(nl, type, flags);
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t)dst->family;
        rtm->rtm_dst_len = (uint8_t)dst_len;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        rtm->rtm_type = RTN_UNICAST;
        if (dst_len > 0)
                mnl_attr_put(nlh, RTA_DST, nl_ip_len(dst), &dst->v6);
        if (gw)
                mnl_attr_put(nlh, RTA_GATEWAY, nl_ip_len(gw), &gw->v6);
        if (oif > 0)
                mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
        *ret = nlh;
        return 0;
}

static void nl_route_str(const struct nl_ip *dst, unsigned dst_len, const struct nl_ip *gw,
                         char *buf, size_t n) {
        char d[INET6_ADDRSTRLEN] = "", g[INET6_ADDRSTRLEN] = "";

        inet_ntop(dst->family, &dst->v6, d, sizeof(d));
        if (gw)
                inet_ntop(gw->family, &gw->v6, g, sizeof(g));
        if (dst_len == 0)
                snprintf(buf, n, "default%s%s", gw ? " via " : "", g);
        else
                snprintf(buf, n, "%s/%u%s%s", d, dst_len, gw ? " via " : "", g);
}

/* An existing route to the same destination in the main table is taken as ours (EEXIST). */
int nl_route_add(struct nl *nl, const struct nl_ip *dst, unsigned dst_len, const struct nl_ip *gw,
                 const char *ifname, struct err **errp) {
        struct nlmsghdr *nlh;
        char what[128];
        int r;

        r = nl_route_msg(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, dst, dst_len, gw, ifname,
                         &nlh, errp);
        if (r < 0)
                return r;
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -EEXIST)
                return 0;
        if (r < 0) {
                nl_route_str(dst, dst_len, gw, what, sizeof(what));
                return nl_fail(nl, errp, r, "add route %s", what);
        }
        return 1;
}

int nl_route_del(struct nl *nl, const struct nl_ip *dst, unsigned dst_len, const struct nl_ip *gw,
                 const char *ifname, struct err **errp) {
        struct nlmsghdr *nlh;
        char what[128];
        int r;

        if (ifname) {
                r = nl_link_exists(nl, ifname, errp);
                if (r <= 0)
                        return r; /* the route went away with its device */
        }
        r = nl_route_msg(nl, RTM_DELROUTE, 0, dst, dst_len, gw, ifname, &nlh, errp);
        if (r < 0)
                return r;
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -ESRCH || r == -ENODEV)
                return 0;
        if (r < 0) {
                nl_route_str(dst, dst_len, gw, what, sizeof(what));
                return nl_fail(nl, errp, r, "delete route %s", what);
        }
        return 1;
}

struct route_list {
        struct nl_route *v;
        size_t n, allocated;
};

static int route_list_cb(const struct nlmsghdr *nlh, void *data) {
        struct route_list *l = data;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;
        struct nl_route rt = {.dst.family = AF_INET};
        uint32_t table = rtm->rtm_table;

        if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET ||
            rtm->rtm_type != RTN_UNICAST)
                return 0;
        rt.dst_len = rtm->rtm_dst_len;
        mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
                switch (mnl_attr_get_type(a)) {
                case RTA_TABLE:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                table = mnl_attr_get_u32(a);
                        break;
                case RTA_DST:
                        if (mnl_attr_get_payload_len(a) == sizeof(rt.dst.v4))
                                memcpy(&rt.dst.v4, mnl_attr_get_payload(a), sizeof(rt.dst.v4));
                        break;
                case RTA_OIF:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                rt.ifindex = (int)mnl_attr_get_u32(a);
                        break;
                default:
                        break;
                }
        }
        if (table != RT_TABLE_MAIN)
                return 0;
        XGROW(l->v, l->allocated, l->n + 1);
        l->v[l->n++] = rt;
        return 0;
}

int nl_route_list4(struct nl *nl, struct nl_route **ret, size_t *ret_n, struct err **errp) {
        struct route_list l = {};
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;
        int r;

        nlh = nl_msg(nl, RTM_GETROUTE, NLM_F_DUMP);
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        r = nl_talk(nl, nlh, route_list_cb, &l);
        if (r < 0) {
                free(l.v);
                return nl_fail(nl, errp, r, "list IPv4 routes");
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

static struct nlmsghdr *nl_neigh_msg(struct nl *nl, uint16_t type, uint16_t flags, int family,
                                     int ifindex, uint16_t state, uint8_t ntf) {
        struct nlmsghdr *nlh = nl_msg(nl, type, flags);
        struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));

        nd->ndm_family = (uint8_t)family;
        nd->ndm_ifindex = ifindex;
        nd->ndm_state = state;
        nd->ndm_flags = ntf;
        return nlh;
}

int nl_neigh_add(struct nl *nl, const char *ifname, const struct nl_ip *ip,
                 const uint8_t mac[NL_MAC_LEN], struct err **errp) {
        struct nlmsghdr *nlh;
        int idx, r;

        r = nl_ip_check(ip, 0, ifname, errp);
        if (r < 0)
                return r;
        r = nl_link_index(nl, ifname, &idx, errp);
        if (r < 0)
                return err_wrap(errp, "add neighbour");
        /* REPLACE makes the call idempotent: the entry ends up exactly as requested. */
        nlh = nl_neigh_msg(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ip->family, idx,
                           NUD_PERMANENT, 0);
        mnl_attr_put(nlh, NDA_DST, nl_ip_len(ip), &ip->v6);
        mnl_attr_put(nlh, NDA_LLADDR, NL_MAC_LEN, mac);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r < 0)
                return nl_fail(nl, errp, r, "add neighbour on '%s'", ifname);
        return 1;
}

int nl_neigh_del(struct nl *nl, const char *ifname, const struct nl_ip *ip, struct err **errp) {
        struct nlmsghdr *nlh;
        int idx, r;

        r = nl_ip_check(ip, 0, ifname, errp);
        if (r < 0)
                return r;
        r = nl_link_exists(nl, ifname, errp);
        if (r <= 0)
                return r;
        r = nl_link_index(nl, ifname, &idx, errp);
        if (r < 0)
                return r;
        nlh = nl_neigh_msg(nl, RTM_DELNEIGH, 0, ip->family, idx, 0, 0);
        mnl_attr_put(nlh, NDA_DST, nl_ip_len(ip), &ip->v6);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                return nl_fail(nl, errp, r, "delete neighbour on '%s'", ifname);
        return 1;
}

static int nl_fdb(struct nl *nl, bool add, const char *ifname, const uint8_t mac[NL_MAC_LEN],
                  const struct nl_ip *dst, struct err **errp) {
        struct nlmsghdr *nlh;
        char m[18];
        int idx, r;

        r = nl_ip_check(dst, 0, ifname, errp);
        if (r < 0)
                return r;
        if (!add) {
                r = nl_link_exists(nl, ifname, errp);
                if (r <= 0)
                        return r;
        }
        r = nl_link_index(nl, ifname, &idx, errp);
        if (r < 0)
                return err_wrap(errp, "fdb entry");
        /* APPEND lets the all-zero MAC (flooding) list several VTEPs. */
        nlh = nl_neigh_msg(nl, add ? RTM_NEWNEIGH : RTM_DELNEIGH,
                           add ? NLM_F_CREATE | NLM_F_APPEND : 0, AF_BRIDGE, idx,
                           NUD_PERMANENT | NUD_NOARP, NTF_SELF);
        mnl_attr_put(nlh, NDA_LLADDR, NL_MAC_LEN, mac);
        mnl_attr_put(nlh, NDA_DST, nl_ip_len(dst), &dst->v6);
        r = nl_talk(nl, nlh, NULL, NULL);
        if (add && r == -EEXIST)
                return 0;
        if (!add && (r == -ENOENT || r == -ENODEV))
                return 0;
        if (r < 0) {
                nl_mac_format(mac, m);
                return nl_fail(nl, errp, r, "%s fdb entry %s on '%s'", add ? "add" : "delete", m,
                               ifname);
        }
        return 1;
}

int nl_fdb_add(struct nl *nl, const char *ifname, const uint8_t mac[NL_MAC_LEN],
               const struct nl_ip *dst, struct err **errp) {
        return nl_fdb(nl, true, ifname, mac, dst, errp);
}

int nl_fdb_del(struct nl *nl, const char *ifname, const uint8_t mac[NL_MAC_LEN],
               const struct nl_ip *dst, struct err **errp) {
        return nl_fdb(nl, false, ifname, mac, dst, errp);
}

int nl_ip_parse(const char *s, struct nl_ip *ret) {
        struct nl_ip ip = {};

        if (!s)
                return -EINVAL;
        if (inet_pton(AF_INET, s, &ip.v4) == 1)
                ip.family = AF_INET;
        else if (inet_pton(AF_INET6, s, &ip.v6) == 1)
                ip.family = AF_INET6;
        else
                return -EINVAL;
        *ret = ip;
        return 0;
}

int nl_mac_parse(const char *s, uint8_t ret[NL_MAC_LEN]) {
        uint8_t m[NL_MAC_LEN];

        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (size_t i = 0; i < NL_MAC_LEN; i++) {
                unsigned v = 0;

                for (size_t j = 0; j < 2; j++) {
                        char c = s[i * 3 + j];
                        v <<= 4;
                        if (c >= '0' && c <= '9')
                                v |= (unsigned)(c - '0');
                        else if (c >= 'a' && c <= 'f')
                                v |= (unsigned)(c - 'a' + 10);
                        else if (c >= 'A' && c <= 'F')
                                v |= (unsigned)(c - 'A' + 10);
                        else
                                return -EINVAL;
                }
                if (i < NL_MAC_LEN - 1 && s[i * 3 + 2] != ':')
                        return -EINVAL;
                m[i] = (uint8_t)v;
        }
        memcpy(ret, m, NL_MAC_LEN);
        return 0;
}

void nl_mac_format(const uint8_t mac[NL_MAC_LEN], char buf[18]) {
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                 mac[5]);
}

/* ---- a container's veth endpoint in few round trips ---- */

#define NL_BATCH_MAX 4

/* Sends the n requests in buf (len bytes, each already built) in one sendmsg and reads until
 * every one is answered: the kernel handles them in order and acks each. errs[i] gets request
 * i's result (0 or the kernel's -errno); nl->extack keeps the message of the first failure.
 * Returns 0, or -errno when the socket itself failed. */
static int nl_talk_batch(struct nl *nl, char *buf, size_t len, int *errs, size_t n) {
        uint32_t base = nl->seq;
        size_t pending = n, i = 0;
        bool failed = false;

        nl->extack[0] = 0;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; i < n;
             h = (struct nlmsghdr *)((char *)h + MNL_ALIGN(h->nlmsg_len)), i++) {
                h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
                h->nlmsg_seq = ++nl->seq;
                errs[i] = 1; /* unanswered */
        }
        if (mnl_socket_sendto(nl->sock, buf, len) < 0)
                return -errno;
        while (pending > 0) {
                const struct nlmsghdr *h;
                ssize_t got;
                int rlen;

                got = mnl_socket_recvfrom(nl->sock, nl->rbuf, sizeof(nl->rbuf));
                if (got < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                rlen = (int)got;
                for (h = (const struct nlmsghdr *)nl->rbuf; mnl_nlmsg_ok(h, rlen);
                     h = mnl_nlmsg_next(h, &rlen)) {
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        size_t k = h->nlmsg_seq - base - 1;

                        if (h->nlmsg_pid != nl->portid || k >= n || errs[k] != 1 ||
                            h->nlmsg_type != NLMSG_ERROR)
                                continue;
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
                                errs[k] = -EPROTO;
                        else
                                errs[k] = e->error <= 0 ? e->error : -EPROTO;
                        if (errs[k] < 0 && !failed) {
                                nl_extack_parse(nl, h);
                                failed = true;
                        }
                        pending--;
                }
        }
        return 0;
}

/* Appends the message just built at the start of nl->sbuf to buf. */
static void nl_batch_add(struct nl *nl, char *buf, size_t size, size_t *len) {
        const struct nlmsghdr *h = (const struct nlmsghdr *)nl->sbuf;

        assert(*len + MNL_ALIGN(h->nlmsg_len) <= size);
        memcpy(buf + *len, h, h->nlmsg_len);
        *len += MNL_ALIGN(h->nlmsg_len);
}

int nl_veth_connect(struct nl *nl, struct nl *cnl, const struct nl_veth_opts *o,
                    struct err **errp) {
        static const char *const step[] = {"set the link up", "add address", "set link 'lo' up",
                                           "add default route"};
        char batch[1024], what[INET6_ADDRSTRLEN] = "";
        struct nl_ip def = {.family = AF_INET};
        int errs[NL_BATCH_MAX], master = 0, idx, r;
        struct link_info li;
        struct nlmsghdr *nlh;
        size_t len = 0, n = 0;

        r = nl_check_ifname(o->name, errp);
        if (r < 0)
                return r;
        r = nl_check_ifname(o->peer, errp);
        if (r < 0)
                return r;
        r = nl_ip_check(&o->addr, o->prefixlen, o->peer, errp);
        if (r < 0)
                return r;
        if (o->gw && o->gw->family != o->addr.family)
                return err_setx(errp, EINVAL, "route: gateway family differs from the address");
        if (o->master) {
                r = nl_link_index(nl, o->master, &master, errp);
                if (r < 0)
                        return r;
        }
        /* The host end is born up and already in its bridge: one request instead of four. A
         * host end left by a crash has our deterministic name: replace it once. */
        for (int tries = 0;; tries++) {
                r = nl_talk(nl,
                            nl_veth_msg(nl, o->name, o->peer, o->peer_netns_fd, o->mtu, o->peer_mac,
                                        true, master),
                            NULL, NULL);
                if (r != -EEXIST || tries > 0)
                        break;
                r = nl_link_exists(cnl, o->peer, errp);
                if (r < 0)
                        return r;
                if (r > 0)
                        return err_setx(errp, EEXIST,
                                        "interface '%s' already exists in the container", o->peer);
                r = nl_link_del(nl, o->name, errp);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return nl_fail(nl, errp, r, "create veth pair '%s'/'%s'", o->name, o->peer);

        /* The container's end: its index (and in the same reply the host end's), then link
         * up, address, lo up and default route in one send. */
        r = link_lookup(cnl, o->peer, &li, errp);
        if (r < 0)
                goto fail;
        idx = li.ifindex;
        if (master && li.link <= 0) {
                r = err_setx(errp, EPROTO, "look up link '%s': no peer index in reply", o->peer);
                goto fail;
        }
        /* Hairpin: a container that reaches itself through an address the host translates (its
         * own service's VIP, its own published port) sends frames that br_netfilter bridges
         * back to the port they came from. */
        if (master) {
                r = nl_brport_hairpin(nl, li.link);
                if (r < 0) {
                        r = nl_fail(nl, errp, r, "set hairpin mode of bridge port '%s'", o->name);
                        goto fail;
                }
        }
        nlh = nl_link_msg(cnl, RTM_NEWLINK, 0, idx, NULL);
        ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
        ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = IFF_UP;
        nl_batch_add(cnl, batch, sizeof(batch), &len);
        n++;
        nl_addr_msg(cnl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, idx, &o->addr, o->prefixlen);
        nl_batch_add(cnl, batch, sizeof(batch), &len);
        n++;
        nlh = nl_link_msg(cnl, RTM_NEWLINK, 0, 0, "lo");
        ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_change = IFF_UP;
        ((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_flags = IFF_UP;
        nl_batch_add(cnl, batch, sizeof(batch), &len);
        n++;
        if (o->gw) {
                r = nl_route_msg(cnl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &def, 0, o->gw, NULL,
                                 &nlh, errp);
                if (r < 0)
                        goto fail;
                nl_batch_add(cnl, batch, sizeof(batch), &len);
                n++;
        }
        r = nl_talk_batch(cnl, batch, len, errs, n);
        if (r < 0) {
                r = nl_fail(cnl, errp, r, "configure '%s' in the container", o->peer);
                goto fail;
        }
        for (size_t i = 0; i < n; i++) {
                /* an existing default route (an earlier network's) is kept */
                if (errs[i] >= 0 || (i == 3 && errs[i] == -EEXIST))
                        continue;
                inet_ntop(o->addr.family, &o->addr.v6, what, sizeof(what));
                r = nl_fail(cnl, errp, errs[i], "%s (%s/%u on '%s')", step[i], what, o->prefixlen,
                            o->peer);
                goto fail;
        }
        return 1;
fail:
        (void)nl_link_del(nl, o->name, NULL);
        return r;
}
