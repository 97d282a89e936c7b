/* Process helpers for bench/migrate (header-only, static): start a monitor
 * with its output in a file, wait for a line in a file, for a TCP listener on
 * 127.0.0.1, for an exit. Times in ms; errors 0 or -errno. */
#ifndef AVMM_BENCH_MIGRATE_PROC_H
#define AVMM_BENCH_MIGRATE_PROC_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* argv with stdout and stderr into out (created, truncated); -1 on error. */
static inline pid_t mp_spawn(char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* The whole file as a string (malloc'd; "" when it cannot be read). */
static inline char *mp_file_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t len = 0;

	if (f) {
		FILE *m = open_memstream(&s, &len);
		char buf[4096];
		size_t n;

		while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, m);
		if (m)
			fclose(m);
		fclose(f);
	}
	return s ? s : strdup("");
}

/* Exit status of pid (128 + signal), waiting up to ms (then SIGKILL: -1). */
static inline int mp_wait_exit(pid_t pid, int ms)
{
	int st = 0;

	for (int i = 0; i <= ms / 20; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Waits up to ms for needle in file while pid lives: 0, -ETIMEDOUT, or
 * -ECHILD when pid exited first (its status in *status). */
static inline int mp_wait_text(const char *file, const char *needle, pid_t pid, int ms,
			       int *status)
{
	int st;

	for (int i = 0; i <= ms / 10; i++) {
		char *t = mp_file_text(file);
		int found = strstr(t, needle) != NULL;

		free(t);
		if (found)
			return 0;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Whether /proc/net/tcp lists a listener (state 0A) on 127.0.0.1:port;
 * probing with connect() would be taken for the migration itself. */
static inline int mp_listening(unsigned port)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	char line[512], want[32];
	int yes = 0;

	if (!f)
		return 0;
	snprintf(want, sizeof(want), "0100007F:%04X 00000000:0000 0A", port);
	while (!yes && fgets(line, sizeof(line), f))
		yes = strstr(line, want) != NULL;
	fclose(f);
	return yes;
}

static inline int mp_wait_listening(unsigned port, pid_t pid, int ms, int *status)
{
	int st;

	for (int i = 0; i <= ms / 10; i++) {
		if (mp_listening(port))
			return 0;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* A TCP port on 127.0.0.1 free right now (the kernel's pick), or 0. */
static inline unsigned mp_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

#endif
