/*
 * common/sandbox: each case runs a thread in a child process that installs a
 * kind's filter and then makes one system call; kill mode must report the
 * thread and the call on stderr and exit 159, log mode must let it through,
 * off must install nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/kvm.h>

#include "common/sandbox.h"
#include "common/util.h"

struct job {
	const char *name;
	enum util_sandbox_kind kind;
	int (*fn)(void);      /* returns the child's exit status (< 100) */
};

static void *job_thread(void *arg)
{
	struct job *j = arg;

	pthread_setname_np(pthread_self(), j->name);
	if (util_sandbox_enter(j->kind))
		_exit(100);
	_exit(j->fn());
}

/* fn on a thread named name of a child process, under kind's filter in mode;
 * returns the child's wait status, its stderr in err. */
static int run_job(const char *name, enum util_sandbox_kind kind, enum util_sandbox_mode mode,
		   int (*fn)(void), char *err, size_t len)
{
	struct job j = { name, kind, fn };
	int p[2], status;
	size_t have = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		pthread_t t;

		dup2(p[1], 2);
		close(p[0]);
		util_sandbox_set_mode(mode);
		pthread_create(&t, NULL, job_thread, &j);
		pthread_join(t, NULL);
		_exit(101);
	}
	close(p[1]);
	while (have + 1 < len && (n = read(p[0], err + have, len - have - 1)) > 0)
		have += (size_t)n;
	err[have] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_reported(int status, const char *err, const char *thread, const char *call,
			    long nr)
{
	char want[160];

	snprintf(want, sizeof(want), "avmm: seccomp: thread %s made forbidden system call %s "
		 "(nr %ld); stopping", thread, call, nr);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == UTIL_SANDBOX_EXIT_STATUS,
		  "expected exit %d, got status 0x%x; stderr: %s", UTIL_SANDBOX_EXIT_STATUS,
		  status, err);
	cr_assert(strstr(err, want), "stderr lacks '%s':\n%s", want, err);
}

static int do_open(void)
{
	int fd = open("/proc/self/status", O_RDONLY);

	return fd >= 0 ? 0 : 1;
}

static int do_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

static int do_exec_mapping(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
	       MAP_FAILED;
}

static int do_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid > 0 ? 0 : 1;
}

static int do_execve(void)
{
	char *const argv[] = { "true", NULL };

	execve("/bin/true", argv, NULL);
	return 1;
}

Test(sandbox, vcpu_kill_reports_openat)
{
	char err[1024];
	int st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_KILL, do_open, err,
			 sizeof(err));

	assert_reported(st, err, "avmm-vcpu0", "openat", SYS_openat);
	cr_assert(strstr(err, "(filter vcpu)"), "%s", err);
}

Test(sandbox, vcpu_kill_reports_socket)
{
	char err[1024];
	int st = run_job("avmm-vcpu3", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_KILL, do_socket, err,
			 sizeof(err));

	assert_reported(st, err, "avmm-vcpu3", "socket", SYS_socket);
}

Test(sandbox, vcpu_kill_reports_an_executable_mapping)
{
	char err[1024];
	int st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_KILL, do_exec_mapping,
			 err, sizeof(err));

	assert_reported(st, err, "avmm-vcpu0", "mmap", SYS_mmap);
}

/* What a vCPU thread does: KVM ioctls, console writes and fstat, memory,
 * locks, clocks, kicks of its own threads. */
static int vcpu_work(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct stat st;
	void *p;

	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		return 2;
	if (write(2, "console\n", 8) != 8 || fstat(2, &st))
		return 3;
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p, 1 << 20))
		return 4;
	free(malloc(256 << 10));
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	util_sleep_ns(1000);
	return pthread_kill(pthread_self(), 0) ? 5 : 0;    /* tgkill of its own process */
}

Test(sandbox, vcpu_filter_allows_what_a_vcpu_does)
{
	char err[1024];
	int st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_KILL, vcpu_work, err,
			 sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x, stderr: %s", st, err);
	cr_assert_null(strstr(err, "seccomp"), "%s", err);
}

/* What the HPET's timer thread does: a timed wait on a CLOCK_MONOTONIC
 * condition variable, then KVM_IRQ_LINE on the VM fd. */
