/* Leveled logs tagged by a fixed set of subsystems, as text or JSON lines on stderr, with
 * syslog priorities for journald. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The subsystems a line can come from: a fixed set, so that a level can be set for one. */
enum log_subsys {
	LOG_SUB_main = 0, /* arbiterd's start, signals, reloads */
	LOG_SUB_config,   /* config and rule file findings */
	LOG_SUB_kafka,    /* the clients, and librdkafka's own lines */
	LOG_SUB_mock,     /* the embedded mock cluster */
	LOG_SUB_pipeline, /* messages, records, commits, partitions */
	LOG_SUB_redis,    /* the Redis connection */
	LOG_SUB_review,   /* review queues: enqueues, the SLA sweeper */
	LOG_SUB_metrics,  /* the HTTP endpoint */
	LOG_SUB_ctl,      /* arbiterctl */
	LOG_SUB_assert,   /* broken invariants */
	LOG_SUBSYS_COUNT
};

/* "main", "config", ...; and back: -1 for a name not in the set. */
const char *log_subsys_name(enum log_subsys s);
int log_subsys_parse(const char *name);

/* Sets the most verbose level written, for every subsystem (SUBSYS < 0) or one. Safe at
 * any time, from any thread. */
void log_set_level(enum log_level level);
void log_set_subsys_level(enum log_subsys s, enum log_level level);
enum log_level log_get_level(enum log_subsys s);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* How lines are written: TEXT is "TS LEVEL [subsystem] message"; JSON one object a line
 * with stable keys ts, level, subsystem, msg and the line's fields. Under journald
 * (JOURNAL_STREAM set at start) every line starts with its syslog priority ("<3>") and
 * text lines leave the timestamp to the journal. */
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };
void log_set_format(enum log_format format);
/* Parses "text" or "json". Returns 0 or -EINVAL. */
int log_format_parse(const char *name, enum log_format *out);

/* The stamp a text line written now starts with: "2026-01-31T12:00:00.000Z" (UTC). */
#define LOG_TIMESTAMP_LEN 64
void log_timestamp(char out[LOG_TIMESTAMP_LEN]);

/* Wall-clock milliseconds since the epoch: the clock log lines are stamped
 * with, and the one records, deadlines and decisions are timed by. */
int64_t log_now_ms(void);

/* A structured field of a line: KEY and its value, as a string or a number. */
struct log_field {
	const char *key;
	const char *str; /* NULL: NUM is the value */
	int64_t num;
};
#define LOG_STR(k, v) ((struct log_field){.key = (k), .str = (v) ? (v) : ""})
#define LOG_NUM(k, v) ((struct log_field){.key = (k), .num = (int64_t)(v)})

/* Writes one line. FIELDS (N of them) become keys of a JSON line; text lines carry what the
 * message says. Thread-safe: one write(2) per line. */
void log_write(enum log_level level, enum log_subsys s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_write_fields(enum log_level level, enum log_subsys s, const struct log_field *fields,
		      int n, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void log_vwrite(enum log_level level, enum log_subsys s, const struct log_field *fields, int n,
		const char *fmt, va_list ap);

/* log_error(pipeline, "...", ...): SUBSYS is one of enum log_subsys without LOG_SUB_. */
#define log_error(subsys, ...) log_write(LOG_ERROR, LOG_SUB_##subsys, __VA_ARGS__)
#define log_warn(subsys, ...) log_write(LOG_WARN, LOG_SUB_##subsys, __VA_ARGS__)
#define log_info(subsys, ...) log_write(LOG_INFO, LOG_SUB_##subsys, __VA_ARGS__)
#define log_debug(subsys, ...)                                                                     \
	do {                                                                                       \
		if (log_get_level(LOG_SUB_##subsys) >= LOG_DEBUG)                                  \
			log_write(LOG_DEBUG, LOG_SUB_##subsys, __VA_ARGS__);                       \
	} while (0)
/* The same with structured fields: log_warn_at(pipeline, LOG_FIELDS(LOG_STR("topic", t)), ...). */
#define LOG_FIELDS(...)                                                                            \
	((const struct log_field[]){__VA_ARGS__}),                                                 \
		(int)(sizeof((const struct log_field[]){__VA_ARGS__}) / sizeof(struct log_field))
#define log_error_at(subsys, fields, ...)                                                          \
	log_write_fields(LOG_ERROR, LOG_SUB_##subsys, fields, __VA_ARGS__)
#define log_warn_at(subsys, fields, ...)                                                           \
	log_write_fields(LOG_WARN, LOG_SUB_##subsys, fields, __VA_ARGS__)
#define log_info_at(subsys, fields, ...)                                                           \
	log_write_fields(LOG_INFO, LOG_SUB_##subsys, fields, __VA_ARGS__)

/* Checks EXPR, an invariant only a bug can break (never use it on input):
 * evaluates to its truth. When it is false it logs file:line, the function
 * and the expression, then aborts in test and debug builds (NDEBUG unset,
 * which meson's b_ndebug=if-release gives every build type but release), so
 * that the suites catch it; a release build carries on, and the caller
 * handles the false, as in `if (!log_assert(n > 0)) return -EINVAL;`. */
#define log_assert(expr)                                                                           \
	(__builtin_expect(!!(expr), 1) ?                                                           \
		 true :                                                                            \
		 (log_assert_failed(#expr, __FILE__, __LINE__, __func__), false))

/* Reports a broken invariant for log_assert; aborts unless NDEBUG is defined. */
void log_assert_failed(const char *expr, const char *file, int line, const char *func);
