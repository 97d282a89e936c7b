/*
 * paging-mode: per-guest hints kept between runs. The model's
 * recommendation for a guest image (the backing to start with, the host mode
 * for the next run and the sentence that says why) is kept in
 * <dir>/hint-<hash>, hash = 64-bit FNV-1a of the image's bytes (16 hex
 * digits), as key=value lines:
 *   image=0123456789abcdef
 *   backing=2m
 *   mode=nested
 *   recommend=measured shadow-paging overhead 12%; ...
 *   date=2026-11-26T13:10:40Z
 * Written to a temporary file and renamed, so a reader never sees half a
 * hint. On an error, pgmode_hint_load leaves the reason in out->recommend.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/pgmode.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

int pgmode_image_hash(const char *path, char out[17])
{
	unsigned char buf[65536];
	uint64_t h = FNV_OFFSET;
	ssize_t n, i;
	int fd, err = 0;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			h ^= buf[i];
			h *= FNV_PRIME;
		}
	}
	close(fd);
	if (!err)
		snprintf(out, 17, "%016llx", (unsigned long long)h);
	return err;
}

/* 16 lower-case hex digits: nothing else becomes part of a path. */
static bool hash_ok(const char *hash)
{
	int i;

	for (i = 0; i < 16; i++)
		if (!((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f')))
			return false;
	return hash[16] == '\0';
}

static int hint_path(const char *dir, const char *hash, const char *prefix, char *out, size_t len)
{
	if (!dir || !*dir || !hash || !hash_ok(hash))
		return -EINVAL;
	return util_fmt(out, len, "%s/%shint-%s", dir, prefix, hash);
}

static int parse_line(char *line, struct pgmode_hint *out)
{
	char *eq = strchr(line, '='), *v;
	size_t n = strcspn(line, "\r\n");

	line[n] = '\0';
	if (!n || line[0] == '#')
		return 0;
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	v = eq + 1;
	if (!strcmp(line, "backing"))
		return pgmode_page_parse(v, &out->backing);
	if (!strcmp(line, "mode")) {
		out->mode = !strcmp(v, "nested") ? PGMODE_MODE_NESTED :
			    !strcmp(v, "shadow") ? PGMODE_MODE_SHADOW : PGMODE_MODE_UNKNOWN;
		return 0;
	}
	if (!strcmp(line, "recommend"))
		snprintf(out->recommend, sizeof(out->recommend), "%s", v);
	return 0; /* image, date and keys of later versions */
}

int pgmode_hint_load(const char *dir, const char *image_hash, struct pgmode_hint *out)
{
	char path[4096], line[512];
	int rc, lineno = 0;
	FILE *f;

	memset(out, 0, sizeof(*out));
	out->mode = PGMODE_MODE_UNKNOWN;
	rc = hint_path(dir, image_hash, "", path, sizeof(path));
	if (rc) {
		snprintf(out->recommend, sizeof(out->recommend), "bad hint directory or image hash");
		return rc;
	}
	snprintf(out->image_hash, sizeof(out->image_hash), "%s", image_hash);
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		snprintf(out->recommend, sizeof(out->recommend), "%s %.150s",
			 rc == -ENOENT ? "no hint for this guest image yet:" : strerror(-rc), path);
		return rc;
	}
	while (!rc && fgets(line, sizeof(line), f)) {
		lineno++;
		rc = parse_line(line, out);
	}
	fclose(f);
	if (rc)
		snprintf(out->recommend, sizeof(out->recommend), "%.140s:%d: not key=value, or a bad backing",
			 path, lineno);
	return rc;
}

/* mkdir -p, 0755. */
static int make_dirs(const char *dir)
{
	char p[4096];
	size_t i;

	if (util_fmt(p, sizeof(p), "%s", dir))
		return -ENAMETOOLONG;
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int pgmode_hint_save(const char *dir, const struct pgmode_hint *h)
{
	char path[4096], tmp[4096], rec[PGMODE_WHY], date[32], why[256];
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;
	size_t i;
	int rc;

	if (!h || hint_path(dir, h->image_hash, "", path, sizeof(path)) ||
	    hint_path(dir, h->image_hash, ".", tmp, sizeof(tmp)) ||
	    (h->backing != PGMODE_PAGE_KEEP && h->backing != PGMODE_PAGE_4K && h->backing != PGMODE_PAGE_2M))
		return -EINVAL;
	rc = make_dirs(dir);
	if (rc)
		return rc;
	snprintf(rec, sizeof(rec), "%s", h->recommend);
	for (i = 0; rec[i]; i++)
		if (rec[i] == '\n' || rec[i] == '\r')
			rec[i] = ' ';
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	f = util_fopen_output(tmp, why, sizeof(why));
	if (!f)
		return -errno;
	fprintf(f, "image=%s\nbacking=%s\nmode=%s\nrecommend=%s\ndate=%s\n", h->image_hash,
		pgmode_page_name(h->backing), pgmode_mode_name(h->mode), rec, date);
	rc = fflush(f) || ferror(f) ? -EIO : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
