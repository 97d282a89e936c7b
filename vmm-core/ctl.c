/* Control socket: one JSON request per line in, one JSON answer per line out. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "vmm-core/vmm.h"

#define CTL_MAX_CMDS 32
#define CTL_LINE_MAX 65536

struct vmm_ctl {
	int listen_fd, wake[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_t thread;
	pthread_mutex_t lock;
	int nr;
	struct { char name[32]; vmm_ctl_fn fn; void *arg; } cmd[CTL_MAX_CMDS];
};

int vmm_ctl_default_path(const char *vm_name, char *out, size_t len)
{
	const char *dir = getenv("AVMM_RUN_DIR");

	return util_fmt(out, len, "%s/%s.sock", dir && *dir ? dir : "/run/avmm",
			vm_name && *vm_name ? vm_name : "avmm");
}

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		util_err("control socket path %s is longer than %zu bytes", path,
			 sizeof(sa->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

static char *error_json(const char *msg)
{
	json_t *o = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

static char *dispatch(struct vmm_ctl *ctl, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr);
	const char *name = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
	char *answer = NULL, msg[320];
	int i, err = 0;

	if (!name) {
		snprintf(msg, sizeof(msg), "expected {\"cmd\":\"NAME\",...}: %s",
			 req ? "no \"cmd\" string" : jerr.text);
		answer = error_json(msg);
		goto out;
	}
	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < ctl->nr; i++)
		if (!strcmp(ctl->cmd[i].name, name))
			break;
	pthread_mutex_unlock(&ctl->lock);
	if (i == ctl->nr) {
		snprintf(msg, sizeof(msg), "unknown command '%s'", name);
		answer = error_json(msg);
		goto out;
	}
	answer = ctl->cmd[i].fn(line, ctl->cmd[i].arg, &err);
	if (!answer) {
		snprintf(msg, sizeof(msg), "%s: %s", name, strerror(err ? err : EIO));
		answer = error_json(msg);
	}
out:
	json_decref(req);
	return answer;
}

static void serve_client(struct vmm_ctl *ctl, int fd)
{
	char *line = malloc(CTL_LINE_MAX), *nl, *answer;
	size_t have = 0;
	ssize_t n;

	if (!line)
		return;
	while (have < CTL_LINE_MAX - 1) {
		n = read(fd, line + have, CTL_LINE_MAX - 1 - have);
		if (n <= 0)
			break;
		have += n;
		line[have] = '\0';
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			answer = dispatch(ctl, line);
			if (answer) {
				if (write(fd, answer, strlen(answer)) < 0 || write(fd, "\n", 1) < 0)
					have = CTL_LINE_MAX;
				free(answer);
			}
			have -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, have + 1);
		}
	}
	free(line);
}

static void *ctl_thread(void *arg)
{
	struct vmm_ctl *ctl = arg;
	struct pollfd p[2] = { { ctl->listen_fd, POLLIN, 0 }, { ctl->wake[0], POLLIN, 0 } };

	pthread_setname_np(pthread_self(), "avmm-ctl");
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int fd = accept(ctl->listen_fd, NULL, NULL);

			if (fd >= 0) {
				struct timeval tv = { .tv_sec = 2 };

				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
				serve_client(ctl, fd);
				close(fd);
			}
		}
	}
	return NULL;
}

static char *list_commands(const char *req, void *arg, int *err)
{
	struct vmm_ctl *ctl = arg;
	json_t *o = json_object(), *a = json_array();
	char *s;
	int i;

	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < ctl->nr; i++)
		json_array_append_new(a, json_string(ctl->cmd[i].name));
	pthread_mutex_unlock(&ctl->lock);
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "commands", a);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

int vmm_ctl_open(const char *path, struct vmm_ctl **out)
{
	struct vmm_ctl *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], *slash;
	int rc;

	if (!ctl)
		return -ENOMEM;
	ctl->listen_fd = ctl->wake[0] = ctl->wake[1] = -1;
	pthread_mutex_init(&ctl->lock, NULL);
	rc = make_addr(path, &sa);
	if (rc)
		goto fail;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	if (vmm_ctl_call(path, NULL, NULL) == 0) {
		rc = -EADDRINUSE; /* the caller says what to do about it */
		goto fail;
	}
	unlink(path); /* stale socket of an avmm that is gone */
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->listen_fd < 0 || bind(ctl->listen_fd, (void *)&sa, sizeof(sa)) < 0 ||
	    listen(ctl->listen_fd, 8) < 0 || pipe2(ctl->wake, O_CLOEXEC) < 0) {
		rc = -errno;
		util_err("control socket %s: %s", path, strerror(-rc));
		goto fail;
	}
	vmm_ctl_register(ctl, "commands", list_commands, ctl);
	rc = -pthread_create(&ctl->thread, NULL, ctl_thread, ctl);
	if (rc)
		goto fail;
	*out = ctl;
	return 0;
fail:
	if (ctl->listen_fd >= 0) {
		close(ctl->listen_fd);
		if (rc != -EADDRINUSE)
			unlink(path);
	}
	if (ctl->wake[0] >= 0) {
		close(ctl->wake[0]);
		close(ctl->wake[1]);
	}
	free(ctl);
	return rc;
}

int vmm_ctl_register(struct vmm_ctl *ctl, const char *cmd, vmm_ctl_fn fn, void *arg)
{
	int rc = 0;

	pthread_mutex_lock(&ctl->lock);
	if (ctl->nr == CTL_MAX_CMDS || strlen(cmd) >= sizeof(ctl->cmd[0].name)) {
		rc = -ENOSPC;
	} else {
		snprintf(ctl->cmd[ctl->nr].name, sizeof(ctl->cmd[0].name), "%s", cmd);
		ctl->cmd[ctl->nr].fn = fn;
		ctl->cmd[ctl->nr].arg = arg;
		ctl->nr++;
	}
	pthread_mutex_unlock(&ctl->lock);
	return rc;
}

void vmm_ctl_close(struct vmm_ctl *ctl)
{
	if (!ctl)
		return;
	if (write(ctl->wake[1], "x", 1) == 1)
		pthread_join(ctl->thread, NULL);
	close(ctl->listen_fd);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	unlink(ctl->path);
	free(ctl);
}

/* request_json NULL: only test that something listens. */
int vmm_ctl_call(const char *path, const char *request_json, char **answer)
{
	struct sockaddr_un sa;
	char *buf = NULL;
	size_t have = 0, cap = 4096;
	ssize_t n;
	int fd, rc;

	rc = make_addr(path, &sa);
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
	if (write(fd, request_json, strlen(request_json)) < 0 || write(fd, "\n", 1) < 0) {
		rc = -errno;
		goto out;
	}
	buf = malloc(cap);
	while (buf && (n = read(fd, buf + have, cap - have - 1)) > 0) {
		have += n;
		buf[have] = '\0';
		if (memchr(buf, '\n', have))
			break;
		if (have + 1 == cap) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	if (!buf || !have || !strchr(buf, '\n')) {
		rc = buf ? -EPROTO : -ENOMEM;
		free(buf);
		goto out;
	}
	*strchr(buf, '\n') = '\0';
	*answer = buf;
out:
	close(fd);
	return rc;
}
