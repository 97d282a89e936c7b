/* memwrite - writes a known range of guest memory, for the monitor's
 * written-page (dirty ring) tests.
 *
 * start= first guest-physical byte (default 8M; at or above the end of this
 * image, 4-byte aligned), bytes= length (default 1M), stride= distance between
 * writes (default 4096: one 32-bit store per page; a multiple of 4),
 * passes= times the range is written (default 1; each pass stores new values).
 * Flat protected mode, no paging: the range is written through its physical
 * address. Besides the range the guest writes only its own image (.data,
 * .bss, its stack), which lies below start.
 * progress=1 prints "memwrite: pass P of N" as each pass starts (a monitor or
 * benchmark waits for it to know the workload runs; default 0: silent).
 * After the last pass every stored word is read back (error=verify-mismatch).
 * Result: start bytes stride passes pages (4 KiB pages written) ok. */
#include "guest.h"

extern char _end[];

int main(const char *cmdline)
{
	int bad = 0;
	u64 start = param_u64(cmdline, "start", 8u << 20, &bad);
	u64 bytes = param_u64(cmdline, "bytes", 1u << 20, &bad);
	u64 stride = param_u64(cmdline, "stride", 4096, &bad);
	u32 passes = (u32)param_u64(cmdline, "passes", 1, &bad), p, wrong = 0;
	u64 progress = param_u64(cmdline, "progress", 0, &bad);
	u64 off, end = start + bytes, stores, last, pages;

	if (bad || bytes < 4 || !stride || stride % 4 || start % 4 || !passes)
		guest_fail("memwrite", "bad-parameter");
	if (start < (u32)_end || end > mem_top() || end < start) {
		gprintf("memwrite: range 0x%llx-0x%llx must lie in 0x%x-0x%x (above the image, "
			"within guest RAM)\n", start, end, (u32)_end, mem_top());
		guest_fail("memwrite", "bad-range");
	}
	for (p = 1; p <= passes; p++) {
		if (progress)
			gprintf("memwrite: pass %u of %u\n", p, passes);
		for (off = 0; off + 4 <= bytes; off += stride)
			*(volatile u32 *)(u32)(start + off) = (p << 24) ^ (u32)off;
	}
	for (off = 0; off + 4 <= bytes; off += stride)
		if (*(volatile u32 *)(u32)(start + off) != ((passes << 24) ^ (u32)off))
			wrong++;
	/* pages holding a store: one per store, or every page up to the last */
	stores = udiv64(bytes - 4, stride) + 1;
	last = start + (stores - 1) * stride;
	pages = stride >= 4096 ? stores : udiv64(last, 4096) - udiv64(start, 4096) + 1;
	gprintf("AVMM-RESULT guest=memwrite start=0x%llx bytes=%llu stride=%llu passes=%u "
		"pages=%llu ok=%d%s\n", start, bytes, stride, passes, pages, !wrong,
		wrong ? " error=verify-mismatch" : "");
	return wrong ? 1 : 0;
}
