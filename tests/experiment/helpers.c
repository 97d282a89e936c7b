/* Helpers for the experiment-runner tests. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapt/adapt.h"
#include "helpers.h"

static char tmp[256];
static char paths[8][512];
static int next_path;

void exp_need_kvm_guest(char *path, size_t len)
{
	const char *b = getenv("AVMM_BUILD");
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		cr_skip_test("no usable /dev/kvm");
	close(fd);
	snprintf(path, len, "%s/guests/compute.elf", b && *b ? b : "build");
	if (access(path, R_OK))
		cr_skip_test("%s is missing: build the guests (make BUILD=... guests)", path);
	if (path[0] != '/') {
		char cwd[256];

		if (getcwd(cwd, sizeof(cwd))) {
			char rel[256];

			snprintf(rel, sizeof(rel), "%s", path);
			snprintf(path, len, "%s/%s", cwd, rel);
		}
	}
}

const char *exp_tmpdir(void)
{
	if (!tmp[0]) {
		snprintf(tmp, sizeof(tmp), "/tmp/avmm-exp-test-XXXXXX");
		cr_assert_not_null(mkdtemp(tmp));
	}
	if (!access("policies/profiles/static.ini", R_OK))
		setenv("AVMM_PROFILE_DIR", "policies/profiles", 1);
	return tmp;
}

void exp_cleanup(void)
{
	DIR *d;
	struct dirent *e;
	char p[600];

	if (!tmp[0] || !(d = opendir(tmp)))
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", tmp, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(tmp);
	tmp[0] = 0;
}

const char *exp_write(const char *name, const char *text)
{
	char *p = paths[next_path++ % 8];
	FILE *f;

	snprintf(p, 512, "%s/%s", exp_tmpdir(), name);
	f = fopen(p, "w");
	cr_assert_not_null(f, "cannot write %s", p);
	fputs(text, f);
	fclose(f);
	return p;
}

int exp_run(char *err, size_t err_len, const char *arg, ...)
{
	char *argv[16];
	int argc = 0, saved, fd, rc;
	char errpath[600];
	const char *a;
	va_list ap;
	ssize_t n;

	argv[argc++] = (char *)"experiment";
	va_start(ap, arg);
	for (a = arg; a && argc < 15; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	snprintf(errpath, sizeof(errpath), "%s/stderr.txt", exp_tmpdir());
	fflush(stderr);
	saved = dup(2);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	dup2(fd, 2);
	close(fd);
	rc = adapt_cli_experiment(argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fd = open(errpath, O_RDONLY);
	n = fd >= 0 ? read(fd, err, err_len - 1) : 0;
	err[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	fprintf(stderr, "%s", err); /* keep it visible in the test log */
	return rc;
}

int exp_nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int exp_first_cpu(void)
{
	cpu_set_t set;
	int c;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return 0;
}

/* Field i of a CSV line (no quoted commas in our output). */
static bool field(const char *line, int i, char *out, size_t len)
{
	const char *p = line, *e;

	while (i-- > 0) {
		p = strchr(p, ',');
		if (!p)
			return false;
		p++;
	}
	e = p + strcspn(p, ",\n");
	snprintf(out, len, "%.*s", (int)(e - p), p);
	if (out[0] == '"') {
		memmove(out, out + 1, strlen(out));
		out[strcspn(out, "\"")] = 0;
	}
	return true;
}

static int column(const char *header, const char *name)
{
	char f[64];
	int i;

	for (i = 0; field(header, i, f, sizeof(f)); i++)
		if (!strcmp(f, name))
			return i;
	return -1;
}

bool exp_csv_field(const char *csv, const char *profile, const char *phase, const char *col,
		   char *out, size_t len)
{
	const char *line = strchr(csv, '\n');
	int ci = column(csv, col), cprof = column(csv, "profile"), cphase = column(csv, "phase");
	char f[128];

	if (ci < 0 || cprof < 0 || cphase < 0)
		return false;
	for (; line && line[1]; line = strchr(line + 1, '\n')) {
		const char *l = line + 1;

		if (!field(l, cphase, f, sizeof(f)) || strcmp(f, phase))
			continue;
		if (profile && (!field(l, cprof, f, sizeof(f)) || strcmp(f, profile)))
			continue;
		return field(l, ci, out, len);
	}
	return false;
}

char *exp_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&buf, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
