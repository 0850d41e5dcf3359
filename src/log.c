/* SPDX-License-Identifier: ISC */
/*
 * log.c - logging to stderr or syslog, OpenBSD log.h shape.  The backend
 * is chosen once by mr_log_init(); lines below the verbosity are not even
 * formatted.  When standard error is the journal (systemd says so in
 * JOURNAL_STREAM, sd-daemon(3)), each line starts with its priority,
 * "<3>" to "<7>", then the pid in brackets, and leaves the time to the
 * journal.  The pid stays in the line: the journal credits a stream's
 * lines to the process that was given the stream (_PID), for the pool
 * its master, whatever worker wrote them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mr.h"

int		 mr_log_verbosity = MR_LOG_INFO;
static int	 use_syslog, use_journal;
static const char *progname = "meetrec";

static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/*
 * Is standard error the journal's stream?  JOURNAL_STREAM holds its
 * "device:inode"; a child whose stderr went elsewhere still inherits the
 * variable, so the descriptor itself must match.
 */
static int
stderr_is_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;
	char			 end;

	if (v == NULL || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
mr_log_init(const char *name, int foreground, int facility)
{
	progname = name;
	use_syslog = !foreground;
	use_journal = foreground && stderr_is_journal();
	if (use_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, facility);
}

void
mr_log_setlevel(int level)
{
	mr_log_verbosity = level;
}

/* Returns the level for a name ("error", "warn", "info", "debug") or -1. */
int
mr_log_parse_level(const char *s)
{
	for (size_t i = 0; i < MR_NELEM(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
vlog(int level, const char *fmt, va_list ap)
{
	char		 msg[2048];
	struct timespec	 ts;
	struct tm	 tm;
	char		 tbuf[32];

	if (level > mr_log_verbosity)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/*
	 * One event, one line: control bytes from outside (a user name, an
	 * upstream error) must not forge log lines or reach a terminal.
	 */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = *p == '\n' || *p == '\t' ? ' ' : '?';
	if (use_syslog) {
		syslog(syslog_prio[level], "%s", msg);
		return;
	}
	if (use_journal) {
		fprintf(stderr, "<%d>[%ld] %s: %s\n", syslog_prio[level],
		    (long)getpid(), level_names[level], msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%ld] %s: %s\n", tbuf,
	    ts.tv_nsec / 1000000, progname, (long)getpid(),
	    level_names[level], msg);
}

void
mr_log_msg(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void
mr_log_warn(const char *fmt, ...)
{
	char	 buf[1024];
	int	 saved = errno;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mr_log_msg(MR_LOG_WARN, "%s: %s", buf, strerror(saved));
	errno = saved;
}

#define LOGFN(name, level)			\
void						\
name(const char *fmt, ...)			\
{						\
	va_list	 ap;				\
						\
	va_start(ap, fmt);			\
	vlog(level, fmt, ap);			\
	va_end(ap);				\
}

LOGFN(mr_log_warnx, MR_LOG_WARN)
LOGFN(mr_log_info, MR_LOG_INFO)
LOGFN(mr_log_debug, MR_LOG_DEBUG)

void
mr_fatal(const char *fmt, ...)
{
	char	 buf[1024];
	int	 saved = errno;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mr_log_msg(MR_LOG_ERR, "fatal: %s: %s", buf, strerror(saved));
	exit(1);
}

void
mr_fatalx(const char *fmt, ...)
{
	char	 buf[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mr_log_msg(MR_LOG_ERR, "fatal: %s", buf);
	exit(1);
}
