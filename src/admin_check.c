/* SPDX-License-Identifier: ISC */
/*
 * admin_check.c - meetrec-admin check-config: the configuration as the
 * programs would load it, every problem of it, and what can be checked
 * without the network: URLs, the database_url's syntax, key files, the
 * folders and who may do what in them (the service user that runs the
 * pool and the reaper, nginx's user that reads stored files and
 * connects to the socket), the keys that depend on each other, and the
 * pool's listen queue.  --connect adds admin_connect.c.
 *
 * Who may do what is read from the mode bits, owners and groups (not
 * from ACLs): what the kernel checks for users that have no capability
 * of their own, which is how meetrec runs.
 */
#include "config.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr.h"
#include "admin_check.h"
#include "asr.h"
#include "conf.h"
#include "jwt.h"
#include "metrics.h"

/*
 * nginx's max_conns for the pool as shipped (FCGI_MAX_CONNS, README):
 * the listen queue must hold that many, or a burst is refused instead
 * of queued.
 */
#define NGINX_MAX_CONNS	1024
/* Subfolders of the storage folder reported at most. */
#define MAX_SUBFOLDERS	5

/*
 * One line: white space (libpq's messages span lines) made one space,
 * other control bytes (from a file's garbage) '?'.
 */
static void
flatten(char *s)
{
	char	*w = s;

	for (char *p = s; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t' || *p == ' ') {
			if (w > s && w[-1] != ' ')
				*w++ = ' ';
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*w++ = '?';
		else
			*w++ = *p;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
}

static void
say(struct mr_check *ck, const char *kind, const char *key, const char *fmt,
    va_list ap)
{
	char		 where[512], msg[1024];
	const char	*w = NULL;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	flatten(msg);
	if (key != NULL && ck->conf != NULL)
		w = mr_conf_where(ck->conf, key, where, sizeof(where));
	fprintf(stderr, "meetrec-admin: %s%s%s%s%s%s\n", kind, w ? w : "",
	    w ? ": " : "", key ? key : "", key ? ": " : "", msg);
}

void
mr_check_problem(struct mr_check *ck, const char *key, const char *fmt, ...)
{
	va_list	 ap;

	ck->problems++;
	va_start(ap, fmt);
	say(ck, "", key, fmt, ap);
	va_end(ap);
}

void
mr_check_warn(struct mr_check *ck, const char *key, const char *fmt, ...)
{
	va_list	 ap;

	ck->warnings++;
	va_start(ap, fmt);
	say(ck, "warning: ", key, fmt, ap);
	va_end(ap);
}

void
mr_check_note(const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# %s\n", msg);
}

/* The configuration loader's problems: where they are, and what. */
static void
report(void *arg, const char *where, const char *msg)
{
	struct mr_check	*ck = arg;
	char		 line[1024];

	ck->problems++;
	snprintf(line, sizeof(line), "%s%s%s", where ? where : "",
	    where ? ": " : "", msg);
	flatten(line);
	fprintf(stderr, "meetrec-admin: %s\n", line);
}

static int
in_group(const struct mr_check_user *u, gid_t gid)
{
	if (u->gid == gid)
		return 1;
	for (int i = 0; i < u->ngroups; i++)
		if (u->groups[i] == gid)
			return 1;
	return 0;
}

int
mr_check_may(const struct mr_check_user *u, const struct stat *st, int want)
{
	unsigned	 bits;

	if (u->uid == 0)
		return (want & 1) == 0 || S_ISDIR(st->st_mode) ||
		    (st->st_mode & 0111) != 0;
	if (st->st_uid == u->uid)
		bits = (st->st_mode >> 6) & 7;
	else if (in_group(u, st->st_gid))
		bits = (st->st_mode >> 3) & 7;
	else
		bits = st->st_mode & 7;
	return (bits & (unsigned)want) == (unsigned)want;
}

const char *
mr_check_blocked(const struct mr_check_user *u, const char *path, char *buf,
    size_t len)
{
	struct stat	 st;
	char		*p;

	if (mr_strlcpy(buf, path, len) == -1)
		return NULL;
	/* "/", then "/a", "/a/b", ... up to path's own folder. */
	if (stat("/", &st) == 0 && !mr_check_may(u, &st, 1)) {
		mr_strlcpy(buf, "/", len);
		return buf;
	}
	for (p = strchr(buf + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (stat(buf, &st) == 0 && !mr_check_may(u, &st, 1))
			return buf;
		*p = '/';
	}
	return NULL;
}

/* "owner meetrec, group www-data, mode 2750" for messages. */
static const char *
describe(const struct stat *st, char *buf, size_t len)
{
	struct passwd	*pw = getpwuid(st->st_uid);
	struct group	*gr = getgrgid(st->st_gid);
	char		 o[64], g[64];

	snprintf(o, sizeof(o), "%s", pw ? pw->pw_name : "?");
	if (pw == NULL)
		snprintf(o, sizeof(o), "%lu", (unsigned long)st->st_uid);
	snprintf(g, sizeof(g), "%s", gr ? gr->gr_name : "?");
	if (gr == NULL)
		snprintf(g, sizeof(g), "%lu", (unsigned long)st->st_gid);
	snprintf(buf, len, "owner %s, group %s, mode %04o", o, g,
	    (unsigned)(st->st_mode & 07777));
	return buf;
}

static const char *
group_name(gid_t gid, char *buf, size_t len)
{
	struct group	*gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)gid);
	return buf;
}

