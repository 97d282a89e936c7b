/* coremap: why text, with printf (cm_why) and without (struct cm_text,
 * for the adaptive strategy's per-call path). */
#include "coremap/plan_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cm_why(char *why, size_t len, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!why || len == 0)
		return;
	used = strnlen(why, len - 1);
	why[used] = '\0';
	if (used == len - 1)
		return; /* full: formatting more would only cost time */
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

void cm_text_init(struct cm_text *t, char *s, size_t len)
{
	t->s = s;
	t->len = len;
	t->used = s && len ? strnlen(s, len - 1) : 0;
	if (s && len)
		s[t->used] = '\0';
}

void cm_text_str(struct cm_text *t, const char *x)
{
	size_t room, k;

	if (cm_text_full(t))
		return;
	room = t->len - 1 - t->used;
	for (k = 0; k < room && x[k]; k++)
		t->s[t->used + k] = x[k];
	t->used += k;
	t->s[t->used] = '\0';
}

void cm_text_int(struct cm_text *t, long long v)
{
	char buf[24], *e = buf + sizeof(buf) - 1, *b = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	*e = '\0';
	do {
		*--b = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--b = '-';
	cm_text_str(t, b);
}

/* "%.0f": round to nearest in the current mode, as printf does; values
 * beyond exact integers (and NaN, infinities) go through printf. */
void cm_text_f0(struct cm_text *t, double x)
{
	char buf[48];
	double r;

	if (cm_text_full(t))
		return;
	if (!(fabs(x) < 1e15)) {
		snprintf(buf, sizeof(buf), "%.0f", x);
		cm_text_str(t, buf);
		return;
	}
	r = nearbyint(x);
	if (signbit(r))
		cm_text_str(t, "-");
	cm_text_int(t, (long long)fabs(r));
}
