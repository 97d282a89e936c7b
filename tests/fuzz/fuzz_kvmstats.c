/* libFuzzer harness: the KVM binary statistics reader (telemetry/kvmstats.c)
 * on an arbitrary stats file: header, descriptors, selection and the data
 * block. The bytes sit in a memfd handed over as the stats fd, so the whole
 * open path (header read, sizing, descriptor read, parse) runs as it does on
 * a KVM_GET_STATS_FD fd; then the stats the sampler uses are looked up,
 * selected, read and summed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "telemetry/tel_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"pf_taken", "pf_fixed", "pf_emulate", "mmu_pte_write", "tlb_flush", "invlpg",
		"exits", "halt_exits", "io_exits", "pages_4k", "pages_2m", "remote_tlb_flush",
	};
	static int fd = -1;
	enum { N = sizeof(names) / sizeof(names[0]) };
	uint64_t vals[N + 2], *out[N + 2];
	int idx[N + 2], i;
	struct tel_kvmstats s;
	char why[256];

	if (fd < 0) {
		fd = memfd_create("fuzz-kvmstats", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (tel_kvmstats_open(fd, true, &s, why, sizeof(why)))
		return 0;
	for (i = 0; i < N; i++)
		idx[i] = tel_kvmstats_find(&s, names[i]);
	idx[N] = -1;                 /* a stat the kernel lacks */
	idx[N + 1] = s.nr;           /* and one out of range */
	for (i = 0; i < N + 2; i++)
		out[i] = &vals[i];
	tel_kvmstats_read(&s);       /* everything first */
	for (i = 0; i < s.nr; i++)
		tel_kvmstats_value(&s, i);
	tel_kvmstats_select(&s, idx, N + 2);
	if (s.rd_off + s.rd_len > s.data_len)
		abort();
	tel_kvmstats_read(&s);
	tel_kvmstats_values(&s, out);
	tel_kvmstats_close(&s);
	return 0;
}