/* Fill u for the user name; 0, or -1 when there is no such user. */
static int
lookup(struct mr_check_user *u, const char *name)
{
	struct passwd	*pw;
	int		 n = MR_CHECK_MAXGROUPS;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	if ((pw = getpwnam(name)) == NULL)
		return -1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	if (getgrouplist(name, pw->pw_gid, u->groups, &n) == -1)
		n = MR_CHECK_MAXGROUPS;
	u->ngroups = n;
	u->known = 1;
	return 0;
}

/*
 * The users the configuration is for.  The services run as fcgi_user
 * when it is set, else as the build's service user (meetrec) when it
 * exists, else as whoever runs this.
 */
static void
users(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	struct passwd		*pw;

	if (c->cf_fcgi_user != NULL) {
		if (lookup(&ck->service, c->cf_fcgi_user) == -1)
			mr_check_problem(ck, "fcgi_user", "there is no user "
			    "'%s'", c->cf_fcgi_user);
	} else if (lookup(&ck->service, MR_SERVICE_USER) == -1) {
		if ((pw = getpwuid(geteuid())) != NULL)
			lookup(&ck->service, pw->pw_name);
	}
	if (c->cf_fcgi_socket_group != NULL &&
	    getgrnam(c->cf_fcgi_socket_group) == NULL)
		mr_check_problem(ck, "fcgi_socket_group", "there is no group "
		    "'%s'", c->cf_fcgi_socket_group);
	if (c->cf_nginx_user != NULL &&
	    lookup(&ck->nginx, c->cf_nginx_user) == -1)
		mr_check_problem(ck, "nginx_user", "there is no user '%s' "
		    "(the user nginx's workers run as: the user directive of "
		    "nginx.conf)", c->cf_nginx_user);
	if (ck->service.known)
		mr_check_note("checked for the service user %s (meetrec-fcgi, "
		    "meetrec-reaper)%s%s", ck->service.name,
		    ck->nginx.known ? " and nginx's user " : "",
		    ck->nginx.known ? ck->nginx.name : "");
}

/* The config file: the services must be able to read it. */
static void
check_file(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	struct stat		 st;
	char			 buf[PATH_MAX], d[256];
	const char		*b;

	if (c->cf_nofile) {
		mr_check_note("no config file: %s does not exist, the "
		    "environment alone configures", c->cf_path);
		return;
	}
	if (!ck->service.known || stat(c->cf_path, &st) == -1 ||
	    c->cf_path[0] != '/')
		return;
	if ((b = mr_check_blocked(&ck->service, c->cf_path, buf,
	    sizeof(buf))) != NULL)
		mr_check_problem(ck, NULL, "config file '%s': the service user "
		    "%s may not reach it: it may not search '%s'", c->cf_path,
		    ck->service.name, b);
	else if (!mr_check_may(&ck->service, &st, 4))
		mr_check_problem(ck, NULL, "config file '%s': the service user "
		    "%s may not read it (%s): chown root:%s and chmod 640",
		    c->cf_path, ck->service.name, describe(&st, d, sizeof(d)),
		    ck->service.name);
}

