/* The worker's thread runs under its own seccomp kind ("pgworker"): in kill
 * mode a whole promotion and demotion goes through, and a call outside its
 * list (a socket) stops the process with the report naming the filter.
 * Each case runs in a child process (filters cannot be removed). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "paging-mode/pgmode.h"

#define M (1ull << 20)

/* fn in a child in kill mode; its wait status, its stderr in err. */
static int in_child(int (*fn)(void), char *err, size_t len)
{
	int p[2], status;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		util_sandbox_set_mode(UTIL_SANDBOX_KILL);
		_exit(fn());
	}
	close(p[1]);
	while (have + 1 < len && (n = read(p[0], err + have, len - have - 1)) > 0)
		have += (size_t)n;
	err[have] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static int promote_and_demote(void)
{
	size_t len = 16 * M;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pgmode_worker *w;
	struct pgmode_worker_stats st;
	char why[PGMODE_WHY];

	if (p == MAP_FAILED || madvise(p, len, MADV_NOHUGEPAGE))
		return 2;
	memset(p, 3, len);
	if (pgmode_worker_create(p, len, 64, &w))
		return 3;
	if (pgmode_worker_request(w, PGMODE_PAGE_2M, why, sizeof(why)) ||
	    pgmode_worker_wait(w, 60000000000ull))
		return 4;
	pgmode_worker_stats(w, &st);
	if (!st.collapse_ok || !st.backing.valid || !st.backing.bytes_2m)
		return 5;
	if (pgmode_worker_request(w, PGMODE_PAGE_4K, why, sizeof(why)) ||
	    pgmode_worker_wait(w, 60000000000ull))
		return 6;
	pgmode_worker_destroy(w);
	return p[len - 1] == 3 ? 0 : 7;
}

static void *socket_thread(void *arg)
{
	pthread_setname_np(pthread_self(), "avmm-pgworker");
	if (util_sandbox_enter(UTIL_SANDBOX_PGWORKER))
		_exit(100);
	_exit(socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1);
}

static int worker_socket(void)
{
	pthread_t t;

	pthread_create(&t, NULL, socket_thread, NULL);
	pthread_join(t, NULL);
	return 101;
}

Test(worker_sandbox, promotion_and_demotion_run_under_the_filter)
{
	char err[2048];
	int st = in_child(promote_and_demote, err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the worker under its filter: status 0x%x; stderr: %s", st, err);
	cr_assert_null(strstr(err, "seccomp"), "%s", err);
}

Test(worker_sandbox, a_call_outside_the_list_is_reported)
{
	char err[2048];
	int st = in_child(worker_socket, err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == UTIL_SANDBOX_EXIT_STATUS,
		  "status 0x%x; stderr: %s", st, err);
	cr_assert(strstr(err, "thread avmm-pgworker made forbidden system call socket") &&
		  strstr(err, "(filter pgworker)"), "%s", err);
}
