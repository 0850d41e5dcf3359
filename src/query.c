/* SPDX-License-Identifier: ISC */
/*
 * query.c - what clients put in query strings and form bodies: "a=1&b=2"
 * with %xx escapes, RFC 3339 times and keyset cursors.  Pure functions
 * of their input, so t/fuzz/fuzz-query.c can drive them directly.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "mr.h"

#define CURSOR_MAX	200

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode %xx and '+'; a malformed escape or a NUL is an error (NULL). */
static char *
url_decode(struct mr_arena *a, const char *s, size_t n)
{
	char	*out, *o;
	int	 hi, lo;

	if ((out = o = mr_alloc(a, n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			*o++ = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n ||
			    (hi = hexval((unsigned char)s[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)s[i + 2])) == -1 ||
			    (hi == 0 && lo == 0))
				return NULL;
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/*
 * Find name in q ("a=1&b=2").  Returns 1 and the decoded value in *val
 * (arena a), 0 when absent, -1 (400 invalid_query) when the value is
 * malformed or the name is repeated.
 */
int
mr_query_get(struct mr_arena *a, const char *q, const char *name,
    const char **val, struct mr_err *err)
{
	const char	*amp, *eq;
	size_t		 nl = strlen(name), len;
	int		 found = 0;

	while (*q != '\0') {
		amp = strchr(q, '&');
		len = amp ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', len);
		if (eq != NULL && (size_t)(eq - q) == nl &&
		    memcmp(q, name, nl) == 0) {
			if (found++)
				return mr_err_set(err, 400, "invalid_query",
				    "Parameter '%s' is repeated.", name);
			if ((*val = url_decode(a, eq + 1,
			    len - nl - 1)) == NULL)
				return mr_err_set(err, 400, "invalid_query",
				    "Parameter '%s' is not correctly "
				    "encoded.", name);
		}
		q += len + (amp != NULL);
	}
	return found;
}

/* Refuse names in q not in allowed (NULL-terminated): 0, or -1 (400). */
int
mr_query_check(const char *q, const char *const *allowed,
    struct mr_err *err)
{
	const char	*amp, *eq;
	const char *const *p;
	size_t		 len, kl;

	while (*q != '\0') {
		amp = strchr(q, '&');
		len = amp ? (size_t)(amp - q) : strlen(q);
		eq = memchr(q, '=', len);
		kl = eq ? (size_t)(eq - q) : len;
		if (len > 0) {
			for (p = allowed; *p != NULL; p++)
				if (strlen(*p) == kl && memcmp(*p, q, kl) == 0)
					break;
			if (*p == NULL)
				return mr_err_set(err, 400, "invalid_query",
				    "Unknown parameter '%.*s'.",
				    (int)(kl > 32 ? 32 : kl), q);
		}
		q += len + (amp != NULL);
	}
	return 0;
}

static int
digits(const char *s, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/*
 * Is s YYYY-MM-DD or an RFC 3339 date-time (fraction optional, offset
 * Z or +hh:mm required) naming a real day and time that PostgreSQL takes
 * (its offsets stop at 15:59)?  0 and *date_only, or -1.  Each character
 * is looked at before the next, so a short string never reads past its
 * end.  PostgreSQL refuses February 31 with an error that would
 * otherwise be a 500.
 */
int
mr_time_valid(const char *s, int *date_only)
{
	static const int mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	const char	*p;
	int		 y, mo, d, h, mi, sec, leap, n;

	if (digits(s, 4, &y) == -1 || s[4] != '-' ||
	    digits(s + 5, 2, &mo) == -1 || s[7] != '-' ||
	    digits(s + 8, 2, &d) == -1 || y < 1 || mo < 1 || mo > 12)
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap))
		return -1;
	if ((*date_only = s[10] == '\0'))
		return 0;
	if ((s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) == -1 ||
	    s[13] != ':' || digits(s + 14, 2, &mi) == -1 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) == -1 || h > 23 || mi > 59 || sec > 59)
		return -1;
	p = s + 19;
	if (*p == '.') {
		for (n = 0, p++; isdigit((unsigned char)*p); p++)
			n++;
		if (n < 1 || n > 9)
			return -1;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if ((*p == '+' || *p == '-') && digits(p + 1, 2, &h) == 0 &&
	    p[3] == ':' && digits(p + 4, 2, &mi) == 0 && p[6] == '\0' &&
	    h <= 15 && mi <= 59)
		return 0;
	return -1;
}

/*
 * A keyset cursor: base64url of "<timestamp>,<uuid>" of the last row
 * sent.  Decode sets *ts and *id (arena a) and returns 0, or -1 for
 * anything mr_cursor_encode() did not make.
 */
int
mr_cursor_decode(struct mr_arena *a, const char *c, const char **ts,
    const char **id)
{
	unsigned char	*raw;
	size_t		 len;
	char		*s, *comma;
	int		 date_only;

	if (strlen(c) > CURSOR_MAX || mr_b64url_decode(a, c, strlen(c), &raw,
	    &len) == -1 || (s = mr_strndup(a, (char *)raw, len)) == NULL ||
	    strlen(s) != len || (comma = strchr(s, ',')) == NULL)
		return -1;
	*comma = '\0';
	if (!mr_uuid_valid(comma + 1) || mr_time_valid(s, &date_only) == -1 ||
	    date_only)
		return -1;
	*ts = s;
	*id = comma + 1;
	return 0;
}

/* The cursor after the row (ts, id), in arena a, or NULL. */
char *
mr_cursor_encode(struct mr_arena *a, const char *ts, const char *id)
{
	char	*v;

	if ((v = mr_printf(a, "%s,%s", ts, id)) == NULL)
		return NULL;
	return mr_b64url_encode(a, v, strlen(v));
}
