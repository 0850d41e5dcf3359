/* SPDX-License-Identifier: ISC */
/*
 * main.c - meetrec-fcgi: read the configuration, bind the socket, hand
 * over to the prefork master.  See meetrec-fcgi(8).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fcgi.h"
#include "httpc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: meetrec-fcgi [-d] [--config file]\n");
	exit(2);
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

static int
bind_socket(const char *path)
{
	struct stat	 st;
	mode_t		 old;
	int		 fd;

	/* A stale socket from a previous run is replaced, nothing else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			mr_fatalx("'%s' exists and is not a socket", path);
		if (unlink(path) == -1)
			mr_fatal("could not remove stale socket '%s'", path);
	}
	old = umask(0117);
	fd = FCGX_OpenSocket(path, 128);
	umask(old);
	if (fd < 0)
		mr_fatalx("could not listen on '%s'", path);
	return fd;
}

/*
 * Started as root: give the socket to the web server's group, then become
 * fcgi_user for good (OpenBSD proc.c order: groups, gid, uid) and check
 * that root cannot be had back.
 */
static void
drop_privileges(const struct mr_conf *conf)
{
	struct passwd	*pw;
	struct group	*gr;
	gid_t		 sockgid;

	if (geteuid() != 0)
		return;
	if (conf->cf_fcgi_user == NULL) {
		mr_log_warnx("running as root: set fcgi_user to drop "
		    "privileges");
		return;
	}
	if ((pw = getpwnam(conf->cf_fcgi_user)) == NULL)
		mr_fatalx("fcgi_user '%s' does not exist", conf->cf_fcgi_user);
	sockgid = pw->pw_gid;
	if (conf->cf_fcgi_socket_group != NULL) {
		if ((gr = getgrnam(conf->cf_fcgi_socket_group)) == NULL)
			mr_fatalx("fcgi_socket_group '%s' does not exist",
			    conf->cf_fcgi_socket_group);
		sockgid = gr->gr_gid;
	}
	if (chown(conf->cf_fcgi_socket, pw->pw_uid, sockgid) == -1)
		mr_fatal("could not chown '%s'", conf->cf_fcgi_socket);
	if (conf->cf_pid_file != NULL) {
		int fd = open(conf->cf_pid_file, O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644);

		/* The master writes it after the drop. */
		if (fd == -1 || fchown(fd, pw->pw_uid, pw->pw_gid) == -1)
			mr_fatal("could not prepare pid file '%s'",
			    conf->cf_pid_file);
		close(fd);
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct mr_conf	*conf;
	const char	*confpath = NULL;
	char		 errbuf[512] = "", *sock;
	int		 ch, fd, foreground = 1;

	while ((ch = getopt_long(argc, argv, "c:dh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	std_fds();
	mr_log_init("meetrec-fcgi", foreground, LOG_DAEMON);
	confpath = mr_conf_path(confpath);
	if ((conf = mr_conf_load(confpath, errbuf, sizeof(errbuf))) == NULL)
		mr_fatalx("%s", errbuf);
	mr_log_setlevel(mr_log_parse_level(conf->cf_log_level));
	if (mr_httpc_global_init() == -1)
		mr_fatalx("could not initialise libcurl");
	if (FCGX_Init() != 0)
		mr_fatalx("could not initialise libfcgi");
	fd = bind_socket(conf->cf_fcgi_socket);
	drop_privileges(conf);
	sock = strdup(conf->cf_fcgi_socket);
	ch = mr_master_run(confpath, conf, fd);
	/* The socket is ours to remove; a new pool binds a fresh one. */
	if (sock != NULL)
		unlink(sock);
	free(sock);
	close(fd);
	mr_httpc_global_cleanup();
	return ch;
}
