#include "promcheck.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXF 512
#define MAXS 8192

struct fam {
	char name[128];
	char type[16];
	bool help, typed, has_samples, closed;
};

struct st {
	struct fam f[MAXF];
	int nf, cur;             /* cur: family of the last sample, -1 none */
	char *series[MAXS];      /* name{sorted labels} seen */
	int ns;
	int line;
	char *err;
	size_t elen;
};

static int fail(struct st *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct st *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->err, s->elen, "line %d: ", s->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < s->elen)
		vsnprintf(s->err + n, s->elen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool metric_name(const char *p, size_t n)
{
	if (!n || !(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':'))
			return false;
	return true;
}

static bool label_name(const char *p, size_t n)
{
	if (!n || !(isalpha((unsigned char)p[0]) || p[0] == '_'))
		return false;
	if (n >= 2 && p[0] == '_' && p[1] == '_')
		return false;    /* reserved */
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)p[i]) || p[i] == '_'))
			return false;
	return true;
}

static int find(struct st *s, const char *name, size_t n, bool create)
{
	for (int i = 0; i < s->nf; i++)
		if (strlen(s->f[i].name) == n && !strncmp(s->f[i].name, name, n))
			return i;
	if (!create || s->nf == MAXF || n >= sizeof(s->f[0].name))
		return -1;
	memset(&s->f[s->nf], 0, sizeof(s->f[0]));
	memcpy(s->f[s->nf].name, name, n);
	return s->nf++;
}

