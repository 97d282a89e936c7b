/* `avmm run`'s start-up line: what an operator needs to attach to the VM. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "adapt/session.h"
#include "cli/cli.h"
#include "common/util.h"

void cli_dashboard_url(const char *metrics_addr, int port, char *out, size_t len)
{
	char host[256] = "127.0.0.1";
	int p;

	if (tel_parse_listen_addr(metrics_addr, host, sizeof(host), &p))
		snprintf(host, sizeof(host), "127.0.0.1");
	/* a wildcard listens everywhere: show a name others can reach */
	if (!strcmp(host, "0.0.0.0") || !strcmp(host, "::")) {
		if (gethostname(host, sizeof(host)) || !host[0])
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
	}
	if (strchr(host, ':'))
		snprintf(out, len, "http://[%s]:%d/", host, port);
	else
		snprintf(out, len, "http://%s:%d/", host, port);
}

void cli_start_line(struct adapt_session *s, const struct adapt_session_cfg *cfg)
{
	const char *sock = adapt_session_socket(s);
	struct tel *t = adapt_session_tel(s);
	int port = t ? tel_metrics_port(t) : 0;
	char url[300] = "";

	if (util_log_get_level() < UTIL_LOG_WARN)
		return;   /* -q */
	if (cfg->metrics_addr && port > 0)
		cli_dashboard_url(cfg->metrics_addr, port, url, sizeof(url));
	fprintf(stderr, "avmm: VM %s, profile %s, control socket %s%s%s\n",
		cfg->name ? cfg->name : "avmm", adapt_session_profile_name(s) ?: "?",
		sock ? sock : "none", url[0] ? ", dashboard " : "", url);
}
