/* Leveled, subsystem-tagged logging to stderr (journald adds the timestamps). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level that is written. Safe to call at any time. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parses "error", "warn", "info" or "debug". Returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Wall-clock milliseconds since the epoch: the clock log lines are stamped
 * with, and the one records, deadlines and decisions are timed by. */
int64_t log_now_ms(void);

/* Writes one line "LEVEL [subsys] message". Thread-safe: one write(2) per line. */
void log_write(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vwrite(enum log_level level, const char *subsys, const char *fmt, va_list ap);

#define log_error(subsys, ...) log_write(LOG_ERROR, subsys, __VA_ARGS__)
#define log_warn(subsys, ...) log_write(LOG_WARN, subsys, __VA_ARGS__)
#define log_info(subsys, ...) log_write(LOG_INFO, subsys, __VA_ARGS__)
#define log_debug(subsys, ...)                                                                     \
	do {                                                                                       \
		if (log_get_level() >= LOG_DEBUG)                                                  \
			log_write(LOG_DEBUG, subsys, __VA_ARGS__);                                 \
	} while (0)

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
