#include "fake.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

char *fake_root(void)
{
	char *t = strdup("/tmp/avmm-energy-XXXXXX");

	cr_assert(t && mkdtemp(t), "mkdtemp failed");
	return t;
}

char *root;
struct energy_src *src;
struct energy_reading rd;

void fake_teardown(void)
{
	energy_close(src);
	src = NULL;
	fake_cleanup(root);
	root = NULL;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

void fake_cleanup(char *root)
{
	if (root && !strncmp(root, "/tmp/avmm-energy-", 17))
		nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

static void mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
}

void fake_write(const char *root, const char *rel, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdirs(path);
	f = fopen(path, "w");
	cr_assert(f, "cannot create %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

void fake_zone(const char *root, const char *id, const char *name, uint64_t energy_uj,
	       uint64_t range_uj)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/name", id);
	fake_write(root, rel, "%s\n", name);
	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/max_energy_range_uj", id);
	fake_write(root, rel, "%llu\n", (unsigned long long)range_uj);
	fake_set_energy(root, id, energy_uj);
}

void fake_set_energy(const char *root, const char *id, uint64_t energy_uj)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "sys/class/powercap/%s/energy_uj", id);
	fake_write(root, rel, "%llu\n", (unsigned long long)energy_uj);
}

void fake_constraint(const char *root, const char *id, int n, const char *name,
		     uint64_t limit_uw, uint64_t window_us, uint64_t min_uw, uint64_t max_uw)
{
	char rel[256];

#define W(file, ...) do { \
		snprintf(rel, sizeof(rel), "sys/class/powercap/%s/constraint_%d_" file, id, n); \
		fake_write(root, rel, __VA_ARGS__); \
	} while (0)
	W("name", "%s\n", name);
	W("power_limit_uw", "%llu\n", (unsigned long long)limit_uw);
	W("time_window_us", "%llu\n", (unsigned long long)window_us);
	if (min_uw)
		W("min_power_uw", "%llu\n", (unsigned long long)min_uw);
	if (max_uw)
		W("max_power_uw", "%llu\n", (unsigned long long)max_uw);
	W("min_time_window_us", "%d\n", 1000);
	W("max_time_window_us", "%d\n", 1000000);
#undef W
}

uint64_t fake_read_u64(const char *root, const char *rel)
{
	char buf[64];
	uint64_t v = 0;
	int rc = util_read_file(root, rel, buf, sizeof(buf));

	cr_assert(rc > 0, "cannot read %s/%s", root, rel);
	cr_assert(!util_parse_u64(buf, &v), "%s/%s holds '%s'", root, rel, buf);
	return v;
}

static int f_read(void *c, const char *root, const char *path, char *buf, size_t len)
{
	struct fake_ctx *x = c;

	if (x->deny && strstr(path, x->deny))
		return -x->deny_err;
	return energy_real_ops.read_file(NULL, root, path, buf, len);
}

static int f_write(void *c, const char *root, const char *path, const char *text)
{
	struct fake_ctx *x = c;

	if (x->deny_write && strstr(path, x->deny_write))
		return -EACCES;
	return energy_real_ops.write_file(NULL, root, path, text);
}

static int f_perf_open(void *c, uint32_t type, uint64_t config, int cpu)
{
	struct fake_ctx *x = c;

	if (x->perf_open_err)
		return x->perf_open_err;
	cr_assert(x->nfds < FAKE_MAX_FDS);
	return x->nfds++;
}

static int f_perf_read(void *c, int fd, uint64_t *count)
{
	struct fake_ctx *x = c;

	cr_assert(fd >= 0 && fd < x->nfds, "bad fake fd %d", fd);
	*count = x->count[fd];
	return 0;
}

static void f_perf_close(void *c, int fd)
{
}

static void f_sleep(void *c, uint64_t ns)
{
	struct fake_ctx *x = c;

	x->sleeps++;
	for (int i = 0; i < FAKE_MAX_FDS; i++)
		x->count[i] += x->step;
}

struct energy_ops fake_ops(struct fake_ctx *ctx)
{
	struct energy_ops o = {
		.read_file = f_read, .write_file = f_write, .perf_open = f_perf_open,
		.perf_read = f_perf_read, .perf_close = f_perf_close, .sleep_ns = f_sleep,
		.ctx = ctx,
	};
	return o;
}
