/* printf.c - small vsnprintf: %d %i %u %x %X %s %c %p %%, flags '0' '-',
 * width, length modifiers l, ll, z. 64-bit values with ll. */
#include "guest.h"

struct out {
	char *buf;
	u32 size;
	u32 len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, u64 v, u32 base, int upper, int neg, int width,
		    int zero, int left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, pad, i;

	do {
		/* u64 by small u32: two 32-bit divisions, no libgcc. */
		u32 hi = (u32)(v >> 32), lo = (u32)v, r;
		u32 qhi = hi / base;
		u32 rhi = hi % base;
		u32 qlo;
		__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(rhi), "rm"(base));
		tmp[n++] = digits[r];
		v = ((u64)qhi << 32) | qlo;
	} while (v);
	pad = width - n - (neg ? 1 : 0);
	if (!left && !zero)
		for (; pad > 0; pad--)
			put(o, ' ');
	if (neg)
		put(o, '-');
	if (!left && zero)
		for (; pad > 0; pad--)
			put(o, '0');
	for (i = n - 1; i >= 0; i--)
		put(o, tmp[i]);
	if (left)
		for (; pad > 0; pad--)
			put(o, ' ');
}

int gvsnprintf(char *buf, u32 size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	const char *p;

	for (p = fmt; *p; p++) {
		int width = 0, zero = 0, left = 0, lng = 0;
		u64 v;
		s64 sv;

		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		p++;
		for (;; p++) {
			if (*p == '0')
				zero = 1;
			else if (*p == '-')
				left = 1;
			else
				break;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		while (*p == 'l' || *p == 'z') {
			if (*p == 'l')
				lng++;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i':
			sv = lng >= 2 ? va_arg(ap, long long) : (s64)va_arg(ap, long);
			v = sv < 0 ? (u64)0 - (u64)sv : (u64)sv;
			put_num(&o, v, 10, 0, sv < 0, width, zero, left);
			break;
		case 'u':
		case 'x':
		case 'X':
			v = lng >= 2 ? va_arg(ap, unsigned long long) : (u64)va_arg(ap, unsigned long);
			put_num(&o, v, *p == 'u' ? 10 : 16, *p == 'X', 0, width, zero, left);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (u32)va_arg(ap, void *), 16, 0, 0, 8, 1, 0);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n;

			if (!s)
				s = "(null)";
			n = (int)strlen(s);
			if (!left)
				for (; width > n; width--)
					put(&o, ' ');
			while (*s)
				put(&o, *s++);
			for (; width > n; width--)
				put(&o, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			p--;
			break;
		default:
			put(&o, '%');
			put(&o, *p);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int gsnprintf(char *buf, u32 size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = gvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int gprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = gvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	serial_lock();
	serial_write(buf, (u32)n < sizeof(buf) ? (u32)n : sizeof(buf) - 1);
	serial_unlock();
	return n;
}

const char *fmt_ratio(char buf[32], u64 num, u64 den)
{
	u64 hundredths;

	if (!den) {
		gsnprintf(buf, 32, "inf");
		return buf;
	}
	hundredths = muldiv64(num, 100, den);
	gsnprintf(buf, 32, "%llu.%02llu", hundredths / 100, hundredths % 100);
	return buf;
}
