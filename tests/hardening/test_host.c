/* Host hardening on a real avmm: clients that hang up, stall or never read,
 * signals, a killed avmm's power limits, socket modes and credentials,
 * planted symlinks, stale sockets, bad names. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
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
#include "tests/lib/run_helpers.h"
#include "tests/lib/httpget.h"
#include "vmm-core/vmm.h"

static struct bg_avmm b;
static char out[1 << 16];

static void teardown(void) { bg_cleanup(&b); }
TestSuite(host, .fini = teardown, .timeout = 90);

static void start_capped(int secs)
{
	const char *extra[] = { "--fsroot", b.fsroot, "--energy", "powercap", "--profile",
				"powercap", NULL };

	bg_prepare(&b);
	bg_start(&b, secs, -1, extra);
	cr_assert(wait_capped(&b, 15000), "the powercap profile never set a cap");
	cr_assert_eq(fake_limit_uw(&b), 150000000);
}

static void assert_restored(void)
{
	char path[256];

	cr_assert_eq(fake_limit_uw(&b), 200000000, "the original 200 W limit is not back");
	snprintf(path, sizeof(path), "%s/state/%d.state", b.run_dir, (int)b.pid);
	cr_assert_neq(access(b.sock, F_OK), 0, "the control socket was left behind");
}

Test(host, clients_that_hang_up_do_not_kill_avmm)
{
	char *ans = NULL;

	start_capped(60);
	for (int i = 0; i < 100; i++) {
		int fd = client_connect(b.sock);

		cr_assert_geq(fd, 0);
		for (int j = 0; j < 20; j++)
			send(fd, "{\"cmd\":\"commands\"}\n", 19, MSG_NOSIGNAL);
		close(fd); /* before any answer is read: the answers hit a closed socket */
	}
	util_sleep_ns(300000000);
	cr_assert(bg_alive(&b), "avmm died when clients hung up: %s", file_text(b.out));
	cr_assert_eq(vmm_ctl_call(b.sock, "{\"cmd\":\"commands\"}", &ans), 0);
	cr_assert(strstr(ans, "\"ok\":true"), "%s", ans);
	free(ans);
	kill(b.pid, SIGTERM);
	cr_assert_eq(bg_wait(&b, 10000), 128 + SIGTERM);
	assert_restored();
}

Test(host, stdout_closed_reader_is_not_fatal)
{
	int p[2], status;
	pid_t pid;

	require_kvm();
	cr_assert_eq(pipe(p), 0);
	close(p[0]); /* like `avmm run ... | head -1` after head has gone */
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl(build_path("avmm"), "avmm", "run", "--socket", "",
		      build_path("guests/hello.elf"), (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status), "avmm was killed by signal %d", WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "the guest's status (powered off: 0) must come through");
}

Test(host, a_slow_client_does_not_starve_others_and_is_dropped)
{
	char line[512], *ans = NULL;
	uint64_t t0;
	int fd, n;

	bg_prepare(&b);
	bg_start(&b, 60, -1, NULL);
	fd = client_connect(b.sock);
	cr_assert_geq(fd, 0);
	cr_assert_eq(send(fd, "{\"cm", 4, MSG_NOSIGNAL), 4);
	for (int i = 0; i < 3; i++) {
		util_sleep_ns(1500000000ull);
		send(fd, "d", 1, MSG_NOSIGNAL); /* one byte every 1.5 s */
		t0 = util_now_ns();
		cr_assert_eq(vmm_ctl_call(b.sock, "{\"cmd\":\"commands\"}", &ans), 0);
		cr_assert_lt(util_now_ns() - t0, 1000000000ull,
			     "another client waited behind the slow one");
		free(ans);
		ans = NULL;
	}
	/* its line started 4.5 s ago: within a second or two it is answered and closed */
	n = client_line(fd, line, sizeof(line), 3000);
	cr_assert_gt(n, 0, "the slow client was neither answered nor closed (%d)", n);
	cr_assert(strstr(line, "did not end") || strstr(line, "5 s"), "%s", line);
	close(fd);
	cr_assert(bg_alive(&b));
}

Test(host, a_client_that_never_reads_does_not_block_sigterm)
{
	static char reqs[19 * 4096];
	char *ans = NULL;
	int fd, sent = 0;

	bg_prepare(&b);
	bg_start(&b, 60, -1, NULL);
	fd = client_connect(b.sock);
	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < sizeof(reqs); i += 19)
		memcpy(reqs + i, "{\"cmd\":\"commands\"}\n", 19);
	for (int i = 0; i < 200; i++) {
		ssize_t n = send(fd, reqs, sizeof(reqs), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		sent += (int)n;
	}
	cr_assert_gt(sent, 0);
	cr_assert_eq(vmm_ctl_call(b.sock, "{\"cmd\":\"commands\"}", &ans), 0,
		     "a second client is not served while one does not read");
	free(ans);
	kill(b.pid, SIGTERM);
	cr_assert_eq(bg_wait(&b, 5000), 128 + SIGTERM, "SIGTERM hung with a non-reading client");
	close(fd);
}

