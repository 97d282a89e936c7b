/*
 * soak: a bounded stress run of a real avmm (`make soak`, SOAK_SECONDS,
 * default 150). Each cycle starts avmm with the hello guest writing its
 * console without end (a PIO exit per byte) under the powercap profile on a
 * fake powercap tree, with --metrics, a trace and a console file; then
 * rounds of 200 control clients (well-behaved, hanging up early, slow, never
 * reading), a /metrics and / scraper, and profile switches. After each round
 * the process's fds, threads and resident memory are read; the cycle ends
 * with SIGHUP or SIGTERM in turn. It fails when anything grows from round to
 * round, a status is wrong, the 200 W limit is not back, or the socket or a
 * state file is left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/httpget.h"
#include "vmm-core/vmm.h"

#define CLIENTS_PER_ROUND 200
#define CLIENT_THREADS 8
#define ZONE "/sys/class/powercap/intel-rapl:0"

static char dir[64], run_dir[80], sock[108], fsroot[96], avmm_bin[256], guest[256];
static int port, failures;
static volatile int scraping;
static unsigned long scrapes, scrape_errors, client_errors;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("soak: FAIL: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	failures++;
}

static void put(const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s/%s", fsroot, ZONE, file);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(path);
		exit(2);
	}
}

static void prepare(void)
{
	char cmd[512];
	const char *b = getenv("AVMM_BUILD");

	snprintf(avmm_bin, sizeof(avmm_bin), "%s/avmm", b && *b ? b : "build");
	snprintf(guest, sizeof(guest), "%s/guests/hello.elf", b && *b ? b : "build");
	snprintf(dir, sizeof(dir), "/tmp/avmm-soak-XXXXXX");
	if (!mkdtemp(dir))
		exit(2);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	snprintf(sock, sizeof(sock), "%s/soak.sock", run_dir);
	snprintf(fsroot, sizeof(fsroot), "%s/fk", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s%s && ln -s /proc %s/proc", run_dir, fsroot,
		 ZONE, fsroot);
	if (system(cmd))
		exit(2);
	put("name", "package-0\n");
	put("energy_uj", "1000000\n");
	put("max_energy_range_uj", "262143328850\n");
	put("constraint_0_name", "long_term\n");
	put("constraint_0_power_limit_uw", "200000000\n");
	put("constraint_0_time_window_us", "999424\n");
	put("constraint_0_max_power_uw", "400000000\n");
	put("enabled", "1\n");
	port = 20000 + getpid() % 20000;
}

static pid_t start_avmm(void)
{
	char metrics[32], trace[128], console[128], log[128];
	pid_t pid;

	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	snprintf(trace, sizeof(trace), "%s/trace.jsonl", dir);
	snprintf(console, sizeof(console), "%s/console.txt", dir);
	snprintf(log, sizeof(log), "%s/avmm.log", dir);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		setenv("AVMM_RUN_DIR", run_dir, 1);
		dup2(fd, 1);
		dup2(fd, 2);
		execl(avmm_bin, "avmm", "run", "--socket", sock, "--metrics", metrics, "--trace",
		      trace, "--console", console, "--fsroot", fsroot, "--energy", "powercap",
		      "--profile", "powercap", guest, "--cmdline", "out=1G", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK); i++)
		util_sleep_ns(10000000);
	return pid;
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (fd >= 0 && connect(fd, (void *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Client kinds in turn: a full call, a hang-up before the answer, a request
 * that never ends (dropped after 5 s: left open here, closed by us later), a
 * flood that is never read, a profile switch. */
