/* A tiny QMP client for the benchmarks (header-only, static): JSON lines over
 * QEMU's unix socket (-qmp unix:PATH,server=on,wait=off). qmp_open reads the
 * greeting and sends qmp_capabilities; qmp_cmd sends one command and returns
 * its "return" value, skipping asynchronous events. Errors: 0 or -errno, with
 * the reason in why. Every read waits at most QMP_TIMEOUT_MS. */
#ifndef AVMM_BENCH_QMP_H
#define AVMM_BENCH_QMP_H

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define QMP_TIMEOUT_MS 10000

struct qmp {
	int fd;
	char buf[1 << 16];
	size_t have;   /* bytes in buf not yet returned as a line */
};

/* One line ('\n'-terminated, the terminator replaced by NUL) into q->buf's
 * front: returns its length, or -errno. */
static inline int qmp_line(struct qmp *q, char *line, size_t len)
{
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	char *nl;
	ssize_t n;

	while (!(nl = memchr(q->buf, '\n', q->have))) {
		if (q->have == sizeof(q->buf))
			return -EMSGSIZE;
		n = poll(&p, 1, QMP_TIMEOUT_MS);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
		n = read(q->fd, q->buf + q->have, sizeof(q->buf) - q->have);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0)
			q->have += (size_t)n;
	}
	n = nl - q->buf;
	snprintf(line, len, "%.*s", (int)n, q->buf);
	q->have -= (size_t)n + 1;
	memmove(q->buf, nl + 1, q->have);
	return (int)n;
}

/* Sends cmd (a JSON object, one line) and waits for its answer: *ret gets
 * the "return" value (a new reference; NULL to drop it). */
static inline int qmp_cmd(struct qmp *q, const char *cmd, json_t **ret, char *why, size_t len)
{
	static char line[1 << 16];
	size_t off = 0, n = strlen(cmd);
	json_t *a, *r;
	ssize_t w;
	int rc;

	while (off < n) {
		w = send(q->fd, cmd + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(why, len, "QMP send %.60s: %s", cmd, strerror(errno));
			return -errno;
		}
		off += (size_t)w;
	}
	for (;;) {
		rc = qmp_line(q, line, sizeof(line));
		if (rc < 0) {
			snprintf(why, len, "QMP answer to %.60s: %s", cmd, strerror(-rc));
			return rc;
		}
		a = json_loads(line, 0, NULL);
		if (a && json_object_get(a, "event")) {
			json_decref(a);
			continue;
		}
		break;
	}
	r = a ? json_object_get(a, "return") : NULL;
	if (!r) {
		snprintf(why, len, "QMP %.60s failed: %.300s", cmd, line);
		json_decref(a);
		return -EPROTO;
	}
	if (ret)
		*ret = json_incref(r);
	json_decref(a);
	return 0;
}

/* Connects to path (retrying for up to QMP_TIMEOUT_MS while QEMU starts),
 * reads the greeting and enters command mode. */
static inline int qmp_open(struct qmp *q, const char *path, char *why, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char line[4096];
	int rc = -ENOENT, i;

	q->have = 0;
	q->fd = -1;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(why, len, "QMP socket path %.120s... is too long for a unix socket", path);
		return -ENAMETOOLONG;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	for (i = 0; i < QMP_TIMEOUT_MS / 50; i++) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			return -errno;
		if (!connect(q->fd, (struct sockaddr *)&a, sizeof(a)))
			break;
		rc = -errno;
		close(q->fd);
		q->fd = -1;
		usleep(50000);
	}
	if (q->fd < 0) {
		snprintf(why, len, "QMP connect %.200s: %s (did QEMU start, with -qmp unix:PATH?)",
			 path, strerror(-rc));
		return rc;
	}
	rc = qmp_line(q, line, sizeof(line));
	if (rc >= 0 && !strstr(line, "\"QMP\""))
		rc = -EPROTO;
	if (rc < 0) {
		snprintf(why, len, "QMP greeting on %.200s: %s", path, strerror(-rc));
		close(q->fd);
		q->fd = -1;
		return rc;
	}
	rc = qmp_cmd(q, "{\"execute\":\"qmp_capabilities\"}\n", NULL, why, len);
	if (rc) {
		close(q->fd);
		q->fd = -1;
	}
	return rc;
}

static inline void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

#endif
