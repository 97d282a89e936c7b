/* paging-mode: names of the enums, for logs, JSON and the profile. */
#include <errno.h>
#include <strings.h>

#include "paging-mode/pgmode.h"

const char *pgmode_kvm_name(enum pgmode_kvm k)
{
	static const char *const n[] = { "other", "intel", "amd", "pvm" };

	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "other";
}

const char *pgmode_mode_name(enum pgmode_mode m)
{
	return m == PGMODE_MODE_SHADOW ? "shadow" : m == PGMODE_MODE_NESTED ? "nested" : "unknown";
}

static const char *const page_names[] = { "keep", "4k", "2m", "1g" };

const char *pgmode_page_name(enum pgmode_page p)
{
	return (unsigned)p < sizeof(page_names) / sizeof(page_names[0]) ? page_names[p] : "keep";
}

int pgmode_page_parse(const char *s, enum pgmode_page *out)
{
	unsigned i;

	for (i = 0; s && i < sizeof(page_names) / sizeof(page_names[0]); i++) {
		if (!strcasecmp(s, page_names[i])) {
			*out = (enum pgmode_page)i;
			return 0;
		}
	}
	return -EINVAL;
}
