/* policies: internals shared by the files of this module (not public). */
#ifndef AVMM_POL_INT_H
#define AVMM_POL_INT_H

#include <stdarg.h>
#include <stddef.h>

#include "policies/pol.h"

#define POL_MAX_FILE_BYTES (64 * 1024)
#define POL_MAX_ENTRIES 1024
#define POL_WORD_MAX 48

/* Accumulated "file:line: problem; fix" messages, one per line. */
struct pol_errs {
	char *buf;
	size_t len, used;
	int count;
};

void pol_errs_init(struct pol_errs *e, char *buf, size_t len);
void pol_err(struct pol_errs *e, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct pol_ini_entry {
	char section[POL_WORD_MAX];
	char key[POL_WORD_MAX];
	char value[POL_MAX_LINE + 1];
	int line;
};

struct pol_ini_section {
	char name[POL_WORD_MAX];
	int line;
};

struct pol_ini {
	struct pol_ini_entry *e;
	int n, cap;
	struct pol_ini_section *sec;
	int nsec, seccap;
};

/* Split text into entries; syntax, length, duplicate errors go to e.
 * Returns 0, -EINVAL (errors recorded) or -ENOMEM. */
int pol_ini_collect(const char *text, size_t len, const char *file,
		    struct pol_ini *out, struct pol_errs *e);
void pol_ini_free(struct pol_ini *ini);

/* Read a whole file (at most POL_MAX_FILE_BYTES) into a malloc'd buffer. */
int pol_read_text(const char *path, char **text, size_t *len, struct pol_errs *e);

/* Value parsers: 0 or -EINVAL/-ERANGE. */
int pol_parse_double(const char *s, double min, double max, double *out);
int pol_parse_bool(const char *s, bool *out);
int pol_parse_cpulist(const char *s, int *cpus, int max, int *nr);

/* Resolve a profile name or path through dirs into path. */
int pol_resolve(const char *name_or_path, const char *base_dir,
		const char *const *dirs, int nr_dirs, char *path, size_t len);

#endif
