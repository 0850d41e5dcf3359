/* SPDX-License-Identifier: ISC */
/*
 * admin.c - meetrec-admin: migrate, token, store, stats, and what every
 * command shares (admin.h); recordings, shares and room have files of
 * their own (admin_rec.c, admin_share.c, admin_room.c), check-config
 * too (admin_check.c, admin_connect.c).  See meetrec-admin(8).  Exit
 * status: 0 done, 1 failed, 2 usage or configuration error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "mr.h"
#include "admin.h"
#include "admin_check.h"
#include "conf.h"
#include "db.h"
#include "jwt.h"
#include "metrics.h"
#include "model.h"
#include "store.h"

static void MR_NORETURN
usage_to(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: meetrec-admin [--config file] command [options]\n"
	    "       meetrec-admin --help | --version\n"
	    "commands:\n"
	    "  migrate [--dry-run]\n"
	    "  check-config [--connect]\n"
	    "  token --user UUID --username NAME --company UUID\n"
	    "        [--email EMAIL] [--role admin] [--ttl SECONDS]\n"
	    "  recordings list [--company UUID] [--status S] [--room CODE]\n"
	    "        [--user UUID] [--from T] [--to T]\n"
	    "        [--trash exclude|include|only] [--limit N] [--cursor C]\n"
	    "        [--json]\n"
	    "  recordings show|restore|delete ID [--company UUID] [--json]\n"
	    "  recordings retry ID [--accept-as-is] [--company UUID]"
	    " [--json]\n"
	    "  recordings hold ID --reason TEXT [--company UUID] [--json]\n"
	    "  recordings release ID [--company UUID] [--json]\n"
	    "  recordings holds [--company UUID] [--user UUID] [--room CODE]\n"
	    "        [--limit N] [--json]\n"
	    "  shares list RECORDING_ID [--company UUID] [--limit N]\n"
	    "        [--cursor C] [--json]\n"
	    "  shares revoke SHARE_ID [--company UUID] [--json]\n"
	    "  room add --code CODE --name NAME --host UUID --company UUID\n"
	    "  room list [--company UUID] [--limit N] [--cursor CODE]"
	    " [--json]\n"
	    "  room del CODE [--company UUID]\n"
	    "  store put FILE KEY [--upload-id ID]\n"
	    "  store stat|del KEY\n"
	    "  store url KEY [--ttl SECONDS]\n"
	    "  store share KEY USER\n"
	    "  stats [--company UUID]\n"
	    "  audit verify|head [--company UUID] [--json]\n"
	    "The configuration is read from %s,\n"
	    "unless --config or MEETREC_CONFIG name another file.\n"
	    "See meetrec-admin(8).\n", MR_CONFFILE);
	exit(status);
}

void
mr_admin_usage(void)
{
	usage_to(stderr, 2);
}

/* "2026-12-05T18:54:49.123456Z" as "2026-12-05 18:54:49", for tables. */
const char *
mr_admin_when(const char *ts, char *buf, size_t len)
{
	if (ts == NULL || strlen(ts) < 19)
		return "-";
	snprintf(buf, len, "%.10s %.8s", ts, ts + 11);
	return buf;
}

/*
 * Who an admin at the shell is, for the audit rows of the changes made:
 * no user, no address; the user agent names meetrec-admin and the login
 * that ran it.  Made once, kept for the program's life.
 */
static struct mr_actor *
admin_actor(void)
{
	static struct mr_actor	 act;
	struct passwd		*pw;

	if (act.a != NULL)
		return &act;
	pw = getpwuid(geteuid());
	if ((act.a = mr_arena_new(4096)) == NULL ||
	    (act.agent = mr_printf(act.a, "meetrec-admin (%s)", pw != NULL ?
	    pw->pw_name : "?")) == NULL)
		mr_fatalx("out of memory");
	return &act;
}

