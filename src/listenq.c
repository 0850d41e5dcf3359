/* SPDX-License-Identifier: ISC */
/*
 * listenq.c - how many connections wait in a listening socket's queue
 * for a worker to accept them, and how many the queue may hold: what
 * "ss -xl" shows as Recv-Q and Send-Q.
 *
 * A unix socket is asked through sock_diag (NETLINK_SOCK_DIAG,
 * UNIX_DIAG_RQLEN), looked up by its inode; without sock_diag in the
 * kernel, the connections are counted in /proc/net/unix instead (each
 * one not yet accepted is listed there under the socket's path, with no
 * inode of its own) and the limit is unknown.  A TCP socket answers
 * TCP_INFO.  Linux only; elsewhere the figures are unknown.  Also the
 * kernel's cap on listen queues (net.core.somaxconn).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

#include "mr.h"
#include "metrics.h"

#ifdef __linux__
#define TCP_LISTEN_STATE	10	/* the kernel's TCP_LISTEN */
#define NOCOOKIE		(~0U)	/* INET_DIAG_NOCOOKIE */

/* Ask sock_diag about the listening unix socket with inode ino. */
static int
unix_diag(ino_t ino, uint32_t *queued, uint32_t *limit)
{
	struct {
		struct nlmsghdr		nlh;
		struct unix_diag_req	req;
	} msg;
	struct sockaddr_nl	 nladdr;
	union {
		char			buf[8192];
		struct nlmsghdr		align;
	} u;
	struct nlmsghdr		*h;
	struct unix_diag_msg	*dm;
	struct rtattr		*attr;
	struct unix_diag_rqlen	*rq;
	ssize_t			 n;
	int			 fd, len, rc = -1;

	if ((fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
	    NETLINK_SOCK_DIAG)) == -1)
		return -1;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;
	msg.req.sdiag_family = AF_UNIX;
	msg.req.udiag_states = 1U << TCP_LISTEN_STATE;
	msg.req.udiag_ino = (uint32_t)ino;
	msg.req.udiag_show = UDIAG_SHOW_RQLEN;
	msg.req.udiag_cookie[0] = NOCOOKIE;
	msg.req.udiag_cookie[1] = NOCOOKIE;
	memset(&nladdr, 0, sizeof(nladdr));
	nladdr.nl_family = AF_NETLINK;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&nladdr,
	    sizeof(nladdr)) != (ssize_t)sizeof(msg))
		goto fail;
	do
		n = recv(fd, u.buf, sizeof(u.buf), 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		goto fail;
	for (h = &u.align; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
			break;		/* NLMSG_ERROR: no sock_diag */
		dm = NLMSG_DATA(h);
		if (dm->udiag_ino != (uint32_t)ino)
			continue;
		len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*dm)));
		for (attr = (struct rtattr *)(dm + 1); RTA_OK(attr, len);
		    attr = RTA_NEXT(attr, len)) {
			if (attr->rta_type != UNIX_DIAG_RQLEN ||
			    RTA_PAYLOAD(attr) < sizeof(*rq))
				continue;
			rq = RTA_DATA(attr);
			*queued = rq->udiag_rqueue;
			*limit = rq->udiag_wqueue;
			rc = 0;
		}
		break;
	}
fail:
	close(fd);
	return rc;
}

/*
 * Count the connections to path not yet accepted in /proc/net/unix:
 * listed under the listening socket's path, with inode 0, in state
 * connecting (02) or, once their client left, disconnecting (04).
 */
static int
proc_unix(const char *path, uint32_t *queued)
{
	FILE		*fp;
	char		 line[PATH_MAX + 128], name[PATH_MAX];
	unsigned	 st;
	unsigned long	 inode;
	uint32_t	 n = 0;

	if ((fp = fopen("/proc/net/unix", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		/* Num RefCount Protocol Flags Type St Inode Path */
		if (sscanf(line, "%*s %*x %*x %*x %*x %x %lu %4095s", &st,
		    &inode, name) != 3)
			continue;
		if (inode == 0 && (st == 2 || st == 4) &&
		    strcmp(name, path) == 0)
			n++;
	}
	fclose(fp);
	*queued = n;
	return 0;
}
#endif

/*
 * The kernel's cap on any listen queue: net.core.somaxconn where it can
 * be read, else SOMAXCONN.  listen() silently lowers a larger backlog to
 * it.
 */
int64_t
mr_listenq_max(void)
{
	FILE		*fp;
	long long	 v = -1;

	if ((fp = fopen("/proc/sys/net/core/somaxconn", "re")) != NULL) {
		if (fscanf(fp, "%lld", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v > 0 ? (int64_t)v : SOMAXCONN;
}

/*
 * The listen queue of socket fd: connections waiting to be accepted in
 * *queued, the most it may hold in *limit (0 when unknown).  Returns 0,
 * or -1 when the kernel does not say.
 */
int
mr_listenq_get(int fd, uint32_t *queued, uint32_t *limit)
{
#ifdef __linux__
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun;
	struct tcp_info		 ti;
	struct stat		 st;
	socklen_t		 len = sizeof(ss);

	*queued = 0;
	*limit = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		/* For a listening socket: the accept queue and its limit. */
		len = sizeof(ti);
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
			return -1;
		*queued = ti.tcpi_unacked;
		*limit = ti.tcpi_sacked;
		return 0;
	}
	if (ss.ss_family != AF_UNIX || fstat(fd, &st) == -1)
		return -1;
	if (unix_diag(st.st_ino, queued, limit) == 0)
		return 0;
	sun = (struct sockaddr_un *)&ss;
	if (len <= offsetof(struct sockaddr_un, sun_path) ||
	    sun->sun_path[0] == '\0')
		return -1;
	sun->sun_path[sizeof(sun->sun_path) - 1] = '\0';
	return proc_unix(sun->sun_path, queued);
#else
	(void)fd;
	*queued = 0;
	*limit = 0;
	return -1;
#endif
}
