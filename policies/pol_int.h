/* policies: internals shared by the files of this module (not public). */
#ifndef AVMM_POL_INT_H
#define AVMM_POL_INT_H

#include <limits.h>
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
/* A whole number in min..max (written as a number: "4", "4.0"). */
int pol_parse_int(const char *s, int min, int max, int *out);
/* s as the index of one of names (any case; NULL-terminated, in enum order). */
int pol_parse_word(const char *s, const char *const *names, int *out);
int pol_parse_cpulist(const char *s, int *cpus, int max, int *nr);

/* Resolve a profile name or path through dirs into path. */
int pol_resolve(const char *name_or_path, const char *base_dir,
		const char *const *dirs, int nr_dirs, char *path, size_t len);

/* ---- experiment files (experiment*.c) ---- */
struct pol_exp_ctx {
	const char *file;
	char dir[POL_PATH_MAX];
	struct pol_errs *e;
	struct pol_experiment *x;
	int line_of_profile, line_of_compare, line_of_duration, line_of_guest;
	int phase_line[POL_EXP_MAX_PHASES][2]; /* line of at_s, line of profile */
};

/* One key of [experiment], [output] or [phase.N] (slot: the phase's index
 * in x->phase): 0, -ENOENT (unknown key) or -EINVAL/-ERANGE (bad value). */
int pol_exp_set_experiment(struct pol_exp_ctx *c, const struct pol_ini_entry *en);
int pol_exp_set_output(struct pol_exp_ctx *c, const struct pol_ini_entry *en);
int pol_exp_set_phase(struct pol_exp_ctx *c, struct pol_exp_phase *ph, int slot,
		      const struct pol_ini_entry *en);
/* Checks across keys and phases (errors to c->e); sorts the phases by
 * time. dirs: where named profiles are loaded from, NULL: not checked. */
void pol_exp_validate(struct pol_exp_ctx *c, const char *const *dirs, int nr_dirs);

/* ---- loading a profile (profile*.c) ---- */
struct pol_load_ctx {
	const char *const *dirs;
	int nr_dirs;
	struct pol_errs *e;
	char chain[POL_MAX_INCLUDE_DEPTH + 1][PATH_MAX]; /* canonical paths */
	int depth;
};

/* Load one file (text: its contents, NULL: read path) and its includes
 * into p (profile.c). 0, -EINVAL (errors recorded), -ELOOP, -ENOMEM. */
int pol_load_file(struct pol_load_ctx *c, const char *path, const char *text, size_t len,
		  struct pol_profile *p);
/* One `include = ...` entry of file: resolve and load it (profile_include.c). */
int pol_include(struct pol_load_ctx *c, const char *file, const struct pol_ini_entry *inc,
		struct pol_profile *p);
/* "dir1, dir2" or "(no folders)" for messages. */
void pol_dirs_list(const char *const *dirs, int n, char *out, size_t len);
/* The file's entries except include, through the key table; the origin of
 * each key set is (file_idx, line) (profile_apply.c). 0 or -EINVAL. */
int pol_profile_apply(struct pol_errs *e, const char *file, const struct pol_ini *ini,
		      int file_idx, struct pol_profile *p);
/* Checks across keys (profile_check.c): 0 or -EINVAL (errors to e). */
int pol_profile_check(const struct pol_profile *p, struct pol_errs *e);
/* cli_ctl_snapshot.c: `avmm ctl ... snapshot FILE`; the exit status. */
int pol_cli_ctl_snapshot(const char *socket_path, const char *file, bool as_json);
/* `avmm ctl migrate unix:PATH|tcp:HOST:PORT` (cli_ctl_migrate.c). */
int pol_cli_ctl_migrate(const char *socket_path, const char *addr, bool as_json);

#endif