/* Go's strconv.ParseFloat subset the format allows. */
static bool parse_float(const char *p, const char **end)
{
	char *e;

	if (!strncmp(p, "NaN", 3) || !strncmp(p, "+Inf", 4) || !strncmp(p, "-Inf", 4)) {
		*end = p + (p[0] == 'N' ? 3 : 4);
		return true;
	}
	if (!(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
		return false;
	errno = 0;
	strtod(p, &e);
	if (e == p || errno == ERANGE)
		return false;
	/* reject hex floats and "inf"/"nan" spellings strtod takes */
	for (const char *q = p; q < e; q++)
		if (!(isdigit((unsigned char)*q) || strchr("+-.eE", *q)))
			return false;
	*end = e;
	return true;
}

static int comment(struct st *s, const char *p)
{
	bool help = !strncmp(p, "# HELP ", 7), type = !strncmp(p, "# TYPE ", 7);
	const char *n, *e;
	int fi;

	if (!help && !type)
		return 0;    /* plain comment */
	n = p + 7;
	for (e = n; *e && *e != ' '; e++)
		;
	if (!metric_name(n, (size_t)(e - n)))
		return fail(s, "bad metric name in %s", help ? "HELP" : "TYPE");
	fi = find(s, n, (size_t)(e - n), true);
	if (fi < 0)
		return fail(s, "too many families");
	if (s->f[fi].has_samples)
		return fail(s, "%s for %s after its samples", help ? "HELP" : "TYPE", s->f[fi].name);
	if (help) {
		if (s->f[fi].help)
			return fail(s, "second HELP for %s", s->f[fi].name);
		s->f[fi].help = true;
		if (*e != ' ' || !e[1])
			return fail(s, "empty HELP for %s", s->f[fi].name);
		for (const char *q = e + 1; *q; q++)
			if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
				return fail(s, "bad escape in HELP");
			else if (*q == '\\')
				q++;
		return 0;
	}
	if (s->f[fi].typed)
		return fail(s, "second TYPE for %s", s->f[fi].name);
	if (*e != ' ')
		return fail(s, "TYPE without type");
	e++;
	if (strcmp(e, "counter") && strcmp(e, "gauge") && strcmp(e, "histogram") &&
	    strcmp(e, "summary") && strcmp(e, "untyped"))
		return fail(s, "unknown type '%s'", e);
	snprintf(s->f[fi].type, sizeof(s->f[fi].type), "%s", e);
	s->f[fi].typed = true;
	if (!strcmp(e, "counter") && (strlen(s->f[fi].name) < 6 ||
	    strcmp(s->f[fi].name + strlen(s->f[fi].name) - 6, "_total")))
		return fail(s, "counter %s does not end in _total", s->f[fi].name);
	return 0;
}

/* The family a sample name belongs to (suffixes for histogram/summary). */
static int label_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int family_of(struct st *s, const char *n, size_t len)
{
	static const char *const suf[] = { "_bucket", "_sum", "_count" };
	int fi = find(s, n, len, false);

	if (fi >= 0)
		return fi;
	for (int i = 0; i < 3; i++) {
		size_t sl = strlen(suf[i]);

		if (len > sl && !strncmp(n + len - sl, suf[i], sl)) {
			fi = find(s, n, len - sl, false);
			if (fi >= 0 && (!strcmp(s->f[fi].type, "histogram") ||
					(!strcmp(s->f[fi].type, "summary") && i > 0)))
				return fi;
		}
	}
	return -1;
}

static int sample(struct st *s, const char *p)
{
	const char *n = p, *q;
	char labels[32][256], key[1024];
	int nl = 0, fi;
	size_t off;

	while (*p && *p != '{' && *p != ' ')
		p++;
	if (!metric_name(n, (size_t)(p - n)))
		return fail(s, "bad metric name");
	fi = family_of(s, n, (size_t)(p - n));
	if (fi < 0)
		return fail(s, "sample %.*s without HELP/TYPE", (int)(p - n), n);
	if (!s->f[fi].help || !s->f[fi].typed)
		return fail(s, "%s lacks %s", s->f[fi].name, s->f[fi].help ? "TYPE" : "HELP");
	if (s->f[fi].closed)
		return fail(s, "samples of %s are not together", s->f[fi].name);
	if (s->cur >= 0 && s->cur != fi)
		s->f[s->cur].closed = true;
	s->cur = fi;
	s->f[fi].has_samples = true;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			const char *ln = p;
			size_t o = 0;

			while (*p && *p != '=')
				p++;
			if (!label_name(ln, (size_t)(p - ln)))
				return fail(s, "bad label name");
			if (nl == 32)
				return fail(s, "too many labels");
			o = (size_t)snprintf(labels[nl], sizeof(labels[0]), "%.*s=", (int)(p - ln), ln);
			if (p[1] != '"')
				return fail(s, "label value not quoted");
			for (p += 2; *p != '"'; p++) {
				if (!*p)
					return fail(s, "unterminated label value");
				if (*p == '\\') {
					if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
						return fail(s, "bad escape in label value");
					p++;
				}
				if (o + 2 < sizeof(labels[0]))
					labels[nl][o++] = *p;
			}
			labels[nl][o] = 0;
			for (int i = 0; i < nl; i++)
				if (!strncmp(labels[i], ln, (size_t)(strchr(ln, '=') - ln) + 1))
					return fail(s, "duplicate label");
			nl++;
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return fail(s, "expected , or } after label");
		}
		p++;
	}
	if (*p != ' ')
		return fail(s, "expected a space before the value");
	p++;
	if (!parse_float(p, &q))
		return fail(s, "bad value '%s'", p);
	if (!strcmp(s->f[fi].type, "counter") && (*p == '-' || *p == 'N'))
		return fail(s, "negative or NaN counter");
	if (*q == ' ') {
		char *e;

		q++;
		strtoll(q, &e, 10);
		if (e == q || *e)
			return fail(s, "bad timestamp");
	} else if (*q) {
		return fail(s, "junk after the value");
	}
	/* duplicate series: name + sorted labels */
	qsort(labels, (size_t)nl, sizeof(labels[0]), label_cmp);
	off = (size_t)snprintf(key, sizeof(key), "%.*s", (int)strcspn(n, "{ "), n);
	for (int i = 0; i < nl && off < sizeof(key); i++)
		off += (size_t)snprintf(key + off, sizeof(key) - off, "|%s", labels[i]);
	for (int i = 0; i < s->ns; i++)
		if (!strcmp(s->series[i], key))
			return fail(s, "duplicate series %s", key);
	if (s->ns < MAXS)
		s->series[s->ns++] = strdup(key);
	return 0;
}

int promcheck(const char *text, char *err, size_t err_len)
{
	struct st *s = calloc(1, sizeof(*s));
	const char *p = text;
	int rc = 0;

	if (!s)
		return -1;
	s->err = err;
	s->elen = err_len;
	s->cur = -1;
	err[0] = 0;
	if (!*text) {
		snprintf(err, err_len, "empty exposition");
		rc = -1;
	} else if (text[strlen(text) - 1] != '\n') {
		snprintf(err, err_len, "last line does not end with a newline");
		rc = -1;
	}
	while (!rc && *p) {
		const char *nl = strchr(p, '\n');
		char line[4096];
		size_t n = (size_t)(nl - p);

		s->line++;
		if (n >= sizeof(line)) {
			rc = fail(s, "line too long");
			break;
		}
		memcpy(line, p, n);
		line[n] = 0;
		if (memchr(line, '\r', n) || memchr(line, '\t', n))
			rc = fail(s, "CR or TAB in line");
		else if (!n)
			;
		else if (line[0] == '#')
			rc = comment(s, line);
		else
			rc = sample(s, line);
		p = nl + 1;
	}
	for (int i = 0; i < s->ns; i++)
		free(s->series[i]);
	free(s);
	return rc;
}

int promcheck_count(const char *text, const char *name)
{
	size_t n = strlen(name);
	int c = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == '{' || p[n] == ' '))
			c++;
	return c;
}