Test(host, a_nul_in_a_request_is_answered_and_the_next_line_served)
{
	static const char req[] = "{\"cmd\":\"comm\0ands\"}\n{\"cmd\":\"commands\"}\n";
	char line[1024];
	uint64_t t0;
	int fd;

	bg_prepare(&b);
	bg_start(&b, 60, -1, NULL);
	fd = client_connect(b.sock);
	cr_assert_geq(fd, 0);
	t0 = util_now_ns();
	cr_assert_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
	cr_assert_gt(client_line(fd, line, sizeof(line), 1000), 0);
	cr_assert(strstr(line, "NUL"), "%s", line);
	cr_assert_gt(client_line(fd, line, sizeof(line), 1000), 0);
	cr_assert(strstr(line, "\"commands\":["), "%s", line);
	cr_assert_lt(util_now_ns() - t0, 1000000000ull);
	close(fd);
}

Test(host, sighup_and_sigquit_stop_and_restore_like_sigterm)
{
	static const int sigs[] = { SIGHUP, SIGQUIT };

	for (size_t i = 0; i < 2; i++) {
		start_capped(60);
		kill(b.pid, sigs[i]);
		cr_assert_eq(bg_wait(&b, 10000), 128 + sigs[i], "signal %d", sigs[i]);
		assert_restored();
		bg_cleanup(&b);
	}
}

Test(host, a_stray_sigusr2_changes_nothing)
{
	bg_prepare(&b);
	bg_start(&b, 60, -1, NULL);
	kill(b.pid, SIGUSR2);
	util_sleep_ns(300000000);
	cr_assert(bg_alive(&b));
	kill(b.pid, SIGTERM);
	cr_assert_eq(bg_wait(&b, 10000), 128 + SIGTERM, "SIGTERM after SIGUSR2 was not taken");
}

Test(host, a_killed_avmm_is_repaired_by_restore_and_by_the_next_run)
{
	char state[256], *text;
	pid_t pid;
	int st;

	start_capped(60);
	pid = b.pid;
	snprintf(state, sizeof(state), "%s/state/%d.state", b.run_dir, (int)pid);
	text = file_text(state);
	cr_assert(text, "no state file %s", state);
	cr_assert(strstr(text, "constraint_0_power_limit_uw 200000000"), "%s", text);
	free(text);
	kill(pid, SIGKILL);
	cr_assert_eq(bg_wait(&b, 5000), 128 + SIGKILL);
	cr_assert_eq(fake_limit_uw(&b), 150000000, "SIGKILL leaves the cap in force");
	setenv("AVMM_RUN_DIR", b.run_dir, 1);
	st = run_avmm(out, sizeof(out), (const char *[]){ "restore", NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "is gone"), "%s", out);
	cr_assert_eq(fake_limit_uw(&b), 200000000, "%s", out);
	cr_assert_neq(access(state, F_OK), 0, "the repaired state file stays");

	/* again, repaired this time by the next avmm run */
	bg_start(&b, 60, -1, (const char *[]){ "--fsroot", b.fsroot, "--energy", "powercap",
			  "--profile", "powercap", NULL });
	cr_assert(wait_capped(&b, 15000));
	kill(b.pid, SIGKILL);
	cr_assert_eq(bg_wait(&b, 5000), 128 + SIGKILL);
	st = run_avmm(out, sizeof(out), (const char *[]){ "-v", "run", "--socket", "",
			  build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "repaired"), "%s", out);
	cr_assert_eq(fake_limit_uw(&b), 200000000, "%s", out);
	unsetenv("AVMM_RUN_DIR");
}

