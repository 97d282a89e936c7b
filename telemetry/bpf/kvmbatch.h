/* What telemetry's BPF program (kvmbatch.bpf.c) and its loader (../kvmbatch.c)
 * share: the slots, the arguments of one read and the record it leaves per
 * vCPU. Plain C types only: the BPF side includes it too. */
#ifndef AVMM_TEL_KVMBATCH_ABI_H
#define AVMM_TEL_KVMBATCH_ABI_H

/* vCPUs the process may have in batches at once (every telemetry object's) */
#define KB_SLOTS 512
/* a record: the read's sequence number, then the span of KVM statistics */
#define KB_REC_WORDS 32
#define KB_SPAN_MAX_BYTES ((KB_REC_WORDS - 1) * 8)

struct kb_rec {
	unsigned long long seq;      /* the kb_args.seq of the read that wrote it */
	unsigned long long data[KB_REC_WORDS - 1];
};

/* One read: slots [base, base + nr), of each vCPU's statistics (struct
 * kvm_vcpu_stat, the data block of its KVM stats file) the bytes
 * [off, off + len). */
struct kb_args {
	unsigned int base, nr, off, len;
	unsigned long long seq;
};

#endif
