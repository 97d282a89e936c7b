/* Fake migration targets for tests (migpeer.h). */
#include "tests/lib/migpeer.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

char migpeer_go;

int migpeer_accept(const int *lfd)
{
	int fd = accept(*lfd, NULL, NULL);
	char hdr[128];
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (got < sizeof(hdr) && (n = read(fd, hdr, sizeof(hdr) - got)) > 0)
		got += (size_t)n;
	(void)!write(fd, "Y", 1);
	return fd;
}

void *migpeer_silent_after_go(void *arg)
{
	int fd = migpeer_accept(arg);
	static char buf[1 << 20];
	struct pollfd p;

	migpeer_go = 0;
	if (fd < 0)
		return NULL;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&p, 1, 1000) > 0 && read(fd, buf, sizeof(buf)) > 0)
		;
	(void)!write(fd, "K", 1);
	p.revents = 0;
	if (poll(&p, 1, 5000) > 0 && read(fd, &migpeer_go, 1) != 1)
		migpeer_go = 0;
	close(fd);
	return NULL;
}
