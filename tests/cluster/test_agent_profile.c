/* The node agent takes a profile before any VM registers (what a batch
 * job's prolog does) and its loop starts under it when one registers; names
 * only, unknown ones refused with the loader's words. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
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
	char ans[1024], log[160];

	bg_prepare(&b);
	snprintf(sock, sizeof(sock), "%s/agent.sock", b.run_dir);
	snprintf(log, sizeof(log), "%s/agent.log", b.dir);
	agent = fork();
	cr_assert(agent >= 0);
	if (agent == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setenv("AVMM_RUN_DIR", b.run_dir, 1);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(build_path("avmm"), "avmm", "agent", "--profile", "balanced", "--socket", sock,
		      (char *)NULL);
		_exit(127);
	}
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

	/* a VM registers: the loop starts under energy, not the machine's */
	bg_start(&b, 20, -1, NULL);
	for (int i = 0; i < 100; i++) {
		ask("{\"cmd\":\"list\"}\n", ans, sizeof(ans));
		if (strstr(ans, "\"vms\":[{"))
			break;
		util_sleep_ns(100000000);
	}
	cr_assert(strstr(ans, "\"vms\":[{"), "the VM did not register: %s", ans);
	cr_assert(strstr(ans, "\"profile\":\"energy\""), "%s", ans);
}
