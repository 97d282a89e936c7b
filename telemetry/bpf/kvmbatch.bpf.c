// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM statistics of many vCPUs in one system call (telemetry/kvmbatch.c
 * loads it). A vCPU's KVM stats file is a copy of its struct kvm_vcpu_stat;
 * this program copies the same bytes straight from the vCPU:
 *  - find_vcpus (a task_file iterator over this process, run once per batch):
 *    for every file descriptor the loader put in fd_slot (a vCPU's stats
 *    file), the vCPU behind it (the file's private_data) into vcpu_of[slot];
 *  - read_stats (a syscall program, one BPF_PROG_TEST_RUN per sample): for
 *    slots [base, base + nr), the span [off, off + len) of each vCPU's
 *    statistics into out[slot] (a map the loader has mapped), stamped seq.
 * The stats file holds a reference on the VM, so a vCPU in vcpu_of stays
 * valid until the loader closes that file; it clears the slot first.
 * Offsets come from the kernel's BTF at load time (CO-RE): only the fields
 * named here need to exist.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "telemetry/bpf/kvmbatch.h"

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));
struct file {
	void *private_data;
} __attribute__((preserve_access_index));
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	__u32 fd;
	struct file *file;
} __attribute__((preserve_access_index));
struct kvm_vcpu_stat {
	__u64 unused;
} __attribute__((preserve_access_index));
struct kvm_vcpu {
	struct kvm_vcpu_stat stat;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KB_SLOTS);
	__type(key, __u32);             /* file descriptor */
	__type(value, __u32);           /* slot */
} fd_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KB_SLOTS);
	__type(key, __u32);
	__type(value, __u64);           /* struct kvm_vcpu *, 0: none */
} vcpu_of SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KB_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct kb_rec);
} out SEC(".maps");

SEC("iter/task_file")
int find_vcpus(struct bpf_iter__task_file *ctx)
{
	struct file *f = ctx->file;
	__u32 fd = ctx->fd, *slot;
	__u64 vcpu;

	if (!f)
		return 0;
	slot = bpf_map_lookup_elem(&fd_slot, &fd);
	if (!slot)
		return 0;
	vcpu = (__u64)BPF_CORE_READ(f, private_data);
	bpf_map_update_elem(&vcpu_of, slot, &vcpu, BPF_ANY);
	return 0;
}

struct read_ctx {
	__u32 base, off, len;
	__u64 seq, stat_off;
	int nr_read;
};

static long read_one(__u32 i, struct read_ctx *c)
{
	__u32 slot = c->base + i, len = c->len;
	__u64 *vcpu = bpf_map_lookup_elem(&vcpu_of, &slot);
	struct kb_rec *r = bpf_map_lookup_elem(&out, &slot);

	if (!vcpu || !r || !*vcpu || len > KB_SPAN_MAX_BYTES)
		return 0;
	if (bpf_probe_read_kernel(r->data, len, (void *)(*vcpu + c->stat_off + c->off)))
		return 0;
	r->seq = c->seq;
	c->nr_read++;
	return 0;
}

/* Returns how many vCPUs it read, -1 for arguments out of range. */
SEC("syscall")
int read_stats(struct kb_args *a)
{
	struct read_ctx c = {
		.base = a->base, .off = a->off, .len = a->len, .seq = a->seq,
		.stat_off = bpf_core_field_offset(struct kvm_vcpu, stat),
	};
	__u32 nr = a->nr;

	if (c.base > KB_SLOTS || nr > KB_SLOTS - c.base || c.len > KB_SPAN_MAX_BYTES)
		return -1;
	bpf_loop(nr, read_one, &c, 0);
	return c.nr_read;
}

char LICENSE[] SEC("license") = "GPL";
