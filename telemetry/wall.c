/* Wall-clock time beside the monotonic clock: samples and decisions carry
 * both, so traces, the dashboard and Prometheus line up with the host's
 * logs and with each other. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "common/util.h"

UTIL_HOT uint64_t tel_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The offset between the clocks read now: exact unless the wall clock was
 * stepped between mono_ns and now. */
uint64_t tel_wall_of(uint64_t mono_ns)
{
	uint64_t m0 = util_now_ns(), w = tel_wall_ns(), m1 = util_now_ns();

	return w - (m0 / 2 + m1 / 2) + mono_ns;
}

int tel_iso8601(uint64_t wall_ns, char *buf, size_t len)
{
	time_t sec = (time_t)(wall_ns / 1000000000ull);
	struct tm tm;
	int n;

	if (!gmtime_r(&sec, &tm))
		return -EOVERFLOW;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned)(wall_ns % 1000000000ull / 1000000ull));
	return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}
