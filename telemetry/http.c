/* HTTP server (libmicrohttpd): /metrics, the dashboard at / with its chart
 * library (assets.c), /api/samples, /api/decisions. Its own CPU time is
 * added to avmm_telemetry_cpu_seconds. */
#include "telemetry/tel_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "common/util.h"

/* t: the telemetry object served; NULL between tel_detach_http and the next
 * open, while requests wait (up to HTTP_REATTACH_WAIT_NS) on cond. */
struct tel_http {
	struct MHD_Daemon *d;
	int fd, port;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct tel *t;
};
#define HTTP_REATTACH_WAIT_NS 2000000000ull

/* libmicrohttpd (and gnutls under it, ~2 MiB resident) is loaded only when
 * --metrics asks for the server. */
static struct {
	__typeof__(&MHD_create_response_from_buffer) create_response_from_buffer;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_destroy_response) destroy_response;
	__typeof__(&MHD_lookup_connection_value) lookup_connection_value;
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
} mhd;
static const struct util_dl_sym mhd_syms[] = {
	{ "MHD_create_response_from_buffer", (void **)&mhd.create_response_from_buffer },
	{ "MHD_add_response_header", (void **)&mhd.add_response_header },
	{ "MHD_queue_response", (void **)&mhd.queue_response },
	{ "MHD_destroy_response", (void **)&mhd.destroy_response },
	{ "MHD_lookup_connection_value", (void **)&mhd.lookup_connection_value },
	{ "MHD_start_daemon", (void **)&mhd.start_daemon },
	{ "MHD_stop_daemon", (void **)&mhd.stop_daemon },
};
static struct util_dl_lib mhd_lib = {
	.soname = "libmicrohttpd.so.12", .package = "libmicrohttpd12",
	.syms = mhd_syms, .nr_syms = UTIL_ARRAY_SIZE(mhd_syms),
};

/* "PORT" (loopback), "ADDR:PORT", "[V6ADDR]:PORT". */
int tel_parse_listen_addr(const char *s, char *host, size_t host_len, int *port)
{
	const char *colon, *p;
	size_t hl;
	long v;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		p = strchr(s, ']');
		if (!p || p[1] != ':')
			return -EINVAL;
		hl = (size_t)(p - s - 1);
		colon = p + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			return -EINVAL;          /* bare IPv6 needs brackets */
		hl = colon ? (size_t)(colon - s) : 0;
	}
	if (hl >= host_len)
		return -ENAMETOOLONG;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (!colon && !hl)
		snprintf(host, host_len, "127.0.0.1");
	if (!host[0])
		snprintf(host, host_len, "127.0.0.1");
	p = colon ? colon + 1 : s;
	if (util_parse_int(p, 0, 65535, &v))
		return -EINVAL;
	*port = (int)v;
	return 0;
}

static int listen_on(const char *addr, int *fd_out, int *port_out)
{
	char host[128];
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (void *)&ss;
	struct sockaddr_in6 *a6 = (void *)&ss;
	socklen_t sl;
	int port, fd, err, one = 1;

	if (tel_parse_listen_addr(addr, host, sizeof(host), &port)) {
		util_err("--metrics '%s': expected PORT, ADDR:PORT or [ADDR]:PORT with a port "
			 "0-65535", addr);
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*a6);
	} else {
		util_err("--metrics '%s': '%s' is not a numeric IPv4 or IPv6 address", addr, host);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&ss, sl) || listen(fd, 32)) {
		err = -errno;
		util_err("--metrics '%s': cannot listen: %s%s", addr, strerror(errno),
			 err == -EADDRINUSE ? " (another program uses the port: pick another)" :
			 err == -EADDRNOTAVAIL ? " (no interface has that address)" : "");
		close(fd);
		return err;
	}
	sl = sizeof(ss);
	getsockname(fd, (void *)&ss, &sl);
	*port_out = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
	*fd_out = fd;
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = mhd.create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, "Content-Type", type);
	mhd.add_response_header(r, "Cache-Control", "no-store");
	ret = mhd.queue_response(c, code, r);
	mhd.destroy_response(r);
	return ret;
}

static uint64_t since_arg(struct MHD_Connection *c)
{
	const char *v = mhd.lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	uint64_t n = 0;

	if (v && util_parse_u64(v, &n))
		n = 0;
	return n;
}