static int devtimer_work(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct kvm_irq_level irq = { .irq = 0, .level = 1 };
	pthread_condattr_t ca;
	pthread_cond_t c;
	struct timespec until;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c, &ca);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += 1000000;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m);
	if (pthread_cond_timedwait(&c, &m, &until) != ETIMEDOUT)
		return 2;
	pthread_mutex_unlock(&m);
	if (ioctl(-1, KVM_IRQ_LINE, &irq) != -1 || errno != EBADF)
		return 3;
	return write(2, "hpet\n", 5) == 5 ? 0 : 4;
}

Test(sandbox, devtimer_filter_allows_what_the_hpet_thread_does)
{
	char err[1024];
	int st = run_job("avmm-hpet", UTIL_SANDBOX_DEVTIMER, UTIL_SANDBOX_KILL, devtimer_work,
			 err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x, stderr: %s", st, err);
	cr_assert_null(strstr(err, "seccomp"), "%s", err);
}

Test(sandbox, devtimer_kill_reports_openat)
{
	char err[1024];
	int st = run_job("avmm-hpet", UTIL_SANDBOX_DEVTIMER, UTIL_SANDBOX_KILL, do_open, err,
			 sizeof(err));

	assert_reported(st, err, "avmm-hpet", "openat", SYS_openat);
	cr_assert(strstr(err, "(filter devtimer)"), "%s", err);
}

/* glibc's malloc reads this once, on whichever thread first shrinks a thread
 * arena: answered with EACCES, not a stop. */
static int open_overcommit(void)
{
	int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);

	return fd == -1 && errno == EACCES ? 0 : 2;
}

Test(sandbox, glibc_overcommit_read_is_answered_not_reported)
{
	char err[1024];
	int st = run_job("MHD-single", UTIL_SANDBOX_METRICS, UTIL_SANDBOX_KILL, open_overcommit,
			 err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st, err);
	cr_assert_null(strstr(err, "seccomp"), "%s", err);
	st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_KILL, do_open, err,
		     sizeof(err));
	assert_reported(st, err, "avmm-vcpu0", "openat", SYS_openat);
}

/* Log mode: the forbidden open succeeds, and the thread has a filter. */
static int open_and_check_filtered(void)
{
	char buf[4096];
	int fd = open("/proc/thread-self/status", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 3;
	buf[n] = 0;
	return strstr(buf, "Seccomp:\t2\n") ? 0 : 4;
}

Test(sandbox, log_mode_does_not_kill)
{
	char err[1024];
	int st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_LOG,
			 open_and_check_filtered, err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "log mode must let openat through with a filter installed (status 0x%x): %s",
		  st, err);
}

static int open_and_check_unfiltered(void)
{
	char buf[4096];
	int fd = open("/proc/thread-self/status", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 2;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 3;
	buf[n] = 0;
	return strstr(buf, "Seccomp:\t0\n") && do_socket() == 0 ? 0 : 4;
}

Test(sandbox, off_installs_nothing)
{
	char err[1024];
	int st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_OFF,
			 open_and_check_unfiltered, err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st, err);
}

static void *nothing(void *arg)
{
	return arg;
}

/* The driver may start worker threads (clone3 -> ENOSYS -> clone with
 * CLONE_THREAD) but never a process. */
static int start_thread(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, nothing, NULL))
		return 2;
	pthread_join(t, NULL);
	return 0;
}

Test(sandbox, driver_starts_threads_not_processes)
{
	char err[1024];
	int st = run_job("avmm-adapt", UTIL_SANDBOX_DRIVER, UTIL_SANDBOX_KILL, start_thread, err,
			 sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st, err);
	st = run_job("avmm-adapt", UTIL_SANDBOX_DRIVER, UTIL_SANDBOX_KILL, do_fork, err,
		     sizeof(err));
	assert_reported(st, err, "avmm-adapt", "clone", SYS_clone);
}

Test(sandbox, main_deny_list_stops_execve_only)
{
	char err[1024];
	int st;

#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("sanitizer build: main has no deny-list (LeakSanitizer uses clone and ptrace)");
#endif
	st = run_job("avmm", UTIL_SANDBOX_MAIN, UTIL_SANDBOX_KILL, do_open, err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st, err);
	st = run_job("avmm", UTIL_SANDBOX_MAIN, UTIL_SANDBOX_KILL, do_execve, err, sizeof(err));
	assert_reported(st, err, "avmm", "execve", SYS_execve);
}

