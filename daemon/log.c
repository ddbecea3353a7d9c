/* Leveled, subsystem-tagged logging to stderr: text or JSON lines, syslog priorities under
 * journald. */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_levels[LOG_SUBSYS_COUNT] = {
	LOG_INFO, LOG_INFO, LOG_INFO, LOG_INFO, LOG_INFO,
	LOG_INFO, LOG_INFO, LOG_INFO, LOG_INFO, LOG_INFO,
};
static atomic_int log_format = LOG_FORMAT_TEXT;
static const char *const log_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities: err, warning, info, debug. */
static const char log_priorities[] = {'3', '4', '6', '7'};
static const char *const log_subsys_names[LOG_SUBSYS_COUNT] = {
	"main",  "config", "kafka",   "mock", "pipeline",
	"redis", "review", "metrics", "ctl",  "assert",
};

const char *log_subsys_name(enum log_subsys s)
{
	return (unsigned)s < LOG_SUBSYS_COUNT ? log_subsys_names[s] : "?";
}

int log_subsys_parse(const char *name)
{
	for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
		if (!strcmp(name, log_subsys_names[i]))
			return i;
	return -1;
}

void log_set_level(enum log_level level)
{
	for (int i = 0; i < LOG_SUBSYS_COUNT; i++)
		atomic_store(&log_levels[i], (int)level);
}

void log_set_subsys_level(enum log_subsys s, enum log_level level)
{
	if ((unsigned)s < LOG_SUBSYS_COUNT)
		atomic_store(&log_levels[s], (int)level);
}

enum log_level log_get_level(enum log_subsys s)
{
	return (enum log_level)atomic_load(&log_levels[(unsigned)s < LOG_SUBSYS_COUNT ? s : 0]);
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level <= LOG_DEBUG ? log_names[level] : "?";
}

void log_set_format(enum log_format format)
{
	atomic_store(&log_format, (int)format);
}

int log_format_parse(const char *name, enum log_format *out)
{
	if (!strcmp(name, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(name, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

int64_t log_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* journald connects stderr itself and says so in JOURNAL_STREAM: it stamps lines itself and
 * reads "<N>" as the priority. Decided once: the environment does not change under us. */
static bool log_journald(void)
{
	static atomic_int known = -1;
	int v = atomic_load(&known);
	if (v < 0) {
		v = getenv("JOURNAL_STREAM") != NULL;
		atomic_store(&known, v);
	}
	return v;
}

/* A bounded line under construction. */
struct log_line {
	char buf[4096];
	size_t len;
};

static void log_put(struct log_line *l, const char *s, size_t n)
{
	size_t room = sizeof(l->buf) - 2 - l->len; /* the newline always fits */
	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static __attribute__((format(printf, 2, 3))) void log_putf(struct log_line *l, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		log_put(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* S as the inside of a JSON string. */
static void log_put_json(struct log_line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			log_put(l, e, 2);
		} else if (c < 0x20) {
			log_putf(l, "\\u%04x", c);
		} else {
			log_put(l, (const char *)&c, 1);
		}
	}
}

void log_timestamp(char out[LOG_TIMESTAMP_LEN])
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, LOG_TIMESTAMP_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void log_vwrite(enum log_level level, enum log_subsys s, const struct log_field *fields, int n,
		const char *fmt, va_list ap)
{
	if ((int)level > (int)log_get_level(s))
		return;
	char msg[2048], ts[LOG_TIMESTAMP_LEN];
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m < 0)
		return;
	size_t mlen = (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
	struct log_line l = {.len = 0};
	bool journal = log_journald();
	if (journal)
		log_putf(&l, "<%c>", log_priorities[level]);
	log_timestamp(ts);
	if (atomic_load(&log_format) == LOG_FORMAT_JSON) {
		log_putf(&l, "{\"ts\":\"%s\",\"level\":\"%s\",\"subsystem\":\"%s\",\"msg\":\"", ts,
			 log_names[level], log_subsys_name(s));
		log_put_json(&l, msg, mlen);
		log_put(&l, "\"", 1);
		for (int i = 0; i < n; i++) {
			log_put(&l, ",\"", 2);
			log_put_json(&l, fields[i].key, strlen(fields[i].key));
			if (fields[i].str) {
				log_put(&l, "\":\"", 3);
				log_put_json(&l, fields[i].str, strlen(fields[i].str));
				log_put(&l, "\"", 1);
			} else {
				log_putf(&l, "\":%lld", (long long)fields[i].num);
			}
		}
		log_put(&l, "}", 1);
	} else {
		if (!journal)
			log_putf(&l, "%s ", ts);
		log_putf(&l, "%-5s [%s] ", log_names[level], log_subsys_name(s));
		log_put(&l, msg, mlen);
	}
	l.buf[l.len++] = '\n';
	/* One write per line keeps lines whole when librdkafka threads log too. */
	ssize_t w = write(STDERR_FILENO, l.buf, l.len);
	(void)w;
}

void log_write(enum log_level level, enum log_subsys s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, s, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_write_fields(enum log_level level, enum log_subsys s, const struct log_field *fields,
		      int n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, s, fields, n, fmt, ap);
	va_end(ap);
}

void log_assert_failed(const char *expr, const char *file, int line, const char *func)
{
	log_write(LOG_ERROR, LOG_SUB_assert, "%s:%d: %s: broken invariant: %s", file, line, func,
		  expr);
#ifndef NDEBUG
	abort();
#endif
}