static enum MHD_Result route(struct tel *t, struct MHD_Connection *c, const char *url)
{
	static char not_found[] = "not found: try /, /metrics, /api/samples, /api/decisions, "
		"/licenses/uplot.txt\n";
	const struct tel_asset *a = tel_asset_find(url);
	char *body = NULL;
	int err;

	if (a)
		return reply(c, 200, a->type, (void *)a->data, *a->len, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/metrics")) {
		err = tel_metrics_text(t, &body);
		if (!err)
			return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", body,
				     strlen(body), MHD_RESPMEM_MUST_FREE);
	} else if (!strcmp(url, "/api/samples")) {
		err = tel_samples_json(t, since_arg(c), &body);
		if (!err)
			return reply(c, 200, "application/json", body, strlen(body),
				     MHD_RESPMEM_MUST_FREE);
	} else if (!strcmp(url, "/api/decisions")) {
		err = tel_decisions_json(t, since_arg(c), &body);
		if (!err)
			return reply(c, 200, "application/json", body, strlen(body),
				     MHD_RESPMEM_MUST_FREE);
	} else {
		return reply(c, 404, "text/plain", not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT);
	}
	return MHD_NO;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_len, void **con_cls)
{
	static char bad_method[] = "only GET\n", restarting[] = "telemetry is restarting: retry\n";
	struct tel_http *h = cls;
	uint64_t c0 = util_thread_cpu_ns();
	uint64_t until_ns = util_now_ns() + HTTP_REATTACH_WAIT_NS;
	enum MHD_Result r;

	(void)version;
	(void)upload;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, 405, "text/plain", bad_method, strlen(bad_method),
			     MHD_RESPMEM_PERSISTENT);
	if (*upload_len)
		return MHD_NO;
	(void)con_cls;
	/* the object stays while its request runs: tel_detach_http waits for it */
	pthread_mutex_lock(&h->lock);
	while (!h->t && util_cond_wait_until_ns(&h->cond, &h->lock, until_ns) == 0)
		;
	if (!h->t) {
		pthread_mutex_unlock(&h->lock);
		return reply(c, 503, "text/plain", restarting, strlen(restarting),
			     MHD_RESPMEM_PERSISTENT);
	}
	r = route(h->t, c, url);
	__atomic_fetch_add(&h->t->http_cpu_ns, util_thread_cpu_ns() - c0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
	return r;
}

void tel_http_attach(struct tel_http *h, struct tel *t)
{
	pthread_mutex_lock(&h->lock);
	h->t = t;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

/* libmicrohttpd's thread is created by the thread that starts the daemon and
 * inherits its seccomp filter: a short-lived launcher installs the metrics
 * filter on itself, starts the daemon and ends. */
static void *launch_main(void *arg)
{
	struct tel_http *h = arg;

	pthread_setname_np(pthread_self(), "avmm-metrics");
	if (util_sandbox_enter(UTIL_SANDBOX_METRICS))
		return NULL;
	h->d = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				NULL, handler, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	return NULL;
}

int tel_http_start(struct tel *t, const char *addr, struct tel_http **out)
{
	struct tel_http *h = calloc(1, sizeof(*h));
	pthread_t launcher;
	char why[160];
	int err;

	if (!h)
		return -ENOMEM;
	h->t = t;
	pthread_mutex_init(&h->lock, NULL);
	util_cond_init_mono(&h->cond);
	err = listen_on(addr, &h->fd, &h->port);
	if (err) {
		free(h);
		return err;
	}
	err = util_dl_load(&mhd_lib, why, sizeof(why));
	if (err) {
		util_err("--metrics '%s': %s", addr, why);
		close(h->fd);
		free(h);
		return err;
	}
	/* Files the server thread would open on first use, opened now: its
	 * filter allows no open (jansson's hash seed from /dev/urandom, the C
	 * library's time zone from /etc/localtime for the Date header). */
	json_object_seed(0);
	tzset();
	err = pthread_create(&launcher, NULL, launch_main, h);
	if (!err)
		pthread_join(launcher, NULL);
	if (!h->d) {
		util_err("--metrics '%s': libmicrohttpd could not start", addr);
		close(h->fd);
		free(h);
		return -EIO;
	}
	util_info("metrics and dashboard on port %d (--metrics %s)", h->port, addr);
	*out = h;
	return 0;
}

int tel_http_port(const struct tel_http *h)
{
	return h->port;
}

void tel_http_stop(struct tel_http *h)
{
	mhd.stop_daemon(h->d);    /* closes the listening socket too */
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