static void one_client(int i, int *lingering, int *nl)
{
	static const char *const profiles[] = { "energy", "powercap", "balanced" };
	char req[128], *ans = NULL;
	int fd;

	switch (i % 5) {
	case 0:
		if (vmm_ctl_call(sock, "{\"cmd\":\"stat\"}", &ans) || !strstr(ans, "\"samples\""))
			__atomic_fetch_add(&client_errors, 1, __ATOMIC_RELAXED);
		free(ans);
		break;
	case 1:
		fd = raw_connect();
		if (fd >= 0) {
			send(fd, "{\"cmd\":\"stat\"}\n{\"cmd\":\"commands\"}\n", 34, MSG_NOSIGNAL);
			close(fd);
		}
		break;
	case 2:
	case 3:
		fd = raw_connect();
		if (fd >= 0) {
			if (i % 5 == 2)
				send(fd, "{\"cmd\":\"sta", 11, MSG_NOSIGNAL);
			else
				for (int k = 0; k < 200; k++)
					send(fd, "{\"cmd\":\"commands\"}\n", 19,
					     MSG_NOSIGNAL | MSG_DONTWAIT);
			lingering[(*nl)++] = fd;
		}
		break;
	default:
		snprintf(req, sizeof(req), "{\"cmd\":\"profile\",\"name\":\"%s\"}",
			 profiles[(i / 5) % 3]);
		if (vmm_ctl_call(sock, req, &ans) || !strstr(ans, "\"ok\":true"))
			__atomic_fetch_add(&client_errors, 1, __ATOMIC_RELAXED);
		free(ans);
	}
}

static void *client_thread(void *arg)
{
	int first = (int)(long)arg, lingering[CLIENTS_PER_ROUND], nl = 0;

	for (int i = first; i < CLIENTS_PER_ROUND; i += CLIENT_THREADS)
		one_client(i, lingering, &nl);
	util_sleep_ns(300000000);
	while (nl)
		close(lingering[--nl]);
	return NULL;
}

static void *scraper(void *arg)
{
	(void)arg;
	while (scraping) {
		char *body = NULL;
		int code = http_get(port, scrapes % 10 ? "/metrics" : "/", &body, NULL, 0);

		__atomic_fetch_add(&scrapes, 1, __ATOMIC_RELAXED);
		if (code != 200)
			__atomic_fetch_add(&scrape_errors, 1, __ATOMIC_RELAXED);
		free(body);
		util_sleep_ns(100000000);
	}
	return NULL;
}

struct usage { int fds, threads; long rss_kib; };

static void read_usage(pid_t pid, struct usage *u)
{
	char path[64], buf[4096], *p;
	struct dirent *de;
	DIR *d;

	memset(u, 0, sizeof(*u));
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d)))
		u->fds += de->d_name[0] != '.';
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (util_read_file(NULL, path, buf, sizeof(buf)) > 0) {
		if ((p = strstr(buf, "Threads:")))
			u->threads = atoi(p + 8);
		if ((p = strstr(buf, "VmRSS:")))
			u->rss_kib = atol(p + 6);
	}
}

static uint64_t limit_uw(void)
{
	char path[512], buf[64];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "%s%s/constraint_0_power_limit_uw", fsroot, ZONE);
	if (util_read_file(NULL, path, buf, sizeof(buf)) > 0)
		util_parse_u64(buf, &v);
	return v;
}

static void round_of_clients(void)
{
	pthread_t th[CLIENT_THREADS];

	for (long i = 0; i < CLIENT_THREADS; i++)
		pthread_create(&th[i], NULL, client_thread, (void *)i);
	for (int i = 0; i < CLIENT_THREADS; i++)
		pthread_join(th[i], NULL);
	util_sleep_ns(6500000000ull); /* past the 5 s timeouts: every client is gone */
}

/* Back to the powercap profile; true once its 150 W cap is in force. */
static bool powercap_again(void)
{
	char *ans = NULL;

	if (vmm_ctl_call(sock, "{\"cmd\":\"profile\",\"name\":\"powercap\"}", &ans))
		return false;
	free(ans);
	for (int i = 0; i < 200; i++) {
		if (limit_uw() == 150000000)
			return true;
		util_sleep_ns(50000000);
	}
	return false;
}

