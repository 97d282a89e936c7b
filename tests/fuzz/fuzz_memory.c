/* libFuzzer harness: the memory modules' text parsers on the same
 * NUL-terminated input: /proc/PID/smaps (paging-mode), THP and module
 * parameter words and hugetlb pool names (the paging probe), node meminfo,
 * distance and node lists and the machine file's [dram] section (bankmap).
 * Checks what each parser promises about its results. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bankmap/bankmap.h"
#include "paging-mode/pgmode.h"
#include "paging-mode/probe_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bankmap_machine m;
	struct pgmode_backing b;
	uint64_t u, total, free_bytes, mask;
	uint8_t dist[64];
	char word[16], *s;
	int nr, yn;

	s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;

	/* a range in the middle of the address space and one at its top */
	if (pgmode_parse_smaps(s, 0x7f0000000000ull, 64ull << 20, &b) == 0 &&
	    (!b.valid || b.bytes_4k > b.rss || b.bytes_2m > b.rss || b.bytes_1g > b.rss))
		abort();   /* every page size's bytes are within the resident total */
	pgmode_parse_smaps(s, UINT64_MAX - 4096, 4096, &b);
	if (pgmode_parse_bracket(s, word, sizeof(word)) == 0 && strlen(word) >= sizeof(word))
		abort();
	yn = pgmode_parse_yn(s);
	if (yn != 0 && yn != 1 && yn >= 0)
		abort();
	if (pgmode_parse_pool_dir(s, &u) == 0 && u == 0)
		abort();
	bankmap_parse_meminfo(s, &total, &free_bytes);
	if (bankmap_parse_distance(s, dist, (int)sizeof(dist), &nr) == 0 &&
	    (nr < 0 || nr > (int)sizeof(dist)))
		abort();
	bankmap_parse_nodelist(s, &mask);
	memset(&m, 0, sizeof(m));
	bankmap_machine_parse(s, "fuzz.ini", &m);
	free(s);
	return 0;
}
