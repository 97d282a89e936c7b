/* Migration addresses (vmm.h): unix:PATH or tcp:HOST:PORT (HOST: an IPv4
 * address or name, [IPv6] in brackets); the target listens, the source
 * connects. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm-core/vmm.h"

int vmm_migrate_addr_parse(const char *addr, struct vmm_migrate_addr *out, char *why, size_t len)
{
	const char *colon;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (!strncmp(addr, "unix:", 5) && addr[5] && strlen(addr + 5) < sizeof(out->path)) {
		out->unix_path = true;
		snprintf(out->path, sizeof(out->path), "%s", addr + 5);
		return 0;
	}
	if (!strncmp(addr, "tcp:", 4) && (colon = strrchr(addr + 4, ':')) && colon[1] &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) && strlen(colon + 1) <= 5) {
		const char *h = addr + 4;

		hl = (size_t)(colon - h);
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
			h++, hl -= 2;
		if (hl && hl < sizeof(out->host)) {
			memcpy(out->host, h, hl);
			snprintf(out->port, sizeof(out->port), "%s", colon + 1);
			return 0;
		}
	}
	snprintf(why, len, "migration address '%s': give unix:PATH (under %zu bytes) or "
		 "tcp:HOST:PORT (e.g. tcp:127.0.0.1:4444)", addr, sizeof(out->path));
	return -EINVAL;
}

static int open_sock(const char *addr, bool listening, char *why, size_t len)
{
	struct vmm_migrate_addr a;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = listening ? AI_PASSIVE : 0 };
	struct addrinfo *res = NULL, *ai;
	int rc = vmm_migrate_addr_parse(addr, &a, why, len), fd = -1, one = 1;

	if (rc)
		return rc;
	if (a.unix_path) {
		struct sockaddr_un su = { .sun_family = AF_UNIX };

		snprintf(su.sun_path, sizeof(su.sun_path), "%s", a.path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto err;
		if (listening)
			unlink(a.path);
		if (listening ? bind(fd, (void *)&su, sizeof(su)) || listen(fd, 1)
			      : connect(fd, (void *)&su, sizeof(su)))
			goto err;
		return fd;
	}
	if ((rc = getaddrinfo(a.host, a.port, &hints, &res))) {
		snprintf(why, len, "%s: %s", addr, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (listening ? !bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 1)
			      : !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
err:
	rc = -errno;
	snprintf(why, len, "%s %s: %s", listening ? "listening on" : "connecting to", addr,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int vmm_migrate_listen(const char *addr, char *why, size_t len)
{
	return open_sock(addr, true, why, len);
}

int vmm_migrate_connect(const char *addr, char *why, size_t len)
{
	return open_sock(addr, false, why, len);
}
