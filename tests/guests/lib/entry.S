/* Multiboot v1 header and 32-bit entry of the avmm test guests.
 * The loader enters _start in flat protected mode with EAX=0x2BADB002 and
 * EBX=physical address of the multiboot info; we load our own GDT and segments,
 * set a stack, enable the x87 FPU, and call guest_start(magic, mbi). */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: memory info */

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %edi
	movl %ebx, %esi
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl $stack_top, %esp
	xorl %ebp, %ebp
	call fpu_on
	pushl %esi
	pushl %edi
	call guest_start
2:	cli
	hlt
	jmp 2b

/* CR0: clear EM (bit 2) and TS (bit 3), set MP (bit 1) and NE (bit 5); fninit.
 * Also used by the APs of the smp guest. */
	.globl fpu_on
fpu_on:
	movl %cr0, %eax
	andl $~0x0c, %eax
	orl $0x22, %eax
	movl %eax, %cr0
	fninit
	ret

	.section .data
	.align 16
	.globl gdt
gdt:
	.quad 0x0000000000000000	/* null */
	.quad 0x00cf9a000000ffff	/* 0x08: code, base 0, limit 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff	/* 0x10: data, base 0, limit 4 GiB */
gdt_end:
	.align 4
	.word 0
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .stack, "aw", @nobits
	.align 16
	.space 16384
	.globl stack_top
stack_top:
	.section .note.GNU-stack, "", @progbits
