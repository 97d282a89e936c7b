#include "tests/lib/httpget.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int http_get(int port, const char *path, char **body, char *ctype, int ctype_len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	char req[4096], *buf = NULL, *p;
	size_t len = 0, cap = 0;
	int fd, code = 0;
	ssize_t n;

	*body = NULL;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (void *)&a, sizeof(a))) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		return e;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return -errno;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -EIO;
	buf[len] = 0;
	sscanf(buf, "HTTP/1.%*d %d", &code);
	if (ctype) {
		ctype[0] = 0;
		p = strcasestr(buf, "\r\nContent-Type: ");
		if (p)
			snprintf(ctype, (size_t)ctype_len, "%.*s", (int)strcspn(p + 16, "\r"), p + 16);
	}
	p = strstr(buf, "\r\n\r\n");
	*body = strdup(p ? p + 4 : "");
	free(buf);
	return code;
}