/* bpf(): a test run of a program the process holds (telemetry's batch of
 * KVM statistics) goes through the filter (here: no such program, EBADF);
 * creating a map (like loading a program, attaching, opening by id) does not. */
static int do_bpf_test_run(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (__u32)-1;
	return syscall(SYS_bpf, BPF_PROG_TEST_RUN, &a, sizeof(a)) < 0 &&
	       (errno == EBADF || errno == EPERM) ? 0 : 1;
}

static int do_bpf_map_create(void)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 8;
	a.max_entries = 1;
	syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	return 0;
}

Test(sandbox, bpf_uses_what_it_holds_and_creates_nothing)
{
	char err[1024];
	int st = run_job("avmm-telemetry", UTIL_SANDBOX_TELEMETRY, UTIL_SANDBOX_KILL,
			 do_bpf_test_run, err, sizeof(err));

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st, err);
	st = run_job("avmm-telemetry", UTIL_SANDBOX_TELEMETRY, UTIL_SANDBOX_KILL,
		     do_bpf_map_create, err, sizeof(err));
	assert_reported(st, err, "avmm-telemetry", "bpf", SYS_bpf);
	st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_KILL, do_bpf_test_run, err,
		     sizeof(err));
	assert_reported(st, err, "avmm-vcpu0", "bpf", SYS_bpf);
#if defined(__SANITIZE_ADDRESS__)
	cr_skip_test("sanitizer build: main has no deny-list (LeakSanitizer uses clone and ptrace)");
#endif
	st = run_job("avmm", UTIL_SANDBOX_MAIN, UTIL_SANDBOX_KILL, do_bpf_test_run, err,
		     sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x: %s", st, err);
	st = run_job("avmm", UTIL_SANDBOX_MAIN, UTIL_SANDBOX_KILL, do_bpf_map_create, err,
		     sizeof(err));
	assert_reported(st, err, "avmm", "bpf", SYS_bpf);
}

/* Capabilities after the filter, read with capget (allowed in log mode). */
static uint64_t caps_before;

static int caps_now(uint64_t *eff, uint64_t *perm)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

static int caps_vcpu(void)
{
	uint64_t eff, perm;

	return caps_now(&eff, &perm) ? 2 : eff || perm ? 3 : 0;
}

static int caps_driver(void)
{
	uint64_t eff, perm, want = caps_before & util_sandbox_kept_caps(UTIL_SANDBOX_DRIVER);

	return caps_now(&eff, &perm) ? 2 : eff != want || perm != want ? 3 : 0;
}

Test(sandbox, capabilities_dropped_per_kind)
{
	uint64_t perm;
	char err[1024];
	int st;

	cr_assert_eq(caps_now(&caps_before, &perm), 0);
	st = run_job("avmm-vcpu0", UTIL_SANDBOX_VCPU, UTIL_SANDBOX_LOG, caps_vcpu, err,
		     sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "a vCPU thread keeps no capability (status 0x%x): %s", st, err);
	st = run_job("avmm-adapt", UTIL_SANDBOX_DRIVER, UTIL_SANDBOX_LOG, caps_driver, err,
		     sizeof(err));
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "the driver keeps exactly its kind's capabilities (status 0x%x): %s", st, err);
	if (!caps_before)
		cr_skip_test("not privileged: the drop was a no-op that succeeded");
}

Test(sandbox, parse_mode)
{
	enum util_sandbox_mode m;

	cr_assert_eq(util_sandbox_parse_mode("off", &m), 0);
	cr_assert_eq(m, UTIL_SANDBOX_OFF);
	cr_assert_eq(util_sandbox_parse_mode("log", &m), 0);
	cr_assert_eq(m, UTIL_SANDBOX_LOG);
	cr_assert_eq(util_sandbox_parse_mode("kill", &m), 0);
	cr_assert_eq(m, UTIL_SANDBOX_KILL);
	cr_assert_eq(util_sandbox_parse_mode("KILL", &m), -EINVAL);
	cr_assert_eq(util_sandbox_parse_mode("", &m), -EINVAL);
	cr_assert_str_eq(util_sandbox_kind_name(UTIL_SANDBOX_VCPU), "vcpu");
}
