/* cmdline.c - key=value parameters. Tokens are separated by spaces; tokens
 * without '=' (QEMU puts the kernel path first) are ignored. */
#include "guest.h"

/* Start of the value of key in cmdline, or NULL. */
static const char *find_value(const char *cmdline, const char *key)
{
	const char *p = cmdline;
	u32 klen = (u32)strlen(key);

	while (p && *p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return NULL;
}

int param_present(const char *cmdline, const char *key)
{
	return find_value(cmdline, key) != NULL;
}

u64 param_u64(const char *cmdline, const char *key, u64 def, int *bad)
{
	const char *p = find_value(cmdline, key);
	u64 v = 0;
	u32 base = 10, digits = 0, shift = 0;

	if (!p)
		return def;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (;; p++, digits++) {
		u32 d;

		if (*p >= '0' && *p <= '9')
			d = (u32)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (u32)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (u32)(*p - 'A' + 10);
		else
			break;
		v = v * base + d;
	}
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	default: break;
	}
	if (shift && (*p == 'i' || *p == 'I') && (p[1] == 'b' || p[1] == 'B'))
		p += 2;
	else if (shift && (*p == 'b' || *p == 'B'))
		p++;
	if (!digits || (*p && *p != ' ' && *p != '\t')) {
		if (bad)
			*bad = 1;
		return def;
	}
	return v << shift;
}

int param_str(const char *cmdline, const char *key, char *buf, u32 size)
{
	const char *p = find_value(cmdline, key);
	u32 i = 0;

	if (!p || !size)
		return 0;
	while (p[i] && p[i] != ' ' && p[i] != '\t' && i + 1 < size) {
		buf[i] = p[i];
		i++;
	}
	buf[i] = 0;
	return 1;
}
