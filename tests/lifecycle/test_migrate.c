/* Live migration between two real avmm processes on this machine: memwrite
 * (fills 2 MiB six times at a 64-byte stride and verifies every word at the
 * end) migrated mid-run over a Unix socket and over TCP on 127.0.0.1 ends
 * ok=1 with status 0 at the target, and the source exits 0 with its summary;
 * a target that refuses (another --mem) or a peer that goes away mid-stream
 * leaves the source running its guest to its own ok=1; a target that takes
 * the whole VM and the go but never says it runs it leaves the source's
 * guest paused (never on both sides), to be resumed there by hand; a real
 * target whose 'K' is lost on the way (a relay drops it) never runs the
 * guest while the source runs on. Plus the pure parts: addresses and the
 * convergence rule. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/lib/bg_avmm.h"
#include "tests/lib/migpeer.h"
#include "tests/lib/run_helpers.h"
#include "vmm-core/vmm.h"

#define CMDLINE "bytes=2097152 stride=64 passes=6"

struct proc {
	pid_t pid;
	char out[160];
};

static char dir[64], sock[128];
static const char *vcpus = "1", *profile;

static void setup_dir(void)
{
	require_kvm();
	snprintf(dir, sizeof(dir), "/tmp/avmm-mig-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/src.sock", dir);
}

/* The profile the next spawns run under: balanced plus text, in a file
 * under /tmp (its own folder: setup_dir makes a new one per run). */
static void use_profile(const char *text)
{
	static char path[64];
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/avmm-mig-profile-XXXXXX.ini");
	fd = mkstemps(path, 4);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert(f);
	fprintf(f, "[main]\ninclude = balanced\n%s", text);
	fclose(f);
	profile = path;
}

