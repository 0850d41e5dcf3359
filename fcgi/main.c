/* SPDX-License-Identifier: ISC */
/*
 * main.c - meetrec-fcgi: read the configuration, bind the socket, open
 * the pid file, drop root, hand over to the prefork master.  See
 * meetrec-fcgi(8).
 *
 * Started as root with fcgi_user set, the socket and the pid file are
 * made as root, and neither may become a way for fcgi_user (or anyone
 * but root) to have root act on a file of their choosing:
 *
 *  - Both live in folders only root can change.  Their folders and
 *    every folder above must belong to root and be writable by root
 *    alone (a sticky folder such as /tmp is accepted above the last
 *    one), or the pool refuses to start.  The check is made on the path
 *    with its symbolic links resolved, and that resolved path is the
 *    one used: nothing on the way can be renamed or replaced by a link.
 *  - The socket is born with its final owner, group and mode: bound with
 *    the socket group as effective group and umask 0117, it is root's,
 *    that group's, 0660.  No path is chowned afterwards (and fchown on
 *    a socket descriptor would not reach the file).  fcgi_user needs no
 *    access to the file: the master holds the listening descriptor.
 *  - The pid file is never opened through a symbolic link: a link, or
 *    anything but a regular file, is refused; a stale file is replaced
 *    (mr_pidfile_open).  It stays root's, 0644, never given to
 *    fcgi_user.  The master keeps the descriptor it opened before the
 *    drop, writes its pid through it once the workers run and empties
 *    it at exit; workers do not inherit it.
 *
 * Having dropped root, the master cannot remove the socket or the pid
 * file from root's folder at exit; the next start replaces both.  A
 * socket is replaced only when nobody listens on it: a second start with
 * the same fcgi_socket while a pool runs is refused (clear_stale), and a
 * pool removes at exit only the socket it made (unlink_ours).
 *
 * A second socket, fcgi_socket with ".busy" added, is made the same way
 * next to the first: the busy responder's (busy.c), nginx's backup
 * server for when the pool is full.  Both listen with fcgi_backlog, by
 * default the kernel's cap (net.core.somaxconn), so a burst waits in the
 * queue instead of being refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "fcgi.h"
#include "httpc.h"
#include "metrics.h"

static void MR_NORETURN
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: meetrec-fcgi [--config file] [--syslog]\n"
	    "       meetrec-fcgi --help | --version\n"
	    "The configuration is read from %s,\n"
	    "unless --config or MEETREC_CONFIG name another file.  Logs go\n"
	    "to standard error (with priorities when it is the journal), or\n"
	    "to syslog with --syslog.  See meetrec-fcgi(8).\n", MR_CONFFILE);
	exit(status);
}

/* fds 0-2 must be open before we open anything (slowcgi). */
static void
std_fds(void)
{
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* Who we become when started as root, and the socket's group. */
struct privs {
	int	 drop;		/* root with fcgi_user set */
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 sockgid;
};

static void
lookup_privs(const struct mr_conf *conf, struct privs *pv)
{
	struct passwd	*pw;
	struct group	*gr;

	memset(pv, 0, sizeof(*pv));
	pv->sockgid = getegid();
	if (geteuid() == 0 && conf->cf_fcgi_user != NULL) {
		if ((pw = getpwnam(conf->cf_fcgi_user)) == NULL)
			mr_fatalx("fcgi_user '%s' does not exist",
			    conf->cf_fcgi_user);
		pv->drop = 1;
		pv->uid = pw->pw_uid;
		pv->gid = pw->pw_gid;
		pv->sockgid = pw->pw_gid;
	} else if (geteuid() == 0)
		mr_log_warnx("running as root: set fcgi_user to drop "
		    "privileges");
	if (conf->cf_fcgi_socket_group != NULL) {
		if ((gr = getgrnam(conf->cf_fcgi_socket_group)) == NULL)
			mr_fatalx("fcgi_socket_group '%s' does not exist",
			    conf->cf_fcgi_socket_group);
		pv->sockgid = gr->gr_gid;
	}
}

/*
 * One folder on the way to a file root makes: root's, and writable by
 * root alone, or sticky (then others cannot move root's entries) if it
 * is not the file's own folder.
 */
static void
check_folder(const char *what, const char *path, const char *dir, int last)
{
	struct stat	 st;
	int		 open_to_others;

	if (lstat(dir, &st) == -1)
		mr_fatal("%s '%s': folder '%s'", what, path, dir);
	if (!S_ISDIR(st.st_mode))
		mr_fatalx("%s '%s': '%s' is not a folder", what, path, dir);
	open_to_others = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (last || (st.st_mode & S_ISVTX) == 0);
	if (st.st_uid != 0 || open_to_others)
		mr_fatalx("%s '%s': folder '%s' (owner uid %lu, mode %04o) "
		    "can be changed by others than root; started as root, "
		    "meetrec-fcgi keeps its socket and pid file only in "
		    "folders root alone can change", what, path, dir,
		    (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
}

/*
 * Resolve the folder of path (what names the key) and check it and
 * every folder above it with check_folder.  The resolved path, which no
 * one but root can change, goes to out (PATH_MAX bytes); exits on any
 * failure.
 */
static void
safe_path(const char *what, const char *path, char *out)
{
	char		 dir[PATH_MAX], real[PATH_MAX];
	const char	*base, *slash;
	char		*p, *q;

	if ((slash = strrchr(path, '/')) == NULL) {
		base = path;
		memcpy(dir, ".", 2);
	} else {
		base = slash + 1;
		if (slash == path)
			memcpy(dir, "/", 2);
		else if ((size_t)(slash - path) < sizeof(dir)) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
		} else
			mr_fatalx("%s '%s' is too long", what, path);
	}
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		mr_fatalx("%s '%s' does not name a file", what, path);
	if (realpath(dir, real) == NULL)
		mr_fatal("%s '%s': could not resolve its folder", what, path);

	/* "/", then "/a", "/a/b", ...: realpath leaves no "//" or "/.". */
	check_folder(what, path, "/", strcmp(real, "/") == 0);
	for (p = real + 1; *p != '\0'; p = q + 1) {
		if ((q = strchr(p, '/')) != NULL)
			*q = '\0';
		check_folder(what, path, real, q == NULL);
		if (q == NULL)
			break;
		*q = '/';
	}
	if (snprintf(out, PATH_MAX, "%s/%s", strcmp(real, "/") == 0 ? "" :
	    real, base) >= PATH_MAX)
		mr_fatalx("%s '%s' is too long", what, path);
}

/*
 * The listen queue's length: fcgi_backlog, or the kernel's cap when it
 * is 0.  A larger one is lowered by the kernel without a word: say so.
 */
static int
backlog(const struct mr_conf *conf)
{
	int64_t	 cap = mr_listenq_max();

	if (conf->cf_fcgi_backlog == 0)
		return cap > INT_MAX ? INT_MAX : (int)cap;
	if (conf->cf_fcgi_backlog > cap)
		mr_log_warnx("fcgi_backlog %lld is above the kernel's cap "
		    "net.core.somaxconn = %lld: the listen queue holds %lld",
		    (long long)conf->cf_fcgi_backlog, (long long)cap,
		    (long long)cap);
	return (int)conf->cf_fcgi_backlog;
}

/*
 * Does a server listen on the unix socket at path?  A non-blocking
 * connect(2) succeeds, or fails with EAGAIN when the listen queue is
 * full, only when one does; a socket left by a pool that has gone
 * refuses it.  A live pool accepts the probe and sees it close before
 * any request, which libfcgi takes quietly.
 */
static int
listening(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, rc, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* Too long to bind: FCGX_OpenSocket says so. */
	if (mr_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) == -1)
		return 0;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		mr_fatal("could not make a socket to probe '%s'", path);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	return rc == 0 || saved == EAGAIN;
}

/*
 * Make room for a socket at path: a stale socket from a previous run is
 * removed, nothing else.  A socket a pool still listens on is another
 * meetrec-fcgi's, running with the same fcgi_socket: taking the path
 * would leave that pool serving nobody.
 */
static void
clear_stale(const char *path)
{
	struct stat	 st;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISSOCK(st.st_mode))
		mr_fatalx("'%s' exists and is not a socket", path);
	if (listening(path))
		mr_fatalx("'%s' is in use: another meetrec-fcgi listens there",
		    path);
	if (unlink(path) == -1)
		mr_fatal("could not remove stale socket '%s'", path);
}