/*
 * value, set for key, is an http(s) URL with a host; for public_url
 * also at the host's root, since the links meetrec makes start there.
 */
static void
check_url(struct mr_check *ck, const char *key, const char *value)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL, *path = NULL;
	char		*query = NULL, *frag = NULL;

	if (value == NULL)
		return;
	if ((u = curl_url()) == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, value, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		mr_check_problem(ck, key, "'%s' is not a URL", value);
		goto done;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		mr_check_problem(ck, key, "'%s' must start with http:// or "
		    "https://", value);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0') {
		mr_check_problem(ck, key, "'%s' names no host", value);
		goto done;
	}
	if (strcmp(key, "public_url") != 0)
		goto done;
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if ((path != NULL && strcmp(path, "/") != 0) || query != NULL ||
	    frag != NULL)
		mr_check_problem(ck, key, "'%s' must be the site's root, "
		    "as https://meet.example.com: links are made under it as "
		    "/api/... and /r/..., the paths meetrec's nginx locations "
		    "answer", value);
	else if (strcmp(scheme, "http") == 0 && strcmp(host, "127.0.0.1") !=
	    0 && strcmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0)
		mr_check_warn(ck, key, "'%s' is plain http: download and share "
		    "links would travel unencrypted", value);
done:
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
}

static void
check_conninfo(struct mr_check *ck, const char *key, const char *value)
{
	PQconninfoOption	*opts;
	char			*msg = NULL;

	if (value == NULL)
		return;
	if ((opts = PQconninfoParse(value, &msg)) == NULL) {
		mr_check_problem(ck, key, "not a libpq connection string: %s",
		    msg ? msg : "out of memory");
		PQfreemem(msg);
		return;
	}
	PQconninfoFree(opts);
}

static void
check_database_url(struct mr_check *ck)
{
	check_conninfo(ck, "database_url", ck->conf->cf_database_url);
	check_conninfo(ck, "database_listen_url",
	    ck->conf->cf_database_listen_url);
}

static void
check_key_file(struct mr_check *ck)
{
	const char	*path = ck->conf->cf_jwt_public_key_file;
	struct stat	 st;
	struct mr_err	 err;
	EVP_PKEY	*k;
	char		 buf[PATH_MAX], d[256];
	const char	*b;

	if (path == NULL)
		return;
	if (stat(path, &st) == -1) {
		mr_check_problem(ck, "jwt_public_key_file", "'%s': %s", path,
		    strerror(errno));
		return;
	}
	if (ck->service.known && path[0] == '/' &&
	    (b = mr_check_blocked(&ck->service, path, buf, sizeof(buf))) !=
	    NULL)
		mr_check_problem(ck, "jwt_public_key_file", "the service user "
		    "%s may not reach '%s': it may not search '%s'",
		    ck->service.name, path, b);
	else if (ck->service.known && !mr_check_may(&ck->service, &st, 4))
		mr_check_problem(ck, "jwt_public_key_file", "the service user "
		    "%s may not read '%s' (%s)", ck->service.name, path,
		    describe(&st, d, sizeof(d)));
	mr_err_clear(&err);
	if ((k = mr_jwt_load_pubkey(path, &err)) == NULL)
		mr_check_problem(ck, "jwt_public_key_file", "%s%s%s",
		    err.detail, err.cause[0] ? ": " : "", err.cause);
	EVP_PKEY_free(k);
}

/*
 * The folder at path, named by key: it exists, and each user given may
 * reach it and do want (4 read, 2 write, 1 search) there.  Returns 0
 * with st filled, or -1 when it is not there to look at.
 */
static int
check_folder(struct mr_check *ck, const char *key, const char *path,
    const struct mr_check_user *u1, int want1, const char *role1,
    const struct mr_check_user *u2, int want2, const char *role2,
    struct stat *st)
{
	const struct mr_check_user *u[2] = { u1, u2 };
	const int	 want[2] = { want1, want2 };
	const char	*role[2] = { role1, role2 }, *b;
	char		 buf[PATH_MAX], d[256];
	static const char *const verbs[8] = { "", "search", "write",
	    "write and search", "read", "read and search", "read and write",
	    "read, write and search" };

