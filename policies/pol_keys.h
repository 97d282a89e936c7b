/* policies: the profile key table (internal to this module). */
#ifndef AVMM_POL_KEYS_H
#define AVMM_POL_KEYS_H

#include "policies/pol_int.h"

enum pol_key_type { PK_STR, PK_DOUBLE, PK_MS, PK_INT, PK_BOOL, PK_ENUM, PK_CPULIST };

struct pol_key {
	const char *section, *key;
	enum pol_key_type type;
	size_t off;
	double min, max;           /* PK_STR: max = buffer size; PK_CPULIST: max entries */
	const char *const *names;  /* PK_ENUM */
	const char *help;
	size_t off2;               /* PK_CPULIST: offset of its count */
};

extern const struct pol_key pol_keys[];
extern const int pol_nr_keys;
extern const char *const pol_sections[];

void pol_defaults(struct pol_profile *p);
const struct pol_key *pol_key_find(const char *section, const char *key, int *idx);
int pol_key_set(const struct pol_key *k, struct pol_profile *p, const char *value);
int pol_key_format(const struct pol_key *k, const struct pol_profile *p, char *out, size_t len);

#endif