static int wait_exit(pid_t pid, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		util_sleep_ns(10000000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static void check_clean(void)
{
	char path[160];
	DIR *d;
	struct dirent *de;

	if (limit_uw() != 200000000)
		fail("the power limit is %llu uW after the stop, not the original 200 W",
		     (unsigned long long)limit_uw());
	if (!access(sock, F_OK))
		fail("the control socket %s was left behind", sock);
	snprintf(path, sizeof(path), "%s/state", run_dir);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			fail("state file %s/%s was left behind", path, de->d_name);
	if (d)
		closedir(d);
}

static void cycle(int n, uint64_t end_ns)
{
	int sig = n % 2 ? SIGTERM : SIGHUP, rounds = 0, st;
	struct usage first = { 0 }, u = { 0 };
	pthread_t scr;
	pid_t pid = start_avmm();

	if (access(sock, F_OK)) {
		fail("cycle %d: avmm did not open its socket", n);
		wait_exit(pid, 100);
		return;
	}
	scraping = 1;
	pthread_create(&scr, NULL, scraper, NULL);
	do {
		round_of_clients();
		rounds++;
		read_usage(pid, &u);
		printf("soak: cycle %d round %d: %d clients, fds %d, threads %d, rss %ld KiB\n", n,
		       rounds, CLIENTS_PER_ROUND, u.fds, u.threads, u.rss_kib);
		fflush(stdout);
		if (rounds == 1) {
			first = u;
		} else {
			if (u.fds > first.fds)
				fail("cycle %d: fds grew from %d to %d", n, first.fds, u.fds);
			if (u.threads > first.threads)
				fail("cycle %d: threads grew from %d to %d", n, first.threads, u.threads);
			if (u.rss_kib > first.rss_kib + 4096)
				fail("cycle %d: resident memory grew from %ld to %ld KiB", n,
				     first.rss_kib, u.rss_kib);
		}
	} while (rounds < 2 || (rounds < 4 && util_now_ns() + 10000000000ull < end_ns));
	scraping = 0;
	pthread_join(scr, NULL);
	if (!powercap_again())
		fail("cycle %d: back on the powercap profile, its 150 W cap was not set (%llu uW)",
		     n, (unsigned long long)limit_uw());
	kill(pid, sig);
	st = wait_exit(pid, 10000);
	printf("soak: cycle %d: %s -> exit status %d\n", n, strsignal(sig), st);
	if (st != 128 + sig)
		fail("cycle %d: exit status %d after %s, expected %d", n, st, strsignal(sig),
		     128 + sig);
	check_clean();
}

int main(int argc, char **argv)
{
	const char *env = getenv("SOAK_SECONDS");
	long secs = argc > 1 ? atol(argv[1]) : env ? atol(env) : 150;
	uint64_t end;
	int n = 0;
	char cmd[96];

	signal(SIGPIPE, SIG_IGN);
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("soak: skipped: /dev/kvm is not available here (%s)\n", strerror(errno));
		return 0;
	}
	prepare();
	end = util_now_ns() + (uint64_t)secs * 1000000000ull;
	printf("soak: %ld s in %s: hello out=1G on the console, %d clients a round, a scraper "
	       "at 10 Hz, profile switches, SIGHUP/SIGTERM in turn\n", secs, dir, CLIENTS_PER_ROUND);
	do
		cycle(++n, end);
	while (util_now_ns() + 20000000000ull < end);
	printf("soak: %d cycle(s), %lu scrapes (%lu failed), %lu client calls failed\n", n, scrapes,
	       scrape_errors, client_errors);
	if (scrape_errors > scrapes / 20)
		fail("%lu of %lu scrapes failed", scrape_errors, scrapes);
	if (client_errors)
		fail("%lu control calls that should have been answered were not", client_errors);
	if (!failures) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			printf("soak: could not remove %s\n", dir);
	}
	printf("soak: %s\n", failures ? "FAILED (logs kept in the folder above)" : "passed");
	return failures ? 1 : 0;
}
