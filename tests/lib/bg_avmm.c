#include "tests/lib/bg_avmm.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/run_helpers.h"

#define ZONE "/sys/class/powercap/intel-rapl:0"

static void put(const struct bg_avmm *b, const char *file, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s/%s", b->fsroot, ZONE, file);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

void bg_prepare(struct bg_avmm *b)
{
	char path[512];

	require_kvm();
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/avmm-hard-XXXXXX");
	cr_assert(mkdtemp(b->dir));
	snprintf(b->run_dir, sizeof(b->run_dir), "%s/run", b->dir);
	snprintf(b->sock, sizeof(b->sock), "%s/run/t.sock", b->dir);
	snprintf(b->fsroot, sizeof(b->fsroot), "%s/fk", b->dir);
	snprintf(b->out, sizeof(b->out), "%s/out.txt", b->dir);
	snprintf(path, sizeof(path), "mkdir -p %s %s%s && ln -s /proc %s/proc", b->run_dir,
		 b->fsroot, ZONE, b->fsroot);
	cr_assert_eq(system(path), 0);
	put(b, "name", "package-0\n");
	put(b, "energy_uj", "1000000\n");
	put(b, "max_energy_range_uj", "262143328850\n");
	put(b, "constraint_0_name", "long_term\n");
	put(b, "constraint_0_power_limit_uw", "200000000\n");
	put(b, "constraint_0_time_window_us", "999424\n");
	put(b, "constraint_0_max_power_uw", "400000000\n");
	put(b, "enabled", "1\n");
}

void bg_start(struct bg_avmm *b, int secs, int umask_val, const char *const extra[])
{
	const char *argv[40] = { build_path("avmm"), "run", "--socket", b->sock };
	char cmdline[32];
	int n = 4, fd;

	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	snprintf(cmdline, sizeof(cmdline), "secs=%d", secs);
	argv[n++] = build_path("guests/compute.elf");
	argv[n++] = "--cmdline";
	argv[n++] = cmdline;
	b->pid = fork();
	cr_assert(b->pid >= 0);
	if (b->pid == 0) {
		setenv("AVMM_RUN_DIR", b->run_dir, 1);
		if (umask_val >= 0)
			umask((mode_t)umask_val);
		fd = open(b->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 250 && access(b->sock, F_OK); i++)
		util_sleep_ns(20000000);
	cr_assert_eq(access(b->sock, F_OK), 0, "avmm did not open its control socket");
}

int bg_wait(struct bg_avmm *b, int ms)
{
	int status;

	for (int i = 0; i <= ms / 10; i++) {
		pid_t r = waitpid(b->pid, &status, WNOHANG);

		if (r == b->pid) {
			b->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		util_sleep_ns(10000000);
	}
	return -1;
}

bool bg_alive(const struct bg_avmm *b)
{
	return b->pid > 0 && waitpid(b->pid, &(int){ 0 }, WNOHANG) == 0;
}

void bg_cleanup(struct bg_avmm *b)
{
	char cmd[128];

	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
	}
	if (b->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
		if (system(cmd))
			cr_log_warn("could not remove %s", b->dir);
	}
}

/* A read that finds the file empty (avmm truncates it to write a new limit)
 * is tried again, for up to 20 ms. */
uint64_t fake_limit_uw(const struct bg_avmm *b)
{
	char path[256], buf[64];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s%s/constraint_0_power_limit_uw", b->fsroot, ZONE);
	for (int i = 0; i < 20 && !v; i++) {
		if (i)
			util_sleep_ns(1000000);
		if (util_read_file(NULL, path, buf, sizeof(buf)) <= 0 || util_parse_u64(buf, &v))
			v = 0;
	}
	return v;
}

bool wait_capped(const struct bg_avmm *b, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (fake_limit_uw(b) != 200000000)
			return true;
		util_sleep_ns(50000000);
	}
	return false;
}

int client_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd < 0)
		return -errno;
	if (connect(fd, (void *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int client_line(int fd, char *buf, size_t len, int ms)
{
	size_t have = 0;
	uint64_t end = util_now_ns() + (uint64_t)ms * 1000000;

	while (have + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = util_now_ns();
		ssize_t n;

		if (now >= end || poll(&p, 1, (int)((end - now) / 1000000) + 1) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, buf + have, 1, 0);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		if (buf[have] == '\n') {
			buf[have] = '\0';
			return (int)have;
		}
		have++;
	}
	return -ENOBUFS;
}

char *file_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &cap, '\0', f) < 0) {   /* the whole file, any size */
		free(buf);
		buf = ferror(f) ? NULL : strdup("");
	}
	fclose(f);
	return buf;
}

pid_t bg_spawn(const struct bg_avmm *b, const char *log, int cpu, const char *const args[])
{
	const char *argv[32] = { build_path("avmm") };
	pid_t pid;
	int n = 1;

	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		setenv("AVMM_RUN_DIR", b->run_dir, 1);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void bg_reap(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
			pids[i] = 0;
		}
}