/*
 * Bind the socket at path (made free by clear_stale), listening with a
 * queue of qlen, and note in made which file it is, for the removal at
 * exit.  As root it is made with its final owner (root), group (gid)
 * and mode (0660) at once: bound with gid as the effective group and
 * umask 0117.  Nothing is chowned afterwards, so no path is ever chowned
 * that someone could have swapped for a link.
 *
 * Started as another user (systemd's User=, meetrec-fcgi.service), the
 * socket is that user's, 0660, and gets the group gid afterwards, which
 * the user must be in (SupplementaryGroups=): nginx connects with it.
 * Only that user (and root) can change the socket's folder, so the path
 * is the socket just made.
 */
static int
bind_socket(const char *path, gid_t gid, int qlen, struct stat *made)
{
	struct stat	 st;
	mode_t		 old;
	int		 fd, fl, root = geteuid() == 0;

	if (root && setegid(gid) == -1)
		mr_fatal("could not take group %lu for the socket",
		    (unsigned long)gid);
	old = umask(0117);
	fd = FCGX_OpenSocket(path, qlen);
	umask(old);
	if (root && setegid(getgid()) == -1)
		mr_fatal("could not take back group %lu",
		    (unsigned long)getgid());
	if (fd < 0)
		mr_fatalx("could not listen on '%s'", path);
	/* fstat(2) of the descriptor names the socket, not the file. */
	if (lstat(path, made) == -1 || !S_ISSOCK(made->st_mode))
		mr_fatalx("socket '%s' is gone right after it was made", path);
	if (!root && gid != getegid() && lchown(path, (uid_t)-1, gid) == -1)
		mr_fatal("could not give socket '%s' the group %lu of "
		    "fcgi_socket_group (meetrec-fcgi must be in that group)",
		    path, (unsigned long)gid);
	/* A set-group-ID folder would have given it its own group. */
	if (root && (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    st.st_dev != made->st_dev || st.st_ino != made->st_ino ||
	    st.st_uid != 0 || st.st_gid != gid ||
	    (st.st_mode & 07777) != 0660))
		mr_fatalx("socket '%s' was not made root's, group %lu, mode "
		    "0660 (is its folder set-group-ID?)", path,
		    (unsigned long)gid);
	/* Workers wait with epoll, then accept: see mr_worker_accept(). */
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		mr_fatal("could not make '%s' non-blocking", path);
	return fd;
}

