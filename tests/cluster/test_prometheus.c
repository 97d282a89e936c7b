/* Prometheus for many nodes (issue 17): the shipped scrape configuration and
 * recording rules pass promtool, and a real Prometheus on 127.0.0.1 running
 * them (intervals shortened to 1 s) scrapes a running avmm started under a
 * batch job id and records its per-job series. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/httpget.h"
#include "tests/lib/promtool.h"

#define PROMETHEUS "/usr/bin/prometheus"
#define CONF "telemetry/prometheus/avmm.yml"
#define RULES "telemetry/prometheus/avmm-rules.yml"

static void need(const char *bin)
{
	if (access(bin, X_OK))
		cr_skip_test("no %s here (Debian package prometheus; `make deps` installs it)", bin);
}

/* Runs cmd, its output into out; returns the exit status (-1: not run). */
static int sh(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(prometheus, shipped_config_and_rules_pass_promtool)
{
	char out[4096];

	need(PROMTOOL);
	cr_assert_eq(sh(PROMTOOL " check config " CONF " 2>&1", out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "SUCCESS: 1 rule files found"), "%s", out);
	cr_assert_eq(sh(PROMTOOL " check rules " RULES " 2>&1", out, sizeof(out)), 0, "%s", out);
	/* promtool does refuse a broken rule: the check has teeth */
	cr_assert_neq(sh("sed 's/sum by (job_id)/sum by (job_id/' " RULES " > /tmp/avmm-bad-rules.yml && "
			 PROMTOOL " check rules /tmp/avmm-bad-rules.yml 2>&1", out, sizeof(out)), 0);
	unlink("/tmp/avmm-bad-rules.yml");
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Copies a shipped file into dir with every 15 s interval made 1 s. */
static void copy_fast(const char *src, const char *dir, const char *name)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sed 's/: 15s$/: 1s/; s/refresh_interval: .*/refresh_interval: 1s/' "
		 "%s > %s/%s", src, dir, name);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Rule files name series avmm exports: every avmm_* name in RULES occurs in
 * the live exposition text. */
static void rules_use_exported(const char *metrics)
{
	char *rules = file_text(RULES), *e, name[128], want[140];
	regex_t re;
	regmatch_t m;
	int n = 0;

	cr_assert(rules);
	cr_assert_eq(regcomp(&re, "[ (]avmm_[a-z_0-9]+", REG_EXTENDED), 0);
	for (e = rules; !regexec(&re, e, 1, &m, 0); e += m.rm_eo) {
		snprintf(name, sizeof(name), "%.*s", (int)(m.rm_eo - m.rm_so - 1), e + m.rm_so + 1);
		snprintf(want, sizeof(want), "\n%s{", name);
		cr_assert(strstr(metrics, want), "the rules use %s, which avmm does not export", name);
		n++;
	}
	cr_assert_geq(n, 8);
	regfree(&re);
	free(rules);
}

/* Instant query through the HTTP API; returns the result array's size and
 * the first sample's value (NAN when none). */
static int query(int port, const char *q, double *v, char *job_id, size_t jl)
{
	char path[3500], *body = NULL, *w;
	json_t *r, *res, *first;
	int code, n;

	w = path + snprintf(path, sizeof(path), "/api/v1/query?query=");
	for (const char *c = q; *c && w < path + sizeof(path) - 4; c++)
		w += isalnum((unsigned char)*c) || strchr("_:.-", *c) ? sprintf(w, "%c", *c)
								    : sprintf(w, "%%%02X", (unsigned char)*c);
	code = http_get(port, path, &body, NULL, 0);
	if (code != 200) {
		free(body);
		return -1;
	}
	r = json_loads(body, 0, NULL);
	free(body);
	cr_assert(r, "Prometheus answered something that is not JSON");
	res = json_object_get(json_object_get(r, "data"), "result");
	n = (int)json_array_size(res);
	first = json_array_get(res, 0);
	*v = first ? atof(json_string_value(json_array_get(json_object_get(first, "value"), 1)))
		   : NAN;
	if (first && job_id)
		snprintf(job_id, jl, "%s", json_string_value(json_object_get(
			json_object_get(first, "metric"), "job_id")) ?: "");
	json_decref(r);
	return n;
}

/* What the scrape test started: ended in fini, also when an assert fails */
static struct bg_avmm b;
static pid_t prom;

static void stop_all(void)
{
	if (prom > 0) {
		kill(prom, SIGTERM);
		if (waitpid(prom, NULL, 0) != prom)
			cr_log_warn("prometheus %d did not end", (int)prom);
		prom = 0;
	}
	bg_cleanup(&b);
}

/* The dashboard's cluster panels ("Cluster: ..."), $node as every node,
 * each answer at least one series from the real server. */
static void cluster_panels_answer(int port)
{
	json_t *d = json_load_file("telemetry/dashboards/avmm.json", 0, NULL), *p;
	char q[1500], *at;
	size_t i;
	double v;
	int n = 0;

	cr_assert(d, "telemetry/dashboards/avmm.json does not parse");
	json_array_foreach(json_object_get(d, "panels"), i, p) {
		const char *t = json_string_value(json_object_get(p, "title"));
		const char *e = json_string_value(json_object_get(
			json_array_get(json_object_get(p, "targets"), 0), "expr"));

		if (!t || strncmp(t, "Cluster:", 8))
			continue;
		snprintf(q, sizeof(q), "%s", e);
		while ((at = strstr(q, "$node"))) {
			memcpy(at, ".*", 2);
			memmove(at + 2, at + 5, strlen(at + 5) + 1);
		}
		cr_assert_geq(query(port, q, &v, NULL, 0), 1, "panel \"%s\": no series for %s", t, q);
		n++;
	}
	cr_assert_geq(n, 4);
	json_decref(d);
}

Test(prometheus, real_server_scrapes_avmm_and_records_job_series, .timeout = 150,
     .fini = stop_all)
{
	char addr[32], web[48], arg_conf[300], arg_data[300], path[300], out[4096], jid[32];
	char *metrics = NULL, *ptext;
	int mport = free_port(), pport, code, n = 0;
	double v = NAN;
	FILE *f;

	need(PROMETHEUS);
	need(PROMTOOL);
	setenv("AVMM_JOB_ID", "4242", 1);
	bg_prepare(&b);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", mport);
	bg_start(&b, 60, -1, (const char *const[]){ "--metrics", addr, NULL });
	unsetenv("AVMM_JOB_ID");
	/* until the VM's energy share and the paging estimate are out (a few ticks) */
	for (int i = 0; i < 200; i++) {
		code = http_get(mport, "/metrics", &metrics, NULL, 0);
		if (code == 200 && strstr(metrics, "\navmm_vm_energy_joules_total{") &&
		    strstr(metrics, "\navmm_paging_estimate_pct{"))
			break;
		free(metrics);
		metrics = NULL;
		util_sleep_ns(100000000);
	}
	cr_assert(metrics, "avmm's /metrics on %s: no answer with avmm_vm_energy_joules_total and "
		  "avmm_paging_estimate_pct within 20 s (status %d)", addr, code);
	cr_assert_eq(code, 200, "avmm's /metrics did not answer on %s", addr);
	cr_assert(strstr(metrics, "job_id=\"4242\""), "avmm_info has no job_id from AVMM_JOB_ID");
	cr_assert_eq(promtool_check(metrics, out, sizeof(out)), 0, "promtool check metrics: %s", out);
	rules_use_exported(metrics);
	free(metrics);

	/* the shipped files, one file_sd target: this avmm as node "testnode" */
	copy_fast(CONF, b.dir, "avmm.yml");
	copy_fast(RULES, b.dir, "avmm-rules.yml");
	snprintf(path, sizeof(path), "%s/nodes", b.dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/nodes/vms-test.yml", b.dir);
	f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "- targets: ['%s']\n  labels:\n    node: testnode\n", addr);
	fclose(f);
	pport = free_port();
	snprintf(web, sizeof(web), "--web.listen-address=127.0.0.1:%d", pport);
	snprintf(arg_conf, sizeof(arg_conf), "--config.file=%s/avmm.yml", b.dir);
	snprintf(arg_data, sizeof(arg_data), "--storage.tsdb.path=%s/data", b.dir);
	snprintf(path, sizeof(path), "%s/prometheus.log", b.dir);
	prom = fork();
	cr_assert(prom >= 0);
	if (prom == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(PROMETHEUS, PROMETHEUS, arg_conf, arg_data, web, "--web.enable-lifecycle",
		      (char *)NULL);
		_exit(127);
	}
	/* up, then the recorded per-job slowdown and energy (rate needs two
	 * scrapes with different values, the rule one evaluation after them:
	 * a steady avmm's counters move with each full sample, every 10 s
	 * under the shipped profiles, so the first evaluations can be 0/0) */
	for (int i = 0; i < 900 && (n < 1 || !isfinite(v)); i++) {
		util_sleep_ns(100000000);
		n = query(pport, "slurm_job:avmm_vcpu_slowdown:ratio1m{job_id=\"4242\"}", &v, jid,
			  sizeof(jid));
	}
	ptext = file_text(path);
	cr_assert_eq(n, 1, "no recorded slowdown series within 90 s; Prometheus said:\n%s",
		     ptext ?: "");
	cr_assert_str_eq(jid, "4242");
	cr_assert(v >= 1.0 && v < 1000, "slowdown %g", v);
	cr_assert_eq(query(pport, "up{job=\"avmm-vm\",node=\"testnode\"}", &v, NULL, 0), 1);
	cr_assert_eq(v, 1.0);
	cr_assert_eq(query(pport, "slurm_job:avmm_vm_energy_joules:sum", &v, jid, sizeof(jid)), 1);
	cr_assert_str_eq(jid, "4242");
	cr_assert(v > 0, "job energy %g J", v);
	cr_assert_eq(query(pport, "node:avmm_vms:count{node=\"testnode\"}", &v, NULL, 0), 1);
	cr_assert_eq(v, 1.0);
	cluster_panels_answer(pport);
	free(ptext);
}