	if (path[0] != '/') {
		mr_check_problem(ck, key, "'%s' is not an absolute path", path);
		return -1;
	}
	if (stat(path, st) == -1) {
		mr_check_problem(ck, key, "folder '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st->st_mode)) {
		mr_check_problem(ck, key, "'%s' is not a folder", path);
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		if (u[i] == NULL || !u[i]->known)
			continue;
		if ((b = mr_check_blocked(u[i], path, buf, sizeof(buf))) !=
		    NULL) {
			struct stat	 bs;

			if (stat(b, &bs) == 0)
				describe(&bs, d, sizeof(d));
			else
				d[0] = '\0';
			mr_check_problem(ck, key, "%s %s may not reach "
			    "'%s': it may not search '%s' (%s)", role[i],
			    u[i]->name, path, b, d);
		} else if (!mr_check_may(u[i], st, want[i]))
			mr_check_problem(ck, key, "%s %s may not %s in '%s' "
			    "(%s)", role[i], u[i]->name, verbs[want[i] & 7],
			    path, describe(st, d, sizeof(d)));
	}
	return 0;
}

/* Is one of the two paths (absolute) the other or inside it? */
static int
nested(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b), n;

	while (na > 1 && a[na - 1] == '/')
		na--;
	while (nb > 1 && b[nb - 1] == '/')
		nb--;
	n = na < nb ? na : nb;
	return strncmp(a, b, n) == 0 && (na == nb ||
	    (na < nb ? b[na] : a[nb]) == '/');
}

static void
check_spool(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	struct stat		 st;

	if (c->cf_spool_dir == NULL)
		return;
	/* The reaper reads, stats and removes what LiveKit writes. */
	check_folder(ck, "spool_dir", c->cf_spool_dir, &ck->service, 7,
	    "the service user", NULL, 0, NULL, &st);
	if (c->cf_storage_local_dir != NULL && c->cf_storage_type != NULL &&
	    strcmp(c->cf_storage_type, "local") == 0 &&
	    nested(c->cf_spool_dir, c->cf_storage_local_dir))
		mr_check_problem(ck, "storage_local_dir", "'%s' and spool_dir "
		    "'%s' must be apart: the spool holds what LiveKit writes, "
		    "nothing else", c->cf_storage_local_dir, c->cf_spool_dir);
}

/*
 * Transcripts: the speech-to-text server's URL, and the folder the
 * reaper writes each piece to (mr_asr_tmpdir).
 */
static void
check_asr(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	struct stat		 st;

	if (c->cf_asr_url == NULL) {
		if (c->cf_asr_api_key != NULL)
			mr_check_warn(ck, "asr_api_key", "is set but asr_url "
			    "is not: nothing will be transcribed");
		return;
	}
	check_url(ck, "asr_url", c->cf_asr_url);
	if (c->cf_asr_api_key != NULL &&
	    strncmp(c->cf_asr_url, "http://", 7) == 0 &&
	    strncmp(c->cf_asr_url, "http://127.0.0.1", 16) != 0 &&
	    strncmp(c->cf_asr_url, "http://localhost", 16) != 0)
		mr_check_warn(ck, "asr_url", "'%s' is plain http: "
		    "asr_api_key and the meetings' audio would travel "
		    "unencrypted", c->cf_asr_url);
	/* The reaper writes, reads back and removes its pieces there. */
	check_folder(ck, "asr_tmp_dir", mr_asr_tmpdir(c), &ck->service, 7,
	    "the service user", NULL, 0, NULL, &st);
}

/*
 * Local storage: the reaper writes, nginx reads.  What the reaper
 * stores is 0640 with the folder's group (store_local.c), which it can
 * give when the folder is set-group-ID (the kernel does it), or when
 * it is root or in that group; nginx must be in it.
 */
