#include "common/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum util_log_level log_level = UTIL_LOG_WARN;

void util_log_set_level(enum util_log_level level)
{
	log_level = level;
}

enum util_log_level util_log_get_level(void)
{
	return log_level;
}

void util_log(enum util_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[UTIL_LOG_ERROR] = "error: ", [UTIL_LOG_WARN] = "warning: ",
		[UTIL_LOG_INFO] = "", [UTIL_LOG_DEBUG] = "debug: ",
	};
	va_list ap;

	if (level > log_level)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "avmm: %s", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}
