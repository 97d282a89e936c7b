/* The control sockets of the avmm processes running now: every NAME.sock in
 * the run folder (util_run_dir(), /run/avmm or $AVMM_RUN_DIR) that accepts a
 * connection, the node agent's agent.sock left out. A socket file that
 * refuses (left by a killed avmm) is not listed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/hoststate.h"
#include "common/util.h"
#include "vmm-core/ctl_int.h"
#include "vmm-core/vmm.h"

static bool answers(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	if (ctl_make_addr(path, &sa))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int vmm_ctl_find_running(char paths[][VMM_CTL_PATH_MAX], int max)
{
	const char *dir = util_run_dir();
	char *names[256];
	int n = 0, found = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) && n < (int)UTIL_ARRAY_SIZE(names)) {
		size_t len = strlen(e->d_name);

		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") || !strcmp(e->d_name, "agent.sock"))
			continue;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(names[0]), by_name);
	for (int i = 0; i < n; i++) {
		char path[VMM_CTL_PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < (int)sizeof(path) &&
		    answers(path)) {
			if (found < max)
				snprintf(paths[found], VMM_CTL_PATH_MAX, "%s", path);
			found++;
		}
		free(names[i]);
	}
	return found;
}

int vmm_ctl_pick_running(const char *cmd, char *path, size_t len)
{
	char found[8][VMM_CTL_PATH_MAX];
	int n = vmm_ctl_find_running(found, 8);

	if (n < 0) {
		util_err("%s: cannot list %s: %s; give --socket PATH", cmd, util_run_dir(),
			 strerror(-n));
		return n;
	}
	if (n == 0) {
		util_err("%s: no running avmm has a control socket in %s: start one with "
			 "`avmm run`, or give --socket PATH (or set AVMM_RUN_DIR)", cmd, util_run_dir());
		return -ENOENT;
	}
	if (n > 1) {
		util_err("%s: %d avmm processes are running; name one with --name VM or "
			 "--socket PATH:", cmd, n);
		for (int i = 0; i < n && i < 8; i++)
			fprintf(stderr, "  %s\n", found[i]);
		if (n > 8)
			fprintf(stderr, "  ... and %d more\n", n - 8);
		return -EEXIST;
	}
	snprintf(path, len, "%s", found[0]);
	return 0;
}
