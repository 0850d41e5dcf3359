/* SPDX-License-Identifier: ISC */
/*
 * admin_room.c - meetrec-admin room add|list|del: the rooms table, for
 * installations without an ERP that owns it.  The list prints every room
 * of the company (or of all), page by page by room code.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "mr.h"
#include "admin.h"
#include "conf.h"
#include "db.h"
#include "model.h"

static int
room_add(struct mr_conf *conf, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "code", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "host", required_argument, NULL, 'h' },
		{ "company", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*code = NULL, *name = NULL, *host = NULL;
	const char	*company = NULL;
	struct mr_arena	*a;
	struct mr_db	*db;
	struct mr_err	 err;
	char		*id;
	int		 ch, rc = 1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': code = optarg; break;
		case 'n': name = optarg; break;
		case 'h': host = optarg; break;
		case 'o': company = optarg; break;
		default: mr_admin_usage();
		}
	}
	if (optind != argc || !code || !name || !host || !company)
		mr_admin_usage();
	if (!mr_room_code_valid(code))
		mr_fatalx("--code must be 1 to 50 letters, digits, '_' or '-'");
	if (!mr_uuid_valid(host) || !mr_uuid_valid(company))
		mr_fatalx("--host and --company must be UUIDs");
	if (strlen(name) > 255)
		mr_fatalx("--name is longer than 255 characters");
	if ((a = mr_arena_new(1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	mr_err_clear(&err);
	if (mr_db_room_add(db, a, code, name, host, company, &id, &err) == 1) {
		printf("%s\n", id);
		rc = 0;
	} else if (err.status == 409)
		fprintf(stderr, "meetrec-admin: room '%s' already exists\n",
		    code);
	else
		rc = mr_admin_fail("room add", &err);
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

static struct json_object *
room_json(const struct mr_room *r)
{
	struct json_object	*o = json_object_new_object();

	mr_admin_json_str(o, "id", r->id);
	mr_admin_json_str(o, "room_code", r->room_code);
	mr_admin_json_str(o, "name", r->name);
	mr_admin_json_str(o, "status", r->status);
	mr_admin_json_str(o, "created_by", r->created_by);
	mr_admin_json_str(o, "company_id", r->company_id);
	return o;
}

/*
 * Every room (of --company), by code, one a line: id, code, status,
 * host, company, name, separated by tabs; or --json.  --limit N stops
 * after N and says the --cursor (the last code) to go on from.
 */
static int
room_list(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_room		*rooms;
	struct mr_err		 err;
	struct json_object	*arr = NULL, *out;
	char			 after[64] = "";
	int64_t			 shown = 0, want;
	int			 n, i, rc = 0, more = 0;

	if (mr_admin_opts(argc, argv, "cjlk", &o) != argc)
		mr_admin_usage();
	if (o.cursor != NULL) {
		if (!mr_room_code_valid(o.cursor))
			mr_fatalx("--cursor must be a room code");
		snprintf(after, sizeof(after), "%s", o.cursor);
	}
	if ((a = mr_arena_new(16 * 1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	if (o.json)
		arr = json_object_new_array();
	for (;;) {
		want = MR_ADMIN_PAGE;
		if (o.limit > 0 && o.limit - shown < want)
			want = o.limit - shown;
		mr_err_clear(&err);
		if (mr_db_room_list(db, a, o.company, after[0] ? after : NULL,
		    want, &rooms, &n, &err) == -1) {
			rc = mr_admin_fail("room list", &err);
			break;
		}
		for (i = 0; i < n; i++) {
			if (arr != NULL)
				json_object_array_add(arr,
				    room_json(&rooms[i]));
			else
				printf("%s\t%s\t%s\t%s\t%s\t%s\n", rooms[i].id,
				    rooms[i].room_code, rooms[i].status,
				    rooms[i].created_by, rooms[i].company_id,
				    rooms[i].name);
		}
		shown += n;
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
			    rooms[n - 1].room_code);
		mr_arena_reset(a);
		if (n < want)
			break;
		if (o.limit > 0 && shown >= o.limit) {
			/* One more row tells whether there is more. */
			if (mr_db_room_list(db, a, o.company, after, 1,
			    &rooms, &n, &err) == -1) {
				rc = mr_admin_fail("room list", &err);
				break;
			}
			more = n > 0;
			mr_arena_reset(a);
			break;
		}
	}
	if (arr != NULL && rc == 0) {
		out = json_object_new_object();
		json_object_object_add(out, "rooms", arr);
		mr_admin_json_str(out, "next_cursor", more ? after : NULL);
		mr_admin_print_json(out);
	} else if (arr != NULL)
		json_object_put(arr);
	if (rc == 0 && !o.json && more)
		mr_admin_more("rooms", after);
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

/* room del CODE: not while the room is being recorded. */
static int
room_del(struct mr_conf *conf, int argc, char *argv[])
{
	struct mr_admin_opts	 o;
	struct mr_arena		*a;
	struct mr_db		*db;
	struct mr_err		 err;
	const char		*code;
	int			 i, rc;

	if ((i = mr_admin_opts(argc, argv, "c", &o)) != argc - 1)
		mr_admin_usage();
	code = argv[i];
	if (!mr_room_code_valid(code))
		mr_fatalx("the room code must be 1 to 50 letters, digits, '_' "
		    "or '-'");
	if ((a = mr_arena_new(1024 * 1024)) == NULL)
		mr_fatalx("out of memory");
	db = mr_admin_connect(conf);
	mr_err_clear(&err);
	rc = mr_db_room_del(db, a, code, o.company, &err);
	if (rc == 1) {
		printf("deleted room %s\n", code);
		rc = 0;
	} else if (rc == 0) {
		fprintf(stderr, "meetrec-admin: room del: there is no room "
		    "'%s'%s%s\n", code, o.company ? " in company " : "",
		    o.company ? o.company : "");
		rc = 1;
	} else
		rc = mr_admin_fail("room del", &err);
	mr_db_free(db);
	mr_arena_free(a);
	return rc;
}

int
mr_admin_room(struct mr_conf *conf, int argc, char *argv[])
{
	if (argc < 2)
		mr_admin_usage();
	if (strcmp(argv[1], "add") == 0)
		return room_add(conf, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return room_list(conf, argc - 1, argv + 1);
	if (strcmp(argv[1], "del") == 0)
		return room_del(conf, argc - 1, argv + 1);
	mr_admin_usage();
}
