/* SPDX-License-Identifier: ISC */
/*
 * tap.h - a tiny TAP producer for the C unit tests (picotest-sized).  Each
 * test is its own program, so everything is static; "unused" keeps a test
 * that does not call every helper free of warnings.
 */
#ifndef MR_TAP_H
#define MR_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TAP_FN	static __attribute__((unused))

static int	tap_planned = -1, tap_run, tap_failed;

TAP_FN void
plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

TAP_FN __attribute__((format(printf, 2, 3))) int
ok(int cond, const char *fmt, ...)
{
	va_list	ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return (cond);
}

TAP_FN int
is_int(long long got, long long want, const char *name)
{
	if (ok(got == want, "%s", name))
		return (1);
	printf("#   got: %lld\n#  want: %lld\n", got, want);
	return (0);
}

TAP_FN int
is_str(const char *got, const char *want, const char *name)
{
	int	same;

	same = got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want;
	if (ok(same, "%s", name))
		return (1);
	printf("#   got: '%s'\n#  want: '%s'\n", got ? got : "(null)",
	    want ? want : "(null)");
	return (0);
}

/* Returns the exit status: 0 only if all ran as planned and passed. */
TAP_FN int
done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_run != tap_planned) {
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
		return (255);
	}
	if (tap_failed > 0)
		printf("# failed %d of %d tests\n", tap_failed, tap_run);
	return (tap_failed > 254 ? 254 : tap_failed);
}

#endif /* MR_TAP_H */
