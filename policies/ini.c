/* policies: INI splitting on top of libinih, with line numbers, line-length
 * and duplicate checks that libinih does not do itself. */
#include "policies/pol_int.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pol_errs_init(struct pol_errs *e, char *buf, size_t len)
{
	e->buf = buf;
	e->len = buf ? len : 0;
	e->used = 0;
	e->count = 0;
	if (e->len)
		buf[0] = '\0';
}

void pol_err(struct pol_errs *e, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	e->count++;
	if (!e->len || e->used + 1 >= e->len)
		return;
	if (line > 0)
		n = snprintf(e->buf + e->used, e->len - e->used, "%s%s:%d: ",
			     e->used ? "\n" : "", file, line);
	else
		n = snprintf(e->buf + e->used, e->len - e->used, "%s%s: ",
			     e->used ? "\n" : "", file);
	if (n < 0 || (size_t)n >= e->len - e->used) {
		e->used = e->len - 1;
		return;
	}
	e->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= e->len - e->used)
		e->used = e->len - 1;
	else
		e->used += (size_t)n;
}

struct reader {
	const char *p, *end;
	const char *file;
	int line;
	struct pol_ini *ini;
	struct pol_errs *e;
	int oom;
};

static int add_section(struct reader *r, const char *s, size_t n)
{
	struct pol_ini *ini = r->ini;
	char name[POL_WORD_MAX];
	const char *close = memchr(s, ']', n);
	size_t len;
	int i;

	if (!close)
		return 0; /* libinih reports the syntax error */
	s++;
	while (s < close && (*s == ' ' || *s == '\t'))
		s++;
	len = (size_t)(close - s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= sizeof(name)) {
		pol_err(r->e, r->file, r->line, "section name longer than %d characters; use a known section",
			POL_WORD_MAX - 1);
		return 0;
	}
	memcpy(name, s, len);
	name[len] = '\0';
	for (i = 0; i < ini->nsec; i++) {
		if (!strcmp(ini->sec[i].name, name)) {
			pol_err(r->e, r->file, r->line,
				"duplicate section [%s] (first at line %d); merge the two", name,
				ini->sec[i].line);
			return 0;
		}
	}
	if (ini->nsec == ini->seccap) {
		int cap = ini->seccap ? ini->seccap * 2 : 8;
		void *p = realloc(ini->sec, (size_t)cap * sizeof(*ini->sec));

		if (!p)
			return -ENOMEM;
		ini->sec = p;
		ini->seccap = cap;
	}
	memcpy(ini->sec[ini->nsec].name, name, len + 1);
	ini->sec[ini->nsec++].line = r->line;
	return 0;
}

/* fgets-like: hands libinih one whole line per call, or a blank line in
 * place of one we reject, so its line count stays equal to ours. */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *nl, *s = r->p;
	size_t n, i;
	int limit = num - 3 < POL_MAX_LINE ? num - 3 : POL_MAX_LINE;

	if (r->p >= r->end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(r->end - s));
	n = (size_t)((nl ? nl : r->end) - s);
	r->p = nl ? nl + 1 : r->end;
	r->line++;
	if (n && s[n - 1] == '\r')
		n--;
	if (num < 3) {
		str[0] = '\0';
		return str;
	}
	if (n > (size_t)limit) {
		pol_err(r->e, r->file, r->line,
			"line is %zu characters, the parser takes at most %d; shorten it (shorter names, or split it with include=)",
			n, limit);
		goto blank;
	}
	if (memchr(s, '\0', n)) {
		pol_err(r->e, r->file, r->line, "NUL byte in line; save the file as text");
		goto blank;
	}
	for (i = 0; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
		;
	if (i > 0 && i < n && s[i] != ';' && s[i] != '#') {
		pol_err(r->e, r->file, r->line,
			"line starts with whitespace (continuation lines are not supported); remove the indentation");
		goto blank;
	}
	if (i < n && s[i] == '[' && add_section(r, s + i, n - i) < 0)
		r->oom = 1;
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
blank:
	str[0] = '\n';
	str[1] = '\0';
	return str;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	struct pol_ini *ini = r->ini;
	struct pol_ini_entry *en;
	int i;

	if (strlen(section) >= POL_WORD_MAX || strlen(name) >= POL_WORD_MAX) {
		pol_err(r->e, r->file, r->line, "name longer than %d characters; use a known key",
			POL_WORD_MAX - 1);
		return 1;
	}
	if (!*section) {
		pol_err(r->e, r->file, r->line,
			"key '%s' before any [section]; put it under the right section", name);
		return 1;
	}
	for (i = 0; i < ini->n; i++) {
		if (!strcmp(ini->e[i].section, section) && !strcmp(ini->e[i].key, name)) {
			pol_err(r->e, r->file, r->line,
				"duplicate key '%s' in [%s] (first at line %d); keep one", name,
				section, ini->e[i].line);
			return 1;
		}
	}
	if (ini->n >= POL_MAX_ENTRIES) {
		pol_err(r->e, r->file, r->line, "more than %d keys; split the file", POL_MAX_ENTRIES);
		return 1;
	}
	if (ini->n == ini->cap) {
		int cap = ini->cap ? ini->cap * 2 : 16;
		void *p = realloc(ini->e, (size_t)cap * sizeof(*ini->e));

		if (!p) {
			r->oom = 1;
			return 1;
		}
		ini->e = p;
		ini->cap = cap;
	}
	en = &ini->e[ini->n++];
	strcpy(en->section, section);
	strcpy(en->key, name);
	snprintf(en->value, sizeof(en->value), "%s", value);
	en->line = r->line;
	return 1;
}

int pol_ini_collect(const char *text, size_t len, const char *file,
		    struct pol_ini *out, struct pol_errs *e)
{
	struct reader r = { .p = text, .end = text + len, .file = file, .ini = out, .e = e };
	int before = e->count, rc;

	memset(out, 0, sizeof(*out));
	rc = ini_parse_stream(read_line, &r, on_value, &r);
	if (r.oom)
		return -ENOMEM;
	if (rc == -2)
		return -ENOMEM;
	if (rc > 0)
		pol_err(e, file, rc,
			"not a 'key = value' line, a [section] header or a comment; fix the syntax");
	return e->count > before ? -EINVAL : 0;
}

void pol_ini_free(struct pol_ini *ini)
{
	free(ini->e);
	free(ini->sec);
	memset(ini, 0, sizeof(*ini));
}

int pol_read_text(const char *path, char **text, size_t *len, struct pol_errs *e)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	int rc = 0;

	if (!f) {
		rc = -errno;
		pol_err(e, path, 0, "cannot open: %s; check the name and permissions", strerror(errno));
		return rc;
	}
	buf = malloc(POL_MAX_FILE_BYTES + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, POL_MAX_FILE_BYTES + 1, f);
	if (ferror(f)) {
		rc = -EIO;
		pol_err(e, path, 0, "read error; check the file");
		goto out;
	}
	if (n > POL_MAX_FILE_BYTES) {
		rc = -EFBIG;
		pol_err(e, path, 0, "larger than %d bytes; this is not a profile", POL_MAX_FILE_BYTES);
		goto out;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return rc;
}