static void
check_storage(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	const struct mr_check_user *svc = &ck->service, *ngx = &ck->nginx;
	struct stat		 st, sub;
	struct dirent		*de;
	DIR			*dir;
	char			 g[64], d[256], path[PATH_MAX];
	int			 n = 0;

	if (c->cf_storage_type == NULL || strcmp(c->cf_storage_type,
	    "local") != 0 || c->cf_storage_local_dir == NULL)
		return;
	if (check_folder(ck, "storage_local_dir", c->cf_storage_local_dir,
	    svc, 7, "the service user", ngx, 5, "nginx's user", &st) == -1)
		return;
	group_name(st.st_gid, g, sizeof(g));
	if (svc->known && !(st.st_mode & S_ISGID) && svc->uid != 0 &&
	    !in_group(svc, st.st_gid)) {
		mr_check_problem(ck, "storage_local_dir", "the reaper, as %s, "
		    "cannot give what it stores the folder's group %s (%s): "
		    "make '%s' set-group-ID: chmod g+s", svc->name, g,
		    describe(&st, d, sizeof(d)), c->cf_storage_local_dir);
		return;
	}
	if (ngx->known && ngx->uid != 0 && ngx->uid != svc->uid &&
	    !in_group(ngx, st.st_gid)) {
		mr_check_problem(ck, "storage_local_dir", "nginx's user %s "
		    "could not read what is stored in '%s': files get the "
		    "folder's group %s and mode 0640, and %s is not in it; "
		    "give the folder nginx's group: chgrp %s, chmod 2750",
		    ngx->name, c->cf_storage_local_dir, g, ngx->name,
		    ngx->name);
		return;
	}
	/* Folders an older version (or a person) made may lag behind. */
	if (!ngx->known || (dir = opendir(c->cf_storage_local_dir)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL && n < MAX_SUBFOLDERS) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->cf_storage_local_dir,
		    de->d_name);
		if (lstat(path, &sub) == -1 || !S_ISDIR(sub.st_mode))
			continue;
		if (!mr_check_may(ngx, &sub, 5)) {
			mr_check_problem(ck, "storage_local_dir",
			    "nginx's user %s may not read and search '%s' "
			    "(%s)", ngx->name, path,
			    describe(&sub, d, sizeof(d)));
			n++;
		}
	}
	closedir(dir);
}

/*
 * The socket's folder (systemd makes it while meetrec-fcgi.service
 * runs) and whether nginx may connect: the socket is 0660, of the
 * group fcgi_socket_group or else the pool's.
 */
