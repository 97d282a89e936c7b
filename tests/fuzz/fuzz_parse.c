/* libFuzzer harness: the text parsers of sysfs/procfs content, each on the
 * same NUL-terminated input: powercap and perf files and /proc/stat
 * (energy/parse.c), per-thread schedstat and stat (telemetry/proc.c), and
 * the number/size parsers they sit on (common/util.c). Checks what each
 * parser promises about its results. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "energy/energy.h"
#include "telemetry/tel.h"

#define FUZZ_CPUS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t busy[FUZZ_CPUS], total[FUZZ_CPUS];
	static int cpus[FUZZ_CPUS];
	enum energy_backend backend;
	uint64_t u, b, t;
	char *s, msg[512];
	long l;
	int n, i, cpu;

	s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;

	energy_parse_uj(s, &u);
	energy_parse_perf_event(s, &u);
	energy_backend_parse(s, &backend);
	n = energy_parse_cpulist(s, cpus, FUZZ_CPUS);
	if (n > FUZZ_CPUS)
		abort();
	for (i = 0; i < n; i++)
		if (cpus[i] < 0)
			abort();
	n = energy_parse_cpulist(s, cpus, 1);
	if (n > 1)
		abort();
	energy_parse_proc_stat(s, &b, &t);
	n = energy_parse_proc_stat_cpus(s, busy, total, FUZZ_CPUS);
	if (n > FUZZ_CPUS)
		abort();
	energy_explain(-EINVAL, "/sys/class/powercap/intel-rapl:0/energy_uj", s, false,
		       msg, sizeof(msg));
	if (strchr(msg, '\n'))
		abort();
	energy_explain(-ERANGE, s, s, true, msg, sizeof(msg));
	energy_explain(-EACCES, s, NULL, false, msg, sizeof(msg));

	tel_parse_schedstat(s, &u, &b);
	cpu = -1;
	if (tel_parse_stat_cpu(s, &cpu) == 0 && cpu < 0)
		abort();

	util_parse_u64(s, &u);
	if (util_parse_int(s, -5, 5, &l) == 0 && (l < -5 || l > 5))
		abort();
	util_parse_size(s, &u);
	free(s);
	return 0;
}
