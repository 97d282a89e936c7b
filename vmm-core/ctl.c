/* Control socket: the command registry, dispatch, socket set-up and the
 * client side. The poll loop that serves clients is in ctl_serve.c. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hoststate.h"
#include "common/util.h"
#include "vmm-core/ctl_int.h"

bool vmm_ctl_valid_name(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

int vmm_ctl_default_path(const char *vm_name, char *out, size_t len)
{
	if (!vm_name || !*vm_name)
		vm_name = "avmm";
	if (!vmm_ctl_valid_name(vm_name))
		return -EINVAL;
	return util_fmt(out, len, "%s/%s.sock", util_run_dir(), vm_name);
}

int ctl_make_addr(const char *path, struct sockaddr_un *sa)
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

/* One request line (no newline, no NUL) to one answer (malloc'd). */
static char *dispatch(struct vmm_ctl *ctl, const struct vmm_ctl_peer *peer, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr);
	const char *name = req ? json_string_value(json_object_get(req, "cmd")) : NULL;
	char *answer = NULL, msg[320];
	vmm_ctl_fn fn = NULL;
	void *arg = NULL;
	int i, err = 0;

	if (!name) {
		snprintf(msg, sizeof(msg), "expected {\"cmd\":\"NAME\",...}: %s",
			 req ? "no \"cmd\" string" : jerr.text);
		answer = error_json(msg);
		goto out;
	}
	pthread_mutex_lock(&ctl->lock);
	for (i = 0; i < ctl->nr; i++)
		if (!strcmp(ctl->cmd[i].name, name)) {
			fn = ctl->cmd[i].fn;
			arg = ctl->cmd[i].arg;
			break;
		}
	pthread_mutex_unlock(&ctl->lock);
	if (!fn) {
		snprintf(msg, sizeof(msg), "unknown command '%.64s' (\"commands\" lists them)", name);
		answer = error_json(msg);
		goto out;
	}
	answer = fn(line, peer, arg, &err);
	if (!answer) {
		snprintf(msg, sizeof(msg), "%s: %s", name, strerror(err ? err : EIO));
		answer = error_json(msg);
	}
out:
	json_decref(req);
	return answer;
}

int ctl_client_append(struct ctl_client *c, const char *text)
{
	size_t n = strlen(text), need;

	if (c->out_off && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;   /* all sent: start the buffer over */
	need = c->out_len + n + 1;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	return 0;
}

void ctl_client_error(struct ctl_client *c, const char *msg)
{
	char *a = error_json(msg);

	if (!a || ctl_client_append(c, a))
		c->close_after_out = true;
	free(a);
}

void ctl_client_process(struct vmm_ctl *ctl, struct ctl_client *c, uint64_t now_ns)
{
	size_t start = 0;

	while (!c->close_after_out && c->out_len - c->out_off < CTL_OUT_HIGH) {
		char *nl = memchr(c->in + start, '\n', c->in_len - start), *a;
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (c->in + start));
		*nl = '\0';
		if (memchr(c->in + start, '\0', len)) {
			ctl_client_error(c, "request line contains a NUL byte: send JSON text");
		} else if (len) {
			a = dispatch(ctl, &c->peer, c->in + start);
			if (!a || ctl_client_append(c, a))
				c->close_after_out = true;
			free(a);
		}
		start += len + 1;
	}
	if (start) {
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		c->line_start_ns = c->in_len ? now_ns : 0;
	}
	if (c->in_len == CTL_LINE_MAX && !memchr(c->in, '\n', c->in_len)) {
		ctl_client_error(c, "request line longer than 65535 bytes");
		c->in_len = 0;
		c->close_after_out = true;
	}
}

static char *list_commands(const char *req, const struct vmm_ctl_peer *peer, void *arg, int *err)
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
	if (!s)
		*err = ENOMEM;
	return s;
}

/* What is at path may be replaced only if it is a socket of ours (or root's)
 * that nobody answers on. */
static int clear_stale(const char *path)
{
	struct stat st;
	int rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		util_err("control socket %s: something that is not a socket is there; remove it "
			 "or give another --socket PATH", path);
		return -EEXIST;
	}
	rc = vmm_ctl_call(path, NULL, NULL);
	if (rc == 0)
		return -EADDRINUSE; /* the caller says what to do about it */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		util_err("control socket %s belongs to uid %u: not removing it; remove it or give "
			 "another --socket PATH", path, (unsigned)st.st_uid);
		return -EEXIST;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	util_debug("removed the stale control socket %s", path);
	return 0;
}

static int bind_listen(struct vmm_ctl *ctl, const struct sockaddr_un *sa)
{
	mode_t mode = ctl->group == (gid_t)-1 ? 0600 : 0660;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	ctl->listen_fd = fd;
	if (fd < 0 || bind(fd, (const void *)sa, sizeof(*sa)) < 0)
		return -errno;
	/* the mode is set before listen(): nobody connects while it is looser */
	if ((ctl->group != (gid_t)-1 && chown(ctl->path, (uid_t)-1, ctl->group) < 0) ||
	    chmod(ctl->path, mode) < 0 || listen(fd, 64) < 0)
		return -errno;
	return 0;
}

int vmm_ctl_open(const char *path, gid_t group, struct vmm_ctl **out)
{
	struct vmm_ctl *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un sa;
	char dir[sizeof(sa.sun_path)], *slash;
	bool bound = false;
	int rc;

	if (!ctl)
		return -ENOMEM;
	ctl->listen_fd = ctl->wake[0] = ctl->wake[1] = -1;
	ctl->owner = getuid();
	ctl->group = group;
	pthread_mutex_init(&ctl->lock, NULL);
	rc = ctl_make_addr(path, &sa);
	if (rc)
		goto fail;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	rc = clear_stale(path);
	if (rc)
		goto fail;
	rc = bind_listen(ctl, &sa);
	bound = ctl->listen_fd >= 0 && rc != -EADDRINUSE;
	if (!rc && pipe2(ctl->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		rc = -errno;
	if (rc) {
		util_err("control socket %s: %s", path, strerror(-rc));
		goto fail;
	}
	vmm_ctl_register(ctl, "commands", list_commands, ctl);
	rc = -pthread_create(&ctl->thread, NULL, ctl_thread, ctl);
	if (rc)
		goto fail;
	ctl->thread_started = true;
	*out = ctl;
	return 0;
fail:
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (bound)
		unlink(path);
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
	if (ctl->thread_started && write(ctl->wake[1], "x", 1) == 1)
		pthread_join(ctl->thread, NULL);
	close(ctl->listen_fd);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	unlink(ctl->path);
	free(ctl);
}
