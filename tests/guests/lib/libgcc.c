/* libgcc.c - what GCC may call on i386 that we have no libgcc for: 64-bit
 * division and modulo, memset/memcpy/memmove/memcmp, strlen. */
#include "guest.h"

u64 __udivmoddi4(u64 n, u64 d, u64 *rem);
u64 __udivdi3(u64 n, u64 d);
u64 __umoddi3(u64 n, u64 d);
s64 __divdi3(s64 n, s64 d);
s64 __moddi3(s64 n, s64 d);

u64 __udivmoddi4(u64 n, u64 d, u64 *rem)
{
	u64 q = 0, r = 0;
	int i;

	if (d == 0) { /* like the hardware would: fault */
		__asm__ volatile("ud2");
	}
	if ((d >> 32) == 0) {
		u32 dd = (u32)d, hi = (u32)(n >> 32), lo = (u32)n;
		u32 qhi = hi / dd, rhi = hi % dd, qlo, r32;

		__asm__("divl %4" : "=a"(qlo), "=d"(r32) : "a"(lo), "d"(rhi), "rm"(dd));
		if (rem)
			*rem = r32;
		return ((u64)qhi << 32) | qlo;
	}
	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (u64)1 << i;
		}
	}
	if (rem)
		*rem = r;
	return q;
}

u64 __udivdi3(u64 n, u64 d) { return __udivmoddi4(n, d, NULL); }

u64 __umoddi3(u64 n, u64 d)
{
	u64 r;

	__udivmoddi4(n, d, &r);
	return r;
}

s64 __divdi3(s64 n, s64 d)
{
	int neg = (n < 0) != (d < 0);
	u64 q = __udivmoddi4(n < 0 ? -(u64)n : (u64)n, d < 0 ? -(u64)d : (u64)d, NULL);

	return neg ? -(s64)q : (s64)q;
}

s64 __moddi3(s64 n, s64 d)
{
	u64 r;

	__udivmoddi4(n < 0 ? -(u64)n : (u64)n, d < 0 ? -(u64)d : (u64)d, &r);
	return n < 0 ? -(s64)r : (s64)r;
}

u64 udiv64(u64 n, u64 d) { return __udivmoddi4(n, d, NULL); }

u64 muldiv64(u64 a, u64 b, u64 c)
{
	u64 q, r;

	if (!c)
		return 0;
	q = __udivmoddi4(a, c, &r);
	return q * b + r * b / c;
}

/* String instructions, so the compiler cannot turn these loops into calls to
 * themselves. */
void *memset(void *d, int c, size_t n)
{
	void *p = d;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	void *p = d;

	__asm__ volatile("rep movsb" : "+D"(p), "+S"(s), "+c"(n) : : "memory");
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	if ((const char *)d <= (const char *)s || (const char *)d >= (const char *)s + n)
		return memcpy(d, s, n);
	{
		char *dp = (char *)d + n - 1;
		const char *sp = (const char *)s + n - 1;

		__asm__ volatile("std; rep movsb; cld" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory");
	}
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const volatile u8 *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	const volatile char *p = s;
	size_t n = 0;

	while (p[n])
		n++;
	return n;
}