Test(host, socket_is_0600_whatever_the_umask)
{
	struct stat st;

	bg_prepare(&b);
	bg_start(&b, 60, 0, NULL);
	cr_assert_eq(stat(b.sock, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
}

Test(host, other_users_are_refused_by_their_credentials)
{
	char line[512];
	int p[2], status;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to act as another user");
	bg_prepare(&b);
	bg_start(&b, 60, -1, NULL);
	chmod(b.sock, 0666); /* past the mode: the credential check must still hold */
	chmod(b.run_dir, 0755);
	chmod(b.dir, 0755);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		int fd, n;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		fd = client_connect(b.sock);
		if (fd < 0)
			_exit(4);
		send(fd, "{\"cmd\":\"profile\",\"name\":\"powercap\"}\n", 36, MSG_NOSIGNAL);
		n = client_line(fd, line, sizeof(line), 2000);
		if (n > 0 && write(p[1], line, (size_t)n) < 0)
			_exit(5);
		_exit(n > 0 ? 0 : 6);
	}
	close(p[1]);
	waitpid(pid, &status, 0);
	cr_assert_eq(WEXITSTATUS(status), 0, "the other user's client failed (%d)",
		     WEXITSTATUS(status));
	memset(line, 0, sizeof(line));
	cr_assert_gt(read(p[0], line, sizeof(line) - 1), 0);
	close(p[0]);
	cr_assert(strstr(line, "permission denied"), "%s", line);
	cr_assert(strstr(line, "65534"), "%s", line);
}

Test(host, a_planted_trace_symlink_is_not_followed)
{
	char victim[256], link[256], *text;
	int st;

	bg_prepare(&b);
	snprintf(victim, sizeof(victim), "%s/victim", b.dir);
	snprintf(link, sizeof(link), "%s/t.jsonl", b.dir);
	cr_assert_eq(system("true"), 0);
	fclose(fopen(victim, "w"));
	cr_assert_eq(util_write_file(NULL, victim, "keep\n"), 0);
	cr_assert_eq(symlink(victim, link), 0);
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--trace", link,
			  build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 2, "a trace that cannot be written stops the run before the guest: %s",
		     out);
	cr_assert(strstr(out, "symbolic link"), "%s", out);
	cr_assert(!strstr(out, "AVMM-RESULT"), "the guest must not have started: %s", out);
	/* best effort: the guest runs without the trace, and the link is still not followed */
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", "", "--best-effort",
			  "--trace", link, build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 0, "%s", out);
	cr_assert(strstr(out, "symbolic link"), "%s", out);
	text = file_text(victim);
	cr_assert_str_eq(text, "keep\n");
	free(text);
}

Test(host, a_regular_file_at_the_socket_path_is_not_removed)
{
	int st;

	bg_prepare(&b);
	fclose(fopen(b.out, "w"));
	cr_assert_eq(util_write_file(NULL, b.out, "precious\n"), 0);
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--socket", b.out,
			  build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "not a socket"), "%s", out);
	cr_assert_eq(access(b.out, F_OK), 0, "the file was deleted");
}

Test(host, a_name_with_slashes_is_refused)
{
	int st;

	require_kvm();
	st = run_avmm(out, sizeof(out), (const char *[]){ "run", "--name", "../..",
			  build_path("guests/hello.elf"), NULL });
	cr_assert_eq(st, 2, "%s", out);
	cr_assert(strstr(out, "--name '../..'"), "%s", out);
}

Test(host, a_killed_avmm_energy_cap_is_repaired)
{
	pid_t pid;
	int st;

	bg_prepare(&b);
	pid = fork();
	if (pid == 0) {
		setenv("AVMM_RUN_DIR", b.run_dir, 1);
		freopen("/dev/null", "w", stdout);
		execl(build_path("avmm"), "avmm", "energy", "--fsroot", b.fsroot, "--cap", "100",
		      (char *)NULL);
		_exit(127);
	}
	b.pid = pid;
	cr_assert(wait_capped(&b, 10000), "avmm energy --cap did not cap");
	cr_assert_eq(fake_limit_uw(&b), 100000000);
	kill(pid, SIGKILL);
	cr_assert_eq(bg_wait(&b, 5000), 128 + SIGKILL);
	setenv("AVMM_RUN_DIR", b.run_dir, 1);
	st = run_avmm(out, sizeof(out), (const char *[]){ "restore", NULL });
	unsetenv("AVMM_RUN_DIR");
	cr_assert_eq(st, 0, "%s", out);
	cr_assert_eq(fake_limit_uw(&b), 200000000, "%s", out);
}

Test(host, console_drops_are_exported)
{
	char con[160], metrics[32], *body = NULL, *p;
	double written = -1, dropped = -1;
	pid_t pid;
	int port = 0;

	bg_prepare(&b);
	snprintf(con, sizeof(con), "%s/console.txt", b.dir);
	port = 21000 + getpid() % 20000;
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		execl(build_path("avmm"), "avmm", "run", "--socket", "", "--metrics", metrics,
		      "--console", con, "--console-max", "100", build_path("guests/hello.elf"),
		      "--cmdline", "out=5000 idle_ms=4000", (char *)NULL);
		_exit(127);
	}
	b.pid = pid;
	for (int i = 0; i < 60 && dropped <= 0; i++) {
		util_sleep_ns(100000000);
		free(body);
		body = NULL;
		if (http_get(port, "/metrics", &body, NULL, 0) != 200)
			continue;
		p = strstr(body, "avmm_console_bytes_total{vm=\"avmm\",source=\"vmm\",outcome=\"written\"}");
		if (p)
			written = strtod(strchr(p, '}') + 1, NULL);
		p = strstr(body, "avmm_console_bytes_total{vm=\"avmm\",source=\"vmm\",outcome=\"dropped\"}");
		if (p)
			dropped = strtod(strchr(p, '}') + 1, NULL);
	}
	cr_assert_gt(dropped, 0, "no dropped console bytes exported: %s", body ? body : "(none)");
	cr_assert(written >= 0 && written <= 100, "written %g over the 100-byte cap", written);
	free(body);
}
