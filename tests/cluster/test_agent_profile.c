/* The node agent takes a profile before any VM registers (what a batch
 * job's prolog does) and its loop starts under it when one registers; names
 * only, unknown ones refused with the loader's words. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/httpget.h"
#include "tests/lib/promtool.h"
#include "tests/lib/run_helpers.h"

static struct bg_avmm b;
static pid_t agent;
static char sock[160];

static void stop(void)
{
	if (agent > 0) {
		kill(agent, SIGTERM);
		waitpid(agent, NULL, 0);
		agent = 0;
	}
	bg_cleanup(&b);
}

/* One request line, the answer line into ans. */
static void ask(const char *req, char *ans, size_t len)
{
	int fd = client_connect(sock);

	cr_assert(fd >= 0, "agent socket %s: %s", sock, strerror(-fd));
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	cr_assert_gt(client_line(fd, ans, len, 5000), 0, "no answer to %s", req);
	close(fd);
}

Test(agent_profile, set_before_any_vm_and_kept_when_one_registers, .fini = stop, .timeout = 90)
{
	char ans[1024], log[160], metrics[32], out[2048], *body = NULL;
	int port = 20000 + getpid() % 20000;

	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	bg_prepare(&b);
	snprintf(sock, sizeof(sock), "%s/agent.sock", b.run_dir);
	snprintf(log, sizeof(log), "%s/agent.log", b.dir);
	agent = bg_spawn(&b, log, -1, (const char *const[]){ "agent", "--profile", "balanced",
							    "--socket", sock, "--metrics", metrics,
							    NULL });
	for (int i = 0; i < 250 && access(sock, F_OK); i++)
		util_sleep_ns(20000000);
	ask("{\"cmd\":\"profile\"}\n", ans, sizeof(ans));
	cr_assert(strstr(ans, "\"ok\":true") && strstr(ans, "\"profile\":\"balanced\""), "%s", ans);
	ask("{\"cmd\":\"profile\",\"name\":\"nosuch\"}\n", ans, sizeof(ans));
	cr_assert(strstr(ans, "\"ok\":false") && strstr(ans, "nosuch: no such profile"), "%s", ans);
	ask("{\"cmd\":\"profile\",\"name\":\"/etc/passwd\"}\n", ans, sizeof(ans));
	cr_assert(strstr(ans, "\"ok\":false") && strstr(ans, "not a path"), "%s", ans);
	ask("{\"cmd\":\"profile\",\"name\":\"energy\"}\n", ans, sizeof(ans));
	cr_assert(strstr(ans, "\"ok\":true") && strstr(ans, "\"profile\":\"energy\""), "%s", ans);
	ask("{\"cmd\":\"profile\"}\n", ans, sizeof(ans));
	cr_assert(strstr(ans, "\"profile\":\"energy\""), "%s", ans);

	/* a VM of batch job 31 registers: the loop starts under energy, not
	 * the machine's, and the agent's /metrics names the VM's job */
	setenv("AVMM_JOB_ID", "31", 1);
	bg_start(&b, 20, -1, NULL);
	unsetenv("AVMM_JOB_ID");
	for (int i = 0; i < 100; i++) {
		ask("{\"cmd\":\"list\"}\n", ans, sizeof(ans));
		if (strstr(ans, "\"vms\":[{"))
			break;
		util_sleep_ns(100000000);
	}
	cr_assert(strstr(ans, "\"vms\":[{"), "the VM did not register: %s", ans);
	cr_assert(strstr(ans, "\"profile\":\"energy\""), "%s", ans);
	for (int i = 0; i < 100; i++) {
		free(body);
		body = NULL;
		if (http_get(port, "/metrics", &body, NULL, 0) == 200 && strstr(body, "job_id=\"31\""))
			break;
		util_sleep_ns(100000000);
	}
	cr_assert(body && strstr(body, "avmm_info{vm=\"avmm\",run_id=\"") &&
		  strstr(body, ",profile=\"energy\",job_id=\"31\"} 1\n"),
		  "the agent's /metrics has no avmm_info with the VM's job:\n%s", body ?: "");
	if (promtool_check(body, out, sizeof(out)) != -ENOENT)
		cr_assert_eq(promtool_check(body, out, sizeof(out)), 0, "promtool: %s", out);
	free(body);
}
