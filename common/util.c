#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

UTIL_HOT uint64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

UTIL_HOT uint64_t util_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const volatile uint32_t *util_rseq_cpu_id(void)
{
	const struct rseq *r = (const void *)((char *)__builtin_thread_pointer() + __rseq_offset);

	if (__rseq_size < offsetof(struct rseq, cpu_id) + sizeof(r->cpu_id))
		return NULL;
	return &r->cpu_id;
}

UTIL_HOT int util_rseq_cpu(const volatile uint32_t *cpu_id)
{
	uint32_t cpu = cpu_id ? *cpu_id : UINT32_MAX;

	return cpu < (1u << 31) ? (int)cpu : -1;
}

void util_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int util_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int util_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int util_parse_size(const char *s, uint64_t *bytes)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (shift) {
		end++;
		if (toupper((unsigned char)*end) == 'I')
			end++;
		if (toupper((unsigned char)*end) == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (ULLONG_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

uint64_t util_counter_delta(uint64_t prev, uint64_t cur, uint64_t range)
{
	if (cur >= prev)
		return cur - prev;
	if (range == 0)
		return cur - prev; /* unsigned 64-bit wrap */
	if (prev >= range)     /* prev outside the range: treat as reset */
		return cur;
	return (range - prev) + cur;
}

int util_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int util_path(char *out, size_t out_len, const char *root, const char *path)
{
	if (!root || !*root || !strcmp(root, "/"))
		root = "";
	while (*path == '/' && *root)
		path++;
	return util_fmt(out, out_len, "%s%s%s", root, *root ? "/" : "", path);
}

static int open_under(const char *root, const char *path, int flags)
{
	char full[PATH_MAX];
	int rc = util_path(full, sizeof(full), root, path), fd;

	if (rc)
		return rc;
	fd = open(full, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int util_read_file(const char *root, const char *path, char *buf, size_t len)
{
	int fd = open_under(root, path, O_RDONLY), rc;
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, buf, len - 1);
	rc = n < 0 ? -errno : (int)n;
	close(fd);
	if (rc >= 0)
		buf[rc] = '\0';
	return rc;
}

/* O_TRUNC: a regular file (a fake tree) ends up holding exactly the text;
 * sysfs ignores the truncation. */
int util_write_file(const char *root, const char *path, const char *text)
{
	int fd = open_under(root, path, O_WRONLY | O_TRUNC), rc;
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = write(fd, text, len);
	rc = n < 0 ? -errno : ((size_t)n == len ? 0 : -EIO);
	close(fd);
	return rc;
}

static bool may_follow(const char *path)
{
	return !strncmp(path, "/dev/", 5) && strncmp(path, "/dev/shm/", 9);
}

int util_open_output(const char *path, char *why, size_t why_len)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, fd, err;
	struct stat st;

	if (!may_follow(path))
		flags |= O_NOFOLLOW;
	fd = open(path, flags, 0644);
	if (fd < 0) {
		err = -errno;
		if (err == -ELOOP)
			util_fmt(why, why_len, "%s is a symbolic link: avmm does not write "
				 "through links; give the real path", path);
		else
			util_fmt(why, why_len, "%s: cannot open for writing: %s", path,
				 strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		util_fmt(why, why_len, "%s: %s", path, strerror(-err));
		goto fail;
	}
	if (!S_ISREG(st.st_mode))
		return fd;
	if (st.st_uid != geteuid()) {
		err = -EPERM;
		util_fmt(why, why_len, "%s belongs to uid %u, not to this avmm (uid %u): "
			 "refusing to overwrite it; remove it or give another path", path,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_nlink > 1) {
		err = -EMLINK;
		util_fmt(why, why_len, "%s has %lu hard links: refusing to overwrite it; "
			 "remove it or give another path", path, (unsigned long)st.st_nlink);
		goto fail;
	}
	if (ftruncate(fd, 0) < 0) {
		err = -errno;
		util_fmt(why, why_len, "%s: cannot truncate: %s", path, strerror(-err));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

FILE *util_fopen_output(const char *path, char *why, size_t why_len)
{
	int fd = util_open_output(path, why, why_len);
	FILE *f;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		int err = errno;

		util_fmt(why, why_len, "%s: %s", path, strerror(err));
		close(fd);
		errno = err;
	}
	return f;
}