static void
check_socket(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	const struct mr_check_user *ngx = &ck->nginx;
	struct group		*gr;
	struct stat		 st;
	char			 folder[PATH_MAX], buf[PATH_MAX], g[64];
	char			 d[256];
	const char		*b;
	gid_t			 gid;

	if (c->cf_fcgi_socket == NULL || c->cf_fcgi_socket[0] != '/')
		return;
	mr_strlcpy(folder, c->cf_fcgi_socket, sizeof(folder));
	mr_strlcpy(folder, dirname(folder), sizeof(folder));
	if (stat(folder, &st) == -1) {
		mr_check_warn(ck, "fcgi_socket", "its folder '%s' does not "
		    "exist (yet: systemd makes it while meetrec-fcgi.service "
		    "runs)", folder);
		return;
	}
	if (!ngx->known || ngx->uid == 0)
		return;
	if ((b = mr_check_blocked(ngx, c->cf_fcgi_socket, buf, sizeof(buf)))
	    != NULL) {
		mr_check_problem(ck, "fcgi_socket", "nginx's user %s may not "
		    "reach '%s': it may not search '%s'", ngx->name,
		    c->cf_fcgi_socket, b);
		return;
	}
	if (lstat(c->cf_fcgi_socket, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (!mr_check_may(ngx, &st, 2))
			mr_check_problem(ck, "fcgi_socket", "nginx's user %s "
			    "may not connect to '%s' (%s): set "
			    "fcgi_socket_group to a group of its own",
			    ngx->name, c->cf_fcgi_socket,
			    describe(&st, d, sizeof(d)));
		return;
	}
	if (c->cf_fcgi_socket_group != NULL)
		gid = (gr = getgrnam(c->cf_fcgi_socket_group)) != NULL ?
		    gr->gr_gid : (gid_t)-1;
	else if (ck->service.known)
		gid = ck->service.gid;
	else
		return;
	if (gid != (gid_t)-1 && ngx->uid != ck->service.uid &&
	    !in_group(ngx, gid))
		mr_check_problem(ck, c->cf_fcgi_socket_group ?
		    "fcgi_socket_group" : "fcgi_socket", "nginx's user %s "
		    "could not connect to the pool: its socket gets the group "
		    "%s (mode 0660), which %s is not in; set "
		    "fcgi_socket_group = %s", ngx->name,
		    group_name(gid, g, sizeof(g)), ngx->name,
		    group_name(ngx->gid, buf, sizeof(buf)));
}

static void
check_pid_file(struct mr_check *ck)
{
	char		 folder[PATH_MAX];
	struct stat	 st;

	if (ck->conf->cf_pid_file == NULL)
		return;
	mr_strlcpy(folder, ck->conf->cf_pid_file, sizeof(folder));
	mr_strlcpy(folder, dirname(folder), sizeof(folder));
	if (stat(folder, &st) == -1)
		mr_check_warn(ck, "pid_file", "its folder '%s' does not exist",
		    folder);
}

/*
 * The pool's listen queue against the kernel's cap and nginx's
 * max_conns as shipped: what it finds as comment lines, warnings when
 * a burst would be refused instead of queued.
 */
static void
check_backlog(struct mr_check *ck)
{
	const struct mr_conf	*c = ck->conf;
	int64_t			 cap = mr_listenq_max(), qlen;

	qlen = c->cf_fcgi_backlog == 0 || c->cf_fcgi_backlog > cap ? cap :
	    c->cf_fcgi_backlog;
	mr_check_note("the pool's listen queue holds %lld connections "
	    "(net.core.somaxconn = %lld)", (long long)qlen, (long long)cap);
	if (c->cf_fcgi_backlog > cap)
		mr_check_warn(ck, "fcgi_backlog", "%lld is above the kernel's "
		    "cap net.core.somaxconn = %lld, which listen queues get "
		    "instead; raise it with sysctl",
		    (long long)c->cf_fcgi_backlog, (long long)cap);
	if (qlen < NGINX_MAX_CONNS)
		mr_check_warn(ck, "fcgi_backlog", "the pool's listen queue "
		    "holds %lld connections, fewer than the %d nginx lets wait "
		    "for the pool as shipped (max_conns): a burst would be "
		    "refused instead of queued; raise net.core.somaxconn or "
		    "lower max_conns to %lld", (long long)qlen,
		    NGINX_MAX_CONNS, (long long)qlen);
}

static void
usage(void)
{
	fprintf(stderr, "usage: meetrec-admin [--config file] check-config "
	    "[--connect]\n");
}

int
mr_admin_check_config(const char *path, int argc, char *argv[])
{
	struct mr_check		 ck;
	struct mr_conf		*conf;
	const struct mr_conf	*c;
	int			 connect = 0, bad = 0;

	if (argc == 2 && strcmp(argv[1], "--connect") == 0)
		connect = 1;
	else if (argc != 1) {
		usage();
		return 2;
	}
	memset(&ck, 0, sizeof(ck));
	if ((conf = mr_conf_load_all(path, report, &ck, &bad)) == NULL)
		return 2;
	c = ck.conf = conf;
	mr_conf_dump(c, stdout);
	users(&ck);
	check_file(&ck);
	check_url(&ck, "public_url", c->cf_public_url);
	check_url(&ck, "livekit_url", c->cf_livekit_url);
	if (c->cf_storage_type != NULL &&
	    strcmp(c->cf_storage_type, "nextcloud") == 0)
		check_url(&ck, "nextcloud_url", c->cf_nextcloud_url);
	if (c->cf_storage_type != NULL && strcmp(c->cf_storage_type, "s3") == 0)
		check_url(&ck, "s3_endpoint", c->cf_s3_endpoint);
	check_database_url(&ck);
	check_key_file(&ck);
	check_spool(&ck);
	check_storage(&ck);
	check_asr(&ck);
	check_socket(&ck);
	check_pid_file(&ck);
	check_backlog(&ck);
	if (connect)
		mr_check_connect(&ck);
	if (ck.problems == 0)
		mr_check_note("no problem found%s", connect ? "" :
		     " (--connect also checks PostgreSQL, storage, LiveKit and the "
		    "speech-to-text server)");
	else
		fprintf(stderr, "meetrec-admin: %d problem%s found\n",
		    ck.problems, ck.problems == 1 ? "" : "s");
	mr_conf_free(conf);
	return bad ? 2 : ck.problems > 0 ? 1 : 0;
}
