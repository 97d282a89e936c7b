#include "tests/lib/run_helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Every test binary keeps avmm's state (calibration, per-guest paging hints)
 * in a folder of its own, so a run never reads what another test, or the
 * machine's /var/lib/avmm, left. Tests that want a given folder set it. */
__attribute__((constructor)) static void private_state_dir(void)
{
	static char dir[] = "/tmp/avmm-test-state.XXXXXX";

	if (!getenv("AVMM_STATE_DIR") && mkdtemp(dir))
		setenv("AVMM_STATE_DIR", dir, 1);
}

const char *build_path(const char *rel)
{
	static char buf[8][512];
	static int next;
	const char *b = getenv("AVMM_BUILD");
	char *out = buf[next++ % 8];

	snprintf(out, sizeof(buf[0]), "%s/%s", b && *b ? b : "build", rel);
	return out;
}

void require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR);

	if (fd < 0)
		cr_skip_test("/dev/kvm is not available here (%s)", strerror(errno));
	close(fd);
}

bool kvm_has_msr_filter(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bool has = fd >= 0 && ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) > 0;

	if (fd >= 0)
		close(fd);
	return has;
}

int run_avmm(char *out, size_t len, const char *const args[])
{
	const char *argv[32] = { build_path("avmm") };
	int pipefd[2], status, i;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	cr_assert(pipe(pipefd) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	while (have + 1 < len && (n = read(pipefd[0], out + have, len - have - 1)) > 0)
		have += n;
	out[have] = '\0';
	while (read(pipefd[0], &(char){ 0 }, 1) > 0)
		;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int result_value(const char *out, const char *guest, const char *key, char *val, size_t len)
{
	char tag[64], k[64];
	const char *line = out, *p, *end;

	snprintf(tag, sizeof(tag), "guest=%s ", guest);
	snprintf(k, sizeof(k), " %s=", key);
	while ((line = strstr(line, "AVMM-RESULT "))) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		p = strstr(line, tag);
		if (p && p < end) {
			p = strstr(line, k);
			if (p && p < end) {
				size_t n = strcspn(p + strlen(k), " \n");

				snprintf(val, len, "%.*s", (int)n, p + strlen(k));
				return 0;
			}
		}
		line = end;
	}
	return -1;
}