/*
 * At exit: remove the socket at path if it is still the one we made (see
 * bind_socket), not one another pool made there since.
 */
static void
unlink_ours(const char *path, const struct stat *made)
{
	struct stat	 st;

	if (lstat(path, &st) == 0 && st.st_dev == made->st_dev &&
	    st.st_ino == made->st_ino)
		(void)unlink(path);
}

/*
 * Become fcgi_user for good (OpenBSD proc.c order: groups, gid, uid) and
 * check that root cannot be had back.
 */
static void
drop_privileges(const struct mr_conf *conf, const struct privs *pv)
{
	if (!pv->drop)
		return;
	if (setgroups(1, &pv->gid) == -1 ||
	    setresgid(pv->gid, pv->gid, pv->gid) == -1 ||
	    setresuid(pv->uid, pv->uid, pv->uid) == -1)
		mr_fatal("could not drop privileges to '%s'",
		    conf->cf_fcgi_user);
	if (setuid(0) != -1 || geteuid() == 0)
		mr_fatalx("still root after dropping privileges");
	mr_log_info("running as %s", conf->cf_fcgi_user);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "syslog", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct mr_conf	*conf;
	struct privs	 pv;
	struct stat	 sockst, busyst;
	struct mr_err	 err;
	const char	*confpath = NULL;
	char		 errbuf[512] = "", sock[PATH_MAX], pid[PATH_MAX];
	char		 busy[PATH_MAX];
	int		 ch, fd, busyfd, qlen, pidfd = -1, foreground = 1;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 's':
			foreground = 0;
			break;
		case 'h':
			usage(0);
			/* NOTREACHED */
		case 'V':
			printf("meetrec-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	std_fds();
	mr_log_init("meetrec-fcgi", foreground, LOG_DAEMON);
	if ((conf = mr_conf_load(confpath, errbuf, sizeof(errbuf))) == NULL)
		mr_fatalx("%s", errbuf);
	mr_log_setlevel(mr_log_parse_level(conf->cf_log_level));
	if (mr_httpc_global_init() == -1)
		mr_fatalx("could not initialise libcurl");
	if (FCGX_Init() != 0)
		mr_fatalx("could not initialise libfcgi");
	lookup_privs(conf, &pv);
	/* Paths as configured, or resolved and checked before a drop. */
	if (pv.drop)
		safe_path("fcgi_socket", conf->cf_fcgi_socket, sock);
	else if (mr_strlcpy(sock, conf->cf_fcgi_socket, sizeof(sock)) == -1)
		mr_fatalx("fcgi_socket '%s' is too long", conf->cf_fcgi_socket);
	pid[0] = '\0';
	if (conf->cf_pid_file != NULL && pv.drop)
		safe_path("pid_file", conf->cf_pid_file, pid);
	else if (conf->cf_pid_file != NULL &&
	    mr_strlcpy(pid, conf->cf_pid_file, sizeof(pid)) == -1)
		mr_fatalx("pid_file '%s' is too long", conf->cf_pid_file);
	if (snprintf(busy, sizeof(busy), "%s.busy", sock) >= (int)sizeof(busy))
		mr_fatalx("fcgi_socket '%s' is too long", sock);
	qlen = backlog(conf);
	/* Both paths free before either is made: no half-made pool. */
	clear_stale(sock);
	clear_stale(busy);
	fd = bind_socket(sock, pv.sockgid, qlen, &sockst);
	busyfd = bind_socket(busy, pv.sockgid, qlen, &busyst);
	mr_err_clear(&err);
	if (pid[0] != '\0' && (pidfd = mr_pidfile_open(pid, &err)) == -1)
		mr_fatalx("%s", err.detail);
	drop_privileges(conf, &pv);
	ch = mr_master_run(confpath, conf, fd, busyfd, pidfd);
	/*
	 * The sockets and the pid file are ours to remove, while their paths
	 * still name them; after a drop their folder is root's and they
	 * stay, the pid file emptied, for the next start to replace.
	 */
	unlink_ours(sock, &sockst);
	unlink_ours(busy, &busyst);
	mr_pidfile_close(pidfd, pid);
	close(fd);
	close(busyfd);
	mr_httpc_global_cleanup();
	return ch;
}