/* avmm run [--incoming ADDR] --mem MEM memwrite; output to dir/NAME.txt. */
static void spawn(struct proc *p, const char *name, const char *incoming, const char *mem)
{
	char ctl[160];
	const char *argv[20] = { build_path("avmm"), "run", "--no-agent", "--mem", mem, "--socket",
				 ctl, "--vcpus", vcpus, "--cmdline", CMDLINE };
	int n = 11;

	snprintf(ctl, sizeof(ctl), "%s/%s.sock", dir, name);
	if (incoming)
		argv[n++] = "--incoming", argv[n++] = incoming;
	if (profile)
		argv[n++] = "--profile", argv[n++] = profile;
	argv[n++] = build_path("guests/memwrite.elf");
	argv[n] = NULL;
	snprintf(p->out, sizeof(p->out), "%s/%s.txt", dir, name);
	p->pid = fork();
	cr_assert(p->pid >= 0);
	if (p->pid == 0) {
		int fd = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setenv("AVMM_RUN_DIR", dir, 1);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

static void wait_sock(const char *path)
{
	for (int i = 0; i < 100 && vmm_ctl_call(path, NULL, NULL); i++)
		util_sleep_ns(50000000);
	cr_assert_eq(vmm_ctl_call(path, NULL, NULL), 0, "no control socket at %s", path);
}

static int finish(struct proc *p, int secs)
{
	int st = 0;

	for (int i = 0; i < secs * 10; i++) {
		if (waitpid(p->pid, &st, WNOHANG) == p->pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		util_sleep_ns(100000000);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	return -1;
}

static void wait_listening(const char *addr)
{
	for (int i = 0; i < 100; i++) {
		if (!strncmp(addr, "unix:", 5) ? !access(addr + 5, F_OK) : true) {
			util_sleep_ns(200000000);   /* tcp: the listener is up by then */
			return;
		}
		util_sleep_ns(50000000);
	}
}

/* Source and target, migrate mid-run, both end as they should. */
static void migrate_ok(const char *addr)
{
	struct proc src, tgt;
	char out[8192], *t, *s;
	const char *ctl[] = { "ctl", "--socket", sock, "migrate", addr, NULL };

	spawn(&tgt, "tgt", addr, "32M");
	wait_listening(addr);
	spawn(&src, "src", NULL, "32M");
	wait_sock(sock);
	util_sleep_ns(700000000);
	cr_assert_eq(run_avmm(out, sizeof(out), ctl), 0, "%s", out);
	cr_assert(strstr(out, "migrated:") && strstr(out, "rounds") && strstr(out, "downtime"),
		  "the client prints the summary: %s", out);
	cr_assert_eq(finish(&src, 30), 0, "the source exits 0");
	cr_assert_eq(finish(&tgt, 90), 0, "the target ends with the guest's own status");
	s = file_text(src.out);
	t = file_text(tgt.out);
	cr_assert(s && strstr(s, "migrated:") && !strstr(s, "AVMM-RESULT"),
		  "the source logs its summary and its guest does not finish there: %s", s);
	cr_assert(t && strstr(t, "AVMM-RESULT guest=memwrite") && strstr(t, "passes=6") &&
		  strstr(t, "ok=1"), "the target's guest verifies every word: %s", t);
	free(s);
	free(t);
}

Test(migrate, unix_socket_mid_run, .timeout = 150)
{
	char addr[160];

	setup_dir();
	snprintf(addr, sizeof(addr), "unix:%s/mig.sock", dir);
	migrate_ok(addr);
}

Test(migrate, tcp_loopback_mid_run, .timeout = 150)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	char addr[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	setup_dir();
	cr_assert_eq(bind(fd, (void *)&a, sizeof(a)), 0);   /* a free port */
	cr_assert_eq(getsockname(fd, (void *)&a, &al), 0);
	close(fd);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	migrate_ok(addr);
}

/* Two vCPUs (memwrite runs on the first; the second's state, halted, must
 * arrive too: the target refuses a stream without every vCPU's parts). */
Test(migrate, two_vcpus_unix_socket, .timeout = 150)
{
	char addr[160];

	setup_dir();
	vcpus = "2";
	snprintf(addr, sizeof(addr), "unix:%s/mig.sock", dir);
	migrate_ok(addr);
}

/* The source tracks written pages with KVM's dirty ring for bankmap (which
 * harvests it every tick: the migration's tap must still see every page).
 * kvm_pvm can overrun the ring (dirty.c); then the migration must fail and
 * the source run on, never the target with stale pages. Either way the
 * guest that finishes verifies every word. */
Test(migrate, dirty_ring_with_bankmap_harvesting, .timeout = 150)
{
	struct proc src, tgt;
	char out[8192], addr[160], *s, *t;
	const char *ctl[] = { "ctl", "--socket", sock, "migrate", addr, NULL };
	int rc;

	setup_dir();
	use_profile("[bankmap]\nenabled = yes\nwritten_sets = yes\n");
	snprintf(addr, sizeof(addr), "unix:%s/mig.sock", dir);
	spawn(&tgt, "tgt", addr, "32M");
	wait_listening(addr);
	spawn(&src, "src", NULL, "32M");
	wait_sock(sock);
	util_sleep_ns(1500000000);
	rc = run_avmm(out, sizeof(out), ctl);
	s = file_text(src.out);
	cr_assert(s && strstr(s, "dirty ring"), "the source tracks with the ring: %s", s);
	free(s);
	if (rc == 0) {
		cr_assert_eq(finish(&src, 30), 0);
		cr_assert_eq(finish(&tgt, 90), 0);
		t = file_text(tgt.out);
		cr_assert(t && strstr(t, "passes=6") && strstr(t, "ok=1"), "%s", t);
		free(t);
	} else {
		char *log = file_text(src.out);

		/* the only failure expected: kvm_pvm's ring overflow, source runs on */
		cr_assert(rc == 1 && strstr(out, "dirty ring overflowed") && strstr(out, "runs on"),
			  "ctl migrate: status %d: %s\nthe source's log:\n%s", rc, out, log ?: "");
		free(log);
		cr_assert_eq(finish(&tgt, 30), 2, "the target runs nothing");
		cr_assert_eq(finish(&src, 90), 0);
		s = file_text(src.out);
		cr_assert(s && strstr(s, "ok=1"), "%s", s);
		free(s);
	}
}

/* A target with another --mem refuses the header: nothing else moves, the
 * target exits 2 without running a guest, the source's guest finishes. */
Test(migrate, refused_by_target_source_runs_on, .timeout = 150)
{
	struct proc src, tgt;
	char out[8192], addr[160], *s, *t;
	const char *ctl[] = { "ctl", "--socket", sock, "migrate", addr, NULL };

	setup_dir();
	snprintf(addr, sizeof(addr), "unix:%s/mig.sock", dir);
	spawn(&tgt, "tgt", addr, "64M");
	wait_listening(addr);
	spawn(&src, "src", NULL, "32M");
	wait_sock(sock);
	util_sleep_ns(500000000);
	cr_assert_eq(run_avmm(out, sizeof(out), ctl), 1, "%s", out);
	cr_assert(strstr(out, "refused the header") && strstr(out, "--mem") &&
		  strstr(out, "runs on"), "%s", out);
	cr_assert_eq(finish(&tgt, 30), 2, "the target refuses and runs nothing");
	cr_assert_eq(finish(&src, 90), 0, "the source's guest finishes");
	s = file_text(src.out);
	t = file_text(tgt.out);
	cr_assert(s && strstr(s, "ok=1") && strstr(s, "migration failed"), "%s", s);
	cr_assert(t && !strstr(t, "AVMM-RESULT") && strstr(t, "refused"), "%s", t);
	free(s);
	free(t);
}

/* A peer that accepts, takes the header, says yes, reads 256 KiB and hangs
 * up in the middle of the RAM. */
static void *vanishing_peer(void *arg)
{
	int fd = migpeer_accept(arg);
	static char buf[256 << 10];
	size_t got;
	ssize_t n;

	if (fd < 0)
		return NULL;
	for (got = 0; got < sizeof(buf) && (n = read(fd, buf, sizeof(buf) - got)) > 0;)
		got += (size_t)n;
	close(fd);
	return NULL;
}

/* A source migrating to peer (a thread on a listening socket), which the
 * migration must fail at (`avmm ctl` status 1, its output in out). */
static void migrate_to_fake(void *(*peer)(void *), struct proc *src, char *out, size_t len)
{
	char addr[160], why[256];
	const char *ctl[] = { "ctl", "--socket", sock, "migrate", addr, NULL };
	pthread_t th;
	int lfd;

	setup_dir();
	snprintf(addr, sizeof(addr), "unix:%s/mig.sock", dir);
	lfd = vmm_migrate_listen(addr, why, sizeof(why));
	cr_assert_geq(lfd, 0, "%s", why);
	cr_assert_eq(pthread_create(&th, NULL, peer, &lfd), 0);
	spawn(src, "src", NULL, "32M");
	wait_sock(sock);
	util_sleep_ns(500000000);
	cr_assert_eq(run_avmm(out, len, ctl), 1, "%s", out);
	pthread_join(th, NULL);
	close(lfd);
}

Test(migrate, peer_gone_mid_transfer_source_runs_on, .timeout = 150)
{
	struct proc src;
	char out[8192], *s;

	migrate_to_fake(vanishing_peer, &src, out, sizeof(out));
	cr_assert(strstr(out, "failed") && strstr(out, "runs on"), "%s", out);
	cr_assert_eq(finish(&src, 90), 0, "the source's guest finishes");
	s = file_text(src.out);
	cr_assert(s && strstr(s, "ok=1") && strstr(s, "migration failed"), "%s", s);
	free(s);
}

/* A peer that accepts, takes the header and then says nothing for 20 s. */
static void *mute_peer(void *arg)
{
	int fd = accept(*(const int *)arg, NULL, NULL);
	static char buf[4096];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t end = util_now_ns() + 20000000000ull;

	while (fd >= 0 && util_now_ns() < end && poll(&p, 1, 100) >= 0)
		if ((p.revents & POLLIN) && read(fd, buf, sizeof(buf)) <= 0)
			break;    /* the source hung up: it gave up */
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* [migration] answer_timeout_ms: a target that never answers the header
 * fails the migration after that long (not the default 120 s), with the
 * reason naming the setting, and the source runs on. */
Test(migrate, a_mute_target_is_given_up_after_the_profiles_answer_timeout, .timeout = 150)
{
	struct proc src;
	char out[8192], *s;
	uint64_t t0;

	use_profile("[migration]\nanswer_timeout_ms = 1500\n");
	t0 = util_now_ns();
	migrate_to_fake(mute_peer, &src, out, sizeof(out));
	cr_assert_lt(util_now_ns() - t0, 15000000000ull, "the source waited %.1f s",
		     (util_now_ns() - t0) / 1e9);
	cr_assert(strstr(out, "did not answer the header within 1.5 s") &&
		  strstr(out, "answer_timeout_ms") && strstr(out, "runs on"), "%s", out);
	cr_assert_eq(finish(&src, 90), 0, "the source's guest finishes");
	s = file_text(src.out);
	cr_assert(s && strstr(s, "ok=1") && strstr(s, "migration failed"), "%s", s);
	free(s);
}

Test(migrate, unconfirmed_handover_leaves_the_source_paused, .timeout = 150)
{
	struct proc src;
	char out[8192], *s;
	const char *resume[] = { "ctl", "--socket", sock, "resume", NULL };

	migrate_to_fake(migpeer_silent_after_go, &src, out, sizeof(out));
	cr_assert_eq(migpeer_go, 'G', "the source told the target to run the VM after 'K'");
	cr_assert(strstr(out, "unconfirmed") && strstr(out, "paused here"), "%s", out);
	util_sleep_ns(1000000000);
	cr_assert_eq(waitpid(src.pid, NULL, WNOHANG), 0, "the source ended: %s", file_text(src.out));
	s = file_text(src.out);
	cr_assert(s && !strstr(s, "AVMM-RESULT"), "the guest ran on at the source: %s", s);
	free(s);
	cr_assert_eq(run_avmm(out, sizeof(out), resume), 0, "%s", out);
	cr_assert_eq(finish(&src, 90), 0, "the source's guest finishes once resumed");
	s = file_text(src.out);
	cr_assert(s && strstr(s, "ok=1") && strstr(s, "migration unconfirmed"), "%s", s);
	free(s);
}

/* A relay between a real source and a real target that passes the stream
 * and the target's first answer ('Y') but hangs up on both when the second
 * ('K': the VM restored) comes, as a link that drops at that moment. */
struct relay {
	int lfd;
	const char *target;
	bool dropped;
};

static void *dropping_relay(void *arg)
{
	struct relay *r = arg;
	int s = accept(r->lfd, NULL, NULL), t, answers = 0;
	char why[256], buf[1 << 16];
	struct pollfd p[2];
	ssize_t n;

	if (s < 0)
		return NULL;
	t = vmm_migrate_connect(r->target, why, sizeof(why));
	p[0] = (struct pollfd){ .fd = s, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = t, .events = POLLIN };
	while (t >= 0 && poll(p, 2, 30000) > 0) {
		if (p[0].revents) {
			if ((n = read(s, buf, sizeof(buf))) <= 0)
				break;
			for (ssize_t k = 0; k < n;) {
				ssize_t w = write(t, buf + k, (size_t)(n - k));

				if (w <= 0)
					goto out;
				k += w;
			}
		}
		if (p[1].revents) {
			if ((n = read(t, buf, 1)) != 1)
				break;
			if (++answers == 2) {
				r->dropped = buf[0] == 'K';
				break;
			}
			if (write(s, buf, 1) != 1)
				break;
		}
	}
out:
	close(s);
	if (t >= 0)
		close(t);
	return NULL;
}

Test(migrate, lost_restored_answer_target_never_runs_source_runs_on, .timeout = 150)
{
	struct proc src, tgt;
	char out[8192], addr[160], taddr[160], why[256], *s, *t;
	const char *ctl[] = { "ctl", "--socket", sock, "migrate", addr, NULL };
	struct relay r = { .target = taddr };
	pthread_t th;

	setup_dir();
	snprintf(addr, sizeof(addr), "unix:%s/relay.sock", dir);
	snprintf(taddr, sizeof(taddr), "unix:%s/mig.sock", dir);
	r.lfd = vmm_migrate_listen(addr, why, sizeof(why));
	cr_assert_geq(r.lfd, 0, "%s", why);
	spawn(&tgt, "tgt", taddr, "32M");
	wait_listening(taddr);
	cr_assert_eq(pthread_create(&th, NULL, dropping_relay, &r), 0);
	spawn(&src, "src", NULL, "32M");
	wait_sock(sock);
	util_sleep_ns(500000000);
	cr_assert_eq(run_avmm(out, sizeof(out), ctl), 1, "%s", out);
	pthread_join(th, NULL);
	close(r.lfd);
	cr_assert(r.dropped, "the relay never saw the target's 'K'");
	cr_assert(strstr(out, "runs on"), "%s", out);
	cr_assert_eq(finish(&tgt, 30), 2, "the target ran without the source's go");
	cr_assert_eq(finish(&src, 90), 0, "the source's guest finishes");
	s = file_text(src.out);
	t = file_text(tgt.out);
	cr_assert(s && strstr(s, "ok=1") && strstr(s, "migration failed"), "%s", s);
	cr_assert(t && !strstr(t, "AVMM-RESULT") && strstr(t, "did not hand the VM over"), "%s", t);
	free(s);
	free(t);
}

/* Four pre-copy rounds asked for (min_rounds): rounds 2-4 and the stop and
 * copy come from the dirty log turned on at migrate time; the guest still
 * verifies every word at the target. */
Test(migrate, several_rounds_from_the_dirty_log, .timeout = 150)
{
	struct proc src, tgt;
	char addr[160], why[256], *answer = NULL, *t;
	json_t *a;
	int fd;

	setup_dir();
	snprintf(addr, sizeof(addr), "unix:%s/mig.sock", dir);
	spawn(&tgt, "tgt", addr, "32M");
	wait_listening(addr);
	spawn(&src, "src", NULL, "32M");
	wait_sock(sock);
	util_sleep_ns(700000000);
	fd = vmm_migrate_connect(addr, why, sizeof(why));
	cr_assert_geq(fd, 0, "%s", why);
	cr_assert_eq(vmm_ctl_call_fd(sock, "{\"cmd\":\"migrate\",\"downtime_ms\":0,"
				     "\"min_rounds\":4,\"max_rounds\":4}", fd, &answer), 0);
	close(fd);
	a = json_loads(answer, 0, NULL);
	cr_assert(a && json_is_true(json_object_get(a, "ok")), "%s", answer);
	cr_assert_eq(json_integer_value(json_object_get(a, "rounds")), 4, "%s", answer);
	cr_assert_gt(json_integer_value(json_object_get(a, "downtime_ns")), 0, "%s", answer);
	json_decref(a);
	free(answer);
	cr_assert_eq(finish(&src, 30), 0, "the source exits 0");
	cr_assert_eq(finish(&tgt, 90), 0, "the target ends with the guest's own status");
	t = file_text(tgt.out);
	cr_assert(t && strstr(t, "passes=6") && strstr(t, "ok=1"), "%s", t);
	free(t);
}

Test(migrate, addresses)
{
	struct vmm_migrate_addr a;
	char why[256];

	cr_assert_eq(vmm_migrate_addr_parse("unix:/tmp/x.sock", &a, why, sizeof(why)), 0);
	cr_assert(a.unix_path && !strcmp(a.path, "/tmp/x.sock"));
	cr_assert_eq(vmm_migrate_addr_parse("tcp:127.0.0.1:4444", &a, why, sizeof(why)), 0);
	cr_assert(!a.unix_path && !strcmp(a.host, "127.0.0.1") && !strcmp(a.port, "4444"));
	cr_assert_eq(vmm_migrate_addr_parse("tcp:[::1]:80", &a, why, sizeof(why)), 0);
	cr_assert(!strcmp(a.host, "::1") && !strcmp(a.port, "80"));
	cr_assert_eq(vmm_migrate_addr_parse("tcp:host", &a, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "tcp:HOST:PORT"), "%s", why);
	cr_assert_eq(vmm_migrate_addr_parse("tcp:h:12x", &a, why, sizeof(why)), -EINVAL);
	cr_assert_eq(vmm_migrate_addr_parse("unix:", &a, why, sizeof(why)), -EINVAL);
	cr_assert_eq(vmm_migrate_addr_parse("udp:1.2.3.4:5", &a, why, sizeof(why)), -EINVAL);
}

Test(migrate, convergence_rule)
{
	/* 100 MiB/s: 7680 pages (30 MiB) take 300 ms */
	cr_assert(vmm_migrate_converged(7680, 100u << 20, 300));
	cr_assert_not(vmm_migrate_converged(7681 + 100, 100u << 20, 300));
	cr_assert(vmm_migrate_converged(0, 1, 0));
	cr_assert_not(vmm_migrate_converged(1, 0, 1000), "no rate measured: not converged");
}

Test(migrate, end_of_precopy_rule)
{
	struct vmm_migrate_opts o = { .downtime_ms = 300, .max_rounds = 30, .min_rounds = 1 };
	uint64_t r = 100u << 20;   /* 100 MiB/s: 7680 pages (30 MiB) take 300 ms */

	cr_assert_not(vmm_migrate_stop(&o, 1, 40000, 9000, r), "over budget: another round");
	cr_assert_not(vmm_migrate_stop(&o, 1, 40000, 5000, r),
		      "within budget but shrinking fast (5000 < 40000 / 2): another round");
	cr_assert(vmm_migrate_stop(&o, 2, 5000, 3000, r), "within budget, not halved: stop");
	cr_assert(vmm_migrate_stop(&o, 3, 5000, VMM_MIGRATE_FLOOR_PAGES, r),
		  "at the floor: stop");
	cr_assert_not(vmm_migrate_stop(&o, 3, 5000, VMM_MIGRATE_FLOOR_PAGES + 1, r));
	cr_assert(vmm_migrate_stop(&o, 30, 40000, 9000, r), "max_rounds ends it");
	o.min_rounds = 4;
	cr_assert_not(vmm_migrate_stop(&o, 3, 5000, 0, r), "min_rounds not reached");
	cr_assert(vmm_migrate_stop(&o, 4, 5000, 0, r));
	o.downtime_ms = 0;
	cr_assert_not(vmm_migrate_stop(&o, 5, 10, 1, r), "budget 0: only an empty set stops");
	cr_assert(vmm_migrate_stop(&o, 5, 10, 0, r));
}
