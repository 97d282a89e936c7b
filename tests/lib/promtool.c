/* `promtool check metrics` reads the exposition on its standard input and
 * prints what it refuses (format errors and lint problems, exit status 1). */
#include "tests/lib/promtool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int promtool_check(const char *text, char *out, size_t len)
{
	char in[] = "/tmp/avmm-promtool-in-XXXXXX", res[] = "/tmp/avmm-promtool-out-XXXXXX";
	char cmd[256];
	size_t n, w;
	int fd, st, rc;
	FILE *f;

	out[0] = 0;
	if (access(PROMTOOL, X_OK)) {
		snprintf(out, len, "no %s (Debian package prometheus)", PROMTOOL);
		return -ENOENT;
	}
	fd = mkstemp(in);
	if (fd < 0)
		return -errno;
	n = strlen(text);
	w = (size_t)write(fd, text, n);
	close(fd);
	fd = mkstemp(res);
	if (w != n || fd < 0) {
		unlink(in);
		return -EIO;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s > %s 2>&1", PROMTOOL, in, res);
	st = system(cmd);
	f = fopen(res, "r");
	n = f ? fread(out, 1, len - 1, f) : 0;
	out[n] = 0;
	if (f)
		fclose(f);
	unlink(in);
	unlink(res);
	if (st < 0 || !WIFEXITED(st))
		return -ECHILD;
	rc = WEXITSTATUS(st);
	return rc == 0 ? 0 : rc == 1 ? 1 : -EPROTO;
}
