/* Control socket: one thread serves every client through poll(), with
 * non-blocking sockets, per-client timeouts and a credential check. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "common/util.h"
#include "vmm-core/ctl_int.h"

bool ctl_peer_allowed(const struct vmm_ctl *ctl, const struct vmm_ctl_peer *peer)
{
	return peer->uid == 0 || peer->uid == ctl->owner ||
	       (ctl->group != (gid_t)-1 && peer->gid == ctl->group);
}

static void drop_client(struct vmm_ctl *ctl, int i)
{
	struct ctl_client *c = ctl->clients[i];

	close(c->fd);
	if (c->peer.fd >= 0)
		close(c->peer.fd);
	free(c->in);
	free(c->out);
	free(c);
	ctl->clients[i] = ctl->clients[--ctl->nr_clients];
}

static void refuse(struct vmm_ctl *ctl, int fd, const struct vmm_ctl_peer *peer)
{
	char msg[256];
	int n;

	ctl->refused++;
	n = snprintf(msg, sizeof(msg), "{\"ok\":false,\"error\":\"permission denied: uid %u is "
		     "neither root nor the owner of this VM (uid %u)\"}\n",
		     (unsigned)peer->uid, (unsigned)ctl->owner);
	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		util_debug("control socket: refusing uid %u: %s", (unsigned)peer->uid,
			   strerror(errno));
	util_warn("control socket %s: refused a client of uid %u (pid %d): only root and uid %u "
		  "may control this VM", ctl->path, (unsigned)peer->uid, (int)peer->pid,
		  (unsigned)ctl->owner);
	close(fd);
}

static void accept_one(struct vmm_ctl *ctl, uint64_t now)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct ctl_client *c;
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	struct vmm_ctl_peer peer = { .pid = cred.pid, .uid = cred.uid, .gid = cred.gid, .fd = -1 };

	if (!ctl_peer_allowed(ctl, &peer)) {
		refuse(ctl, fd, &peer);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->in = malloc(CTL_LINE_MAX);
	if (!c || !c->in) {
		if (c)
			free(c);
		close(fd);
		return;
	}
	c->fd = fd;
	c->peer = peer;
	c->last_ns = now;
	ctl->clients[ctl->nr_clients++] = c;
}

/* Returns false when the client is done with. */
static bool client_read(struct vmm_ctl *ctl, struct ctl_client *c, uint64_t now)
{
	ssize_t n = ctl_recv_fd(c->fd, c->in + c->in_len, CTL_LINE_MAX - c->in_len, &c->peer.fd);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0) {
		c->eof = true;
		c->in_len = 0; /* an unfinished last line is dropped */
		return c->out_len > c->out_off;
	}
	if (!c->in_len)
		c->line_start_ns = now;
	c->in_len += (size_t)n;
	c->last_ns = now;
	ctl_client_process(ctl, c, now);
	if (!c->in_len && c->peer.fd >= 0) {   /* its request is handled */
		close(c->peer.fd);
		c->peer.fd = -1;
	}
	return true;
}

static bool client_write(struct ctl_client *c, uint64_t now)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->out_off += (size_t)n;
	c->out_since_ns = c->last_ns = now;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return true;
}

static bool client_timed_out(struct ctl_client *c, uint64_t now)
{
	if (c->out_len > c->out_off)
		return now - c->out_since_ns > CTL_WRITE_TIMEOUT_NS;
	if (c->in_len && now - c->line_start_ns > CTL_LINE_TIMEOUT_NS) {
		/* answered, then closed once the answer is out (or its write times out) */
		util_debug("control socket: closing a client (pid %d) whose request did not end "
			   "within 5 s", (int)c->peer.pid);
		ctl_client_error(c, "request did not end within 5 s (one JSON object per line)");
		c->in_len = 0;
		c->close_after_out = true;
		c->out_since_ns = now;
		return false;
	}
	return now - c->last_ns > CTL_IDLE_TIMEOUT_NS;
}

static short client_events(const struct ctl_client *c)
{
	bool pending = c->out_len > c->out_off;

	if (pending)
		return POLLOUT;
	return c->eof || c->close_after_out ? 0 : POLLIN;
}

/* One pass over the clients after poll(): I/O, then who stays. */
static void serve_clients(struct vmm_ctl *ctl, const struct pollfd *p, uint64_t now)
{
	for (int i = ctl->nr_clients - 1; i >= 0; i--) {
		struct ctl_client *c = ctl->clients[i];
		bool keep = true, had_out = c->out_len > c->out_off;

		if (p[i].revents & (POLLERR | POLLNVAL))
			keep = false;
		else if (p[i].revents & POLLOUT)
			keep = client_write(c, now);
		else if (p[i].revents & (POLLIN | POLLHUP))
			keep = client_read(ctl, c, now);
		if (keep && had_out && c->out_len == c->out_off) {
			/* answers sent: take the requests that waited behind them */
			ctl_client_process(ctl, c, now);
		}
		if (keep && c->out_len > c->out_off && !had_out)
			c->out_since_ns = now;
		if (keep && c->out_len == c->out_off && (c->eof || c->close_after_out))
			keep = false;
		if (keep && client_timed_out(c, now))
			keep = false;
		if (!keep)
			drop_client(ctl, i);
	}
}

static int next_timeout_ms(const struct vmm_ctl *ctl, uint64_t now)
{
	uint64_t soonest = UINT64_MAX;

	for (int i = 0; i < ctl->nr_clients; i++) {
		const struct ctl_client *c = ctl->clients[i];
		uint64_t at = c->out_len > c->out_off ? c->out_since_ns + CTL_WRITE_TIMEOUT_NS :
			      c->in_len ? c->line_start_ns + CTL_LINE_TIMEOUT_NS :
			      c->last_ns + CTL_IDLE_TIMEOUT_NS;

		soonest = UTIL_MIN(soonest, at);
	}
	if (soonest == UINT64_MAX)
		return -1;
	return soonest <= now ? 0 : (int)((soonest - now) / 1000000) + 1;
}

void *ctl_thread(void *arg)
{
	struct vmm_ctl *ctl = arg;
	struct pollfd p[CTL_MAX_CLIENTS + 2];

	pthread_setname_np(pthread_self(), "avmm-ctl");
	util_sandbox_enter(UTIL_SANDBOX_CTL);          /* prints why when it fails */
	for (;;) {
		int n = ctl->nr_clients;
		uint64_t now = util_now_ns();

		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ ctl->clients[i]->fd, client_events(ctl->clients[i]), 0 };
		p[n] = (struct pollfd){ ctl->wake[0], POLLIN, 0 };
		p[n + 1] = (struct pollfd){ ctl->listen_fd,
					    n < CTL_MAX_CLIENTS ? POLLIN : 0, 0 };
		if (poll(p, (nfds_t)n + 2, next_timeout_ms(ctl, now)) < 0 && errno != EINTR)
			break;
		if (p[n].revents)
			break;
		now = util_now_ns();
		serve_clients(ctl, p, now);
		if (p[n + 1].revents & POLLIN)
			accept_one(ctl, now);
	}
	while (ctl->nr_clients)
		drop_client(ctl, ctl->nr_clients - 1);
	return NULL;
}
