/* SPDX-License-Identifier: ISC */
/*
 * sql-stmts - print every prepared statement meetrec uses, one JSON
 * object a line: {"name", "nparams", "sql"}.  t/060-query-plans.t
 * prepares them in a psql session of its own and reads their plans.
 */
#include "config.h"

#include <stdio.h>

#include <json-c/json.h>

#include "mr.h"
#include "db.h"

int
main(void)
{
	const struct mr_db_stmt	*s;
	struct json_object	*o;
	size_t			 i;

	for (i = 0; (s = mr_db_stmt_at(i)) != NULL; i++) {
		if ((o = json_object_new_object()) == NULL)
			return 1;
		json_object_object_add(o, "name",
		    json_object_new_string(s->name));
		json_object_object_add(o, "nparams",
		    json_object_new_int(s->nparams));
		json_object_object_add(o, "sql", json_object_new_string(s->sql));
		if (puts(json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN)) == EOF)
			return 1;
		json_object_put(o);
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
