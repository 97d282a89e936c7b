/* Control socket, client side: one request line out, one answer line in,
 * with a deadline (a server that stalls cannot hang `avmm stat` or `ctl`). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/ctl_int.h"

#define CTL_CALL_TIMEOUT_MS 10000

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd p = { fd, events, 0 };
	uint64_t now = util_now_ns();
	int n;

	if (now >= deadline_ns)
		return -ETIMEDOUT;
	n = poll(&p, 1, (int)((deadline_ns - now) / 1000000) + 1);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *buf, size_t len, uint64_t deadline_ns)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n < 0) {
			int rc = wait_fd(fd, POLLOUT, deadline_ns);

			if (rc)
				return rc;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_line(int fd, char **answer, uint64_t deadline_ns)
{
	size_t have = 0, cap = 4096;
	char *buf = malloc(cap), *bigger;
	int rc = 0;

	while (buf) {
		ssize_t n = recv(fd, buf + have, cap - have - 1, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			rc = wait_fd(fd, POLLIN, deadline_ns);
			if (rc)
				break;
			continue;
		}
		if (n <= 0) {
			rc = n < 0 ? -errno : -EPROTO;
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (memchr(buf, '\n', have))
			break;
		if (have + 1 == cap) {
			bigger = realloc(buf, cap * 2);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	if (!buf || rc || !memchr(buf, '\n', have)) {
		free(buf);
		return buf ? (rc ? rc : -EPROTO) : -ENOMEM;
	}
	*strchr(buf, '\n') = '\0';
	*answer = buf;
	return 0;
}

static int call(const char *path, const char *request_json, int pass_fd, char **answer);

int vmm_ctl_call(const char *path, const char *request_json, char **answer)
{
	return call(path, request_json, -1, answer);
}

int vmm_ctl_call_fd(const char *path, const char *request_json, int fd, char **answer)
{
	return request_json && *request_json && fd >= 0 ? call(path, request_json, fd, answer)
							: -EINVAL;
}

static int call(const char *path, const char *request_json, int pass_fd, char **answer)
{
	uint64_t deadline = util_now_ns() + CTL_CALL_TIMEOUT_MS * 1000000ull;
	struct sockaddr_un sa;
	int fd, rc;

	rc = ctl_make_addr(path, &sa);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (void *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	if (!request_json)
		goto out;
	if (pass_fd >= 0 && ctl_send_fd(fd, request_json++, pass_fd) != 1) {
		rc = -errno;
		goto out;
	}
	rc = send_all(fd, request_json, strlen(request_json), deadline);
	if (!rc)
		rc = send_all(fd, "\n", 1, deadline);
	if (!rc)
		rc = read_line(fd, answer, deadline);
out:
	close(fd);
	return rc;
}
