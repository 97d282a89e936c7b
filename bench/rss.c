/*
 * VMM resident memory beyond the guest memory it touched: runs
 * `avmm run compute.elf` with 256 MiB of guest RAM, samples /proc/PID/smaps
 * while the guest runs, and sums the Rss of every mapping except guest RAM
 * (the anonymous mapping of the --mem size). Compared with the same figure
 * for `qemu-system-x86_64 -enable-kvm` in the same run.
 * Last line: avmm_rss_kib=X qemu_rss_kib=Y (target avmm <= 4096 KiB).
 */
#include <fcntl.h>
#include <signal.h>

#include "bench/bench_util.h"
#include "common/util.h"

#define GUEST_MIB 256

/* Rss of the process outside its guest-RAM mapping (size >= GUEST_MIB). */
static long rss_beyond_guest_kib(pid_t pid)
{
	char path[64], line[512];
	unsigned long lo, hi;
	long total = 0, kib;
	int in_guest = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in_guest = (hi - lo) >= ((unsigned long)GUEST_MIB << 20);
		else if (sscanf(line, "Rss: %ld kB", &kib) == 1 && !in_guest)
			total += kib;
	}
	fclose(f);
	return total;
}

static long measure(char *const argv[])
{
	long best = -1, kib;
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	/* Sample a few times while it runs; keep the largest. */
	for (i = 0; i < 20; i++) {
		util_sleep_ns(100 * 1000000ull);
		kib = rss_beyond_guest_kib(pid);
		if (kib > best)
			best = kib;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return best;
}

int main(void)
{
	char guest[512], bin[512], mem[16];

	snprintf(guest, sizeof(guest), "%s/guests/compute.elf", bench_build());
	snprintf(bin, sizeof(bin), "%s/avmm", bench_build());
	snprintf(mem, sizeof(mem), "%dM", GUEST_MIB);
	char *const avmm_argv[] = { bin, "run", "--mem", mem, guest, "--cmdline", "secs=5", NULL };
	char *const qemu_argv[] = { "qemu-system-x86_64", "-enable-kvm", "-display", "none",
		"-m", mem, "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", guest, "-append", "secs=5", NULL };
	long a = measure(avmm_argv), q = measure(qemu_argv);

	printf("resident memory beyond guest RAM, max over 2 s of a running guest:\n");
	printf("  avmm %ld KiB, qemu %ld KiB\n", a, q);
	printf("avmm_rss_kib=%ld qemu_rss_kib=%ld\n", a, q);
	return a < 0;
}
