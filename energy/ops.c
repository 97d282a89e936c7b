/* energy: the real I/O behind struct energy_ops, and /proc/stat. */
#include "energy/energy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"

static int real_read(void *ctx, const char *root, const char *path, char *buf, size_t len)
{
	return util_read_file(root, path, buf, len);
}

static int real_write(void *ctx, const char *root, const char *path, const char *text)
{
	return util_write_file(root, path, text);
}

static int real_perf_open(void *ctx, uint32_t type, uint64_t config, int cpu)
{
	struct perf_event_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = config;
	fd = syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static int real_perf_read(void *ctx, int fd, uint64_t *count)
{
	ssize_t n = read(fd, count, sizeof(*count));

	if (n < 0)
		return -errno;
	return n == sizeof(*count) ? 0 : -EIO;
}

static void real_perf_close(void *ctx, int fd)
{
	close(fd);
}

static void real_sleep(void *ctx, uint64_t ns)
{
	util_sleep_ns(ns);
}

const struct energy_ops energy_real_ops = {
	.read_file = real_read,
	.write_file = real_write,
	.perf_open = real_perf_open,
	.perf_read = real_perf_read,
	.perf_close = real_perf_close,
	.sleep_ns = real_sleep,
};

int energy_read_host_cpu_ns(const char *fsroot, uint64_t *busy_ns, uint64_t *total_ns)
{
	char buf[512];
	uint64_t busy, total;
	long hz = sysconf(_SC_CLK_TCK);
	int rc;

	rc = util_read_file(fsroot, "/proc/stat", buf, sizeof(buf));
	if (rc < 0)
		return rc;
	rc = energy_parse_proc_stat(buf, &busy, &total);
	if (rc)
		return rc;
	if (hz <= 0)
		hz = 100;
	*busy_ns = busy * (1000000000ull / (uint64_t)hz);
	*total_ns = total * (1000000000ull / (uint64_t)hz);
	return 0;
}