struct mr_db *
mr_admin_connect(const struct mr_conf *conf)
{
	struct mr_db	*db;
	struct mr_err	 err;

	mr_err_clear(&err);
	if ((db = mr_db_new(conf->cf_database_url,
	    (int)conf->cf_database_prepared_statements)) == NULL)
		mr_fatalx("out of memory");
	if (mr_db_connect(db, &err) == -1)
		mr_fatalx("%s", err.cause);
	mr_db_set_actor(db, admin_actor());
	return db;
}

/*
 * The options of the recordings, shares, room and stats commands, from
 * argv[1] on (argv[0] is the subcommand); allowed names the ones this
 * command takes by their short letters.  A value that is not valid ends
 * the program (1), an option not allowed is a usage error (2).  Returns
 * the index of the first argument that is not an option.
 */
int
mr_admin_opts(int argc, char *argv[], const char *allowed,
    struct mr_admin_opts *o)
{
	static const struct option opts[] = {
		{ "company", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "cursor", required_argument, NULL, 'k' },
		{ "status", required_argument, NULL, 's' },
		{ "room", required_argument, NULL, 'r' },
		{ "user", required_argument, NULL, 'u' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "trash", required_argument, NULL, 'x' },
		{ "accept-as-is", no_argument, NULL, 'a' },
		{ "reason", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch, date_only;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (ch == '?' || ch == ':' || strchr(allowed, ch) == NULL)
			mr_admin_usage();
		switch (ch) {
		case 'c':
			if (!mr_uuid_valid(optarg))
				mr_fatalx("--company must be a UUID");
			o->company = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'a':
			o->as_is = 1;
			break;
		case 'l':
			if (mr_parse_int64(optarg, 1, INT32_MAX, &o->limit) ==
			    -1)
				mr_fatalx("--limit must be a number from 1");
			break;
		case 'k':
			o->cursor = optarg;
			break;
		case 's':
			if (strcmp(optarg, "pending") != 0 &&
			    strcmp(optarg, "recording") != 0 &&
			    strcmp(optarg, "processing") != 0 &&
			    strcmp(optarg, "completed") != 0 &&
			    strcmp(optarg, "failed") != 0)
				mr_fatalx("--status must be pending, "
				    "recording, processing, completed or "
				    "failed");
			o->status = optarg;
			break;
		case 'r':
			if (!mr_room_code_valid(optarg))
				mr_fatalx("--room must be 1 to 50 letters, "
				    "digits, '_' or '-'");
			o->room = optarg;
			break;
		case 'u':
			if (!mr_uuid_valid(optarg))
				mr_fatalx("--user must be a UUID");
			o->user = optarg;
			break;
		case 'f':
		case 't':
			if (mr_time_valid(optarg, &date_only) == -1)
				mr_fatalx("--%s must be a date (YYYY-MM-DD) or "
				    "an RFC 3339 time", ch == 'f' ? "from" :
				    "to");
			if (ch == 'f')
				o->from = optarg;
			else
				o->to = optarg;
			break;
		case 'x':
			if (strcmp(optarg, "exclude") != 0 &&
			    strcmp(optarg, "include") != 0 &&
			    strcmp(optarg, "only") != 0)
				mr_fatalx("--trash must be exclude, include or "
				    "only");
			o->trash = optarg;
			break;
		case 'R':
			if (optarg[strspn(optarg, " \t\r\n")] == '\0' ||
			    strlen(optarg) > 1000)
				mr_fatalx("--reason must say why, in 1 to 1000 "
				    "characters");
			o->reason = optarg;
			break;
		}
	}
	return optind;
}

/* Say what failed, as the API would (detail and code); returns 1. */
int
mr_admin_fail(const char *what, const struct mr_err *err)
{
	fprintf(stderr, "meetrec-admin: %s: %s (%s)%s%s\n", what,
	    err->detail[0] ? err->detail : "failed",
	    err->code ? err->code : "error", err->cause[0] ? ": " : "",
	    err->cause);
	return 1;
}

/* o, pretty, then a new line; o is released. */
void
mr_admin_print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void
mr_admin_json_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* A list cut by --limit says how to go on. */
void
mr_admin_more(const char *what, const char *cursor)
{
	if (cursor != NULL)
		fprintf(stderr, "meetrec-admin: there are more %s: go on with "
		    "--cursor %s\n", what, cursor);
}

static int
cmd_migrate(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_db	*db;
	struct mr_err	 err;
	int		 dry = 0, rc;

	if (argc == 2 && strcmp(argv[1], "--dry-run") == 0)
		dry = 1;
	else if (argc != 1)
		mr_admin_usage();
	db = mr_admin_connect(conf);
	mr_err_clear(&err);
	rc = mr_db_migrate(db, mr_db_sqldir(), dry, &err);
	if (rc == -1)
		fprintf(stderr, "meetrec-admin: migrate failed: %s%s%s\n",
		    err.detail, err.cause[0] ? ": " : "", err.cause);
	mr_db_free(db);
	return rc == 0 ? 0 : 1;
}

static int
cmd_token(struct mr_conf *conf, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "username", required_argument, NULL, 'n' },
		{ "company", required_argument, NULL, 'c' },
		{ "email", required_argument, NULL, 'e' },
		{ "role", required_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*user = NULL, *name = NULL, *company = NULL;
	const char		*email = NULL, *role = NULL;
	int64_t			 ttl = 3600, now = mr_now();
	struct json_object	*p, *roles;
	struct mr_arena		*a;
	char			*tok;
	int			 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': user = optarg; break;
		case 'n': name = optarg; break;
		case 'c': company = optarg; break;
		case 'e': email = optarg; break;
		case 'r': role = optarg; break;
		case 't':
			if (mr_parse_int64(optarg, 1, 366 * 86400, &ttl) == -1)
				mr_fatalx("--ttl must be 1 to %d seconds",
				    366 * 86400);
			break;
		default: mr_admin_usage();
		}
	}
	if (optind != argc || user == NULL || name == NULL || company == NULL)
		mr_admin_usage();
	if (!mr_uuid_valid(user) || !mr_uuid_valid(company))
		mr_fatalx("--user and --company must be UUIDs");
	if (role != NULL && strcmp(role, "admin") != 0 &&
	    strcmp(role, "user") != 0)
		mr_fatalx("--role must be admin or user");
	if (conf->cf_jwt_secret == NULL) {
		fprintf(stderr, "meetrec-admin: token: this installation has "
		    "no jwt_secret, so meetrec-admin cannot sign a token it "
		    "accepts: it checks RS256/ES256 tokens with the public key "
		    "in jwt_public_key_file (%s), and only their issuer holds "
		    "the private key.  Ask the issuer (the ERP or the identity "
		    "provider) for a token with sub, company_id, roles and "
		    "exp%s, or set jwt_secret to accept HS256 tokens from "
		    "meetrec-admin as well.\n", conf->cf_jwt_public_key_file ?
		    conf->cf_jwt_public_key_file : "not set either",
		    conf->cf_jwt_issuer != NULL || conf->cf_jwt_audience !=
		    NULL ? " (and the iss and aud meetrec checks)" : "");
		return 1;
	}
	p = json_object_new_object();
	json_object_object_add(p, "sub", json_object_new_string(user));
	json_object_object_add(p, "username", json_object_new_string(name));
	json_object_object_add(p, "company_id",
	    json_object_new_string(company));
	if (email != NULL)
		json_object_object_add(p, "email",
		    json_object_new_string(email));
	roles = json_object_new_array();
	if (role != NULL && strcmp(role, "admin") == 0)
		json_object_array_add(roles, json_object_new_string("admin"));
	json_object_object_add(p, "roles", roles);
	if (conf->cf_jwt_issuer != NULL)
		json_object_object_add(p, "iss",
		    json_object_new_string(conf->cf_jwt_issuer));
	if (conf->cf_jwt_audience != NULL)
		json_object_object_add(p, "aud",
		    json_object_new_string(conf->cf_jwt_audience));
	json_object_object_add(p, "iat", json_object_new_int64(now));
	json_object_object_add(p, "exp", json_object_new_int64(now + ttl));
	if ((a = mr_arena_new(1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	tok = mr_jwt_sign_hs256(a, p, (const unsigned char *)conf->cf_jwt_secret,
	    strlen(conf->cf_jwt_secret));
	json_object_put(p);
	if (tok == NULL)
		mr_fatalx("could not sign the token");
	printf("%s\n", tok);
	mr_arena_free(a);
	return 0;
}

/*
 * Storage by hand, with the configured backend: to check a setup, or to
 * repair.  Prints one line: what was done, or the stat/url result.
 */
static int
cmd_store(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_store		 st;
	struct mr_store_obj	 o;
	struct mr_store_stat	 sb;
	struct mr_arena		*a;
	struct mr_err		 err;
	struct stat		 fsb;
	const char		*op, *key;
	char			*url;
	int64_t			 ttl = 3600;
	int			 fd = -1, rc = -1;

	if (argc < 3)
		mr_admin_usage();
	op = argv[1];
	if ((a = mr_arena_new(64 * 1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	mr_err_clear(&err);
	if (mr_store_open(&st, conf, &err) == -1)
		goto done;
	if (strcmp(op, "put") == 0) {
		if (argc != 4 && !(argc == 6 &&
		    strcmp(argv[4], "--upload-id") == 0))
			mr_admin_usage();
		memset(&o, 0, sizeof(o));
		key = argv[3];
		if ((fd = open(argv[2], O_RDONLY | O_CLOEXEC)) == -1 ||
		    fstat(fd, &fsb) == -1) {
			mr_err_set(&err, 500, "io_error", "could not open "
			    "'%s': %s", argv[2], strerror(errno));
			goto done;
		}
		o.key = key;
		o.size = fsb.st_size;
		o.content_type = "application/octet-stream";
		o.upload_id = argc == 6 ? argv[5] : NULL;
		o.mtime = fsb.st_mtime;
		if ((rc = mr_store_put_fd(&st, a, fd, &o, &err)) == 0)
			printf("stored %s %lld\n", key, (long long)o.size);
	} else if (strcmp(op, "stat") == 0 && argc == 3) {
		if ((rc = mr_store_stat(&st, a, argv[2], &sb, &err)) == 0) {
			if (sb.exists)
				printf("%s %lld%s%s\n", argv[2],
				    (long long)sb.size, sb.etag ? " " : "",
				    sb.etag ? sb.etag : "");
			else
				printf("%s absent\n", argv[2]);
		}
	} else if (strcmp(op, "del") == 0 && argc == 3) {
		if ((rc = mr_store_del(&st, a, argv[2], &err)) == 0)
			printf("deleted %s\n", argv[2]);
	} else if (strcmp(op, "url") == 0 && (argc == 3 || (argc == 5 &&
	    strcmp(argv[3], "--ttl") == 0))) {
		if (argc == 5 && mr_parse_int64(argv[4], 1, 7 * 86400,
		    &ttl) == -1)
			mr_fatalx("--ttl must be 1 to %d seconds", 7 * 86400);
		url = mr_store_url(&st, a, argv[2], ttl, &err);
		if (url != NULL) {
			printf("%s\n", url);
			rc = 0;
		} else if (err.status == 0) {
			printf("%s: no URL (this backend has no links of its own)\n",
			    argv[2]);
			rc = 0;
		}
	} else if (strcmp(op, "share") == 0 && argc == 4) {
		if ((rc = mr_store_share(&st, a, argv[2], argv[3], &err)) == 0)
			printf("shared %s with %s\n", argv[2], argv[3]);
	} else
		mr_admin_usage();
done:
	if (rc == -1)
		fprintf(stderr, "meetrec-admin: store %s failed: %s%s%s\n", op,
		    err.detail, err.cause[0] ? ": " : "", err.cause);
	if (fd != -1)
		close(fd);
	mr_store_close(&st);
	mr_arena_free(a);
	return rc == 0 ? 0 : 1;
}

/*
 * The counts of GET /api/admin/stats, for one company or all of them,
 * one "key = value" per line (a dash for none).
 */
static int
cmd_stats(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_admin_stats	 st;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_err		 err;
	const char		*company;
	int			 i, rc = 1;

	if (mr_admin_opts(argc, argv, "c", &o) != argc)
		mr_admin_usage();
	company = o.company;
	if ((a = mr_arena_new(1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	mr_err_clear(&err);
	if (mr_db_admin_stats(db, a, company, &st, &err) == 1) {
		printf("company = %s\n", company ? company : "all");
		for (i = 0; i < MR_NSTATUS; i++)
			printf("by_status.%s = %lld\n",
			    mr_db_admin_statuses[i],
			    (long long)st.by_status[i]);
		printf("trashed = %lld\n", (long long)st.trashed);
		printf("bytes_stored = %lld\n", (long long)st.bytes_stored);
		printf("uploads_pending = %lld\n",
		    (long long)st.uploads_pending);
		printf("uploads_failed = %lld\n",
		    (long long)st.uploads_failed);
		printf("oldest_pending_upload_at = %s\n",
		    st.oldest_pending_upload_at ?
		    st.oldest_pending_upload_at : "-");
		if (st.oldest_pending_upload_s >= 0)
			printf("oldest_pending_upload_seconds = %lld\n",
			    (long long)st.oldest_pending_upload_s);
		else
			printf("oldest_pending_upload_seconds = -\n");
		rc = 0;
	} else
		fprintf(stderr, "meetrec-admin: stats failed: %s%s%s\n",
		    err.detail, err.cause[0] ? ": " : "", err.cause);
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct mr_conf	*conf;
	const char	*path = NULL;
	char		 errbuf[512] = "";
	int		 ch, rc;

	mr_log_init("meetrec-admin", 1, LOG_USER);
	/* Stop at the command: its options are its own. */
	while ((ch = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
		if (ch == 'h')
			usage_to(stdout, 0);
		if (ch == 'V') {
			printf("meetrec-admin %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (ch != 'c')
			mr_admin_usage();
		path = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		mr_admin_usage();
	/* check-config loads the configuration its own way. */
	if (strcmp(argv[0], "check-config") == 0)
		return mr_admin_check_config(path, argc, argv);
	if ((conf = mr_conf_load(path, errbuf, sizeof(errbuf))) == NULL) {
		fprintf(stderr, "meetrec-admin: %s\n", errbuf);
		return 2;
	}
	mr_log_setlevel(mr_log_parse_level(conf->cf_log_level));
	if (strcmp(argv[0], "migrate") == 0)
		rc = cmd_migrate(conf, argc, argv);
	else if (strcmp(argv[0], "token") == 0)
		rc = cmd_token(conf, argc, argv);
	else if (strcmp(argv[0], "recordings") == 0)
		rc = mr_admin_recordings(conf, argc, argv);
	else if (strcmp(argv[0], "shares") == 0)
		rc = mr_admin_shares(conf, argc, argv);
	else if (strcmp(argv[0], "room") == 0)
		rc = mr_admin_room(conf, argc, argv);
	else if (strcmp(argv[0], "store") == 0)
		rc = cmd_store(conf, argc, argv);
	else if (strcmp(argv[0], "stats") == 0)
		rc = cmd_stats(conf, argc, argv);
	else if (strcmp(argv[0], "audit") == 0)
		rc = mr_admin_audit_cmd(conf, argc, argv);
	else
		mr_admin_usage();
	mr_conf_free(conf);
	return rc;
}
