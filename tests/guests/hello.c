/* hello - smallest guest: greeting, the command line it got, one result line.
 *
 * Parameters for the monitor's tests (all optional):
 *   out=N       print N more bytes (lines of 'x') before the result line
 *   idle_ms=N   wait N ms with interrupts on, halted between PIT ticks (100 Hz)
 *   halt=cli    end with cli; hlt instead of exiting (never continues)
 *   halt=sti    end with sti; hlt and no interrupt source (waits forever)
 *   exit=N      write N to the debug-exit port (even 0) instead of powering off
 */
#include "guest.h"

#define PIT_HZ 1193182u
#define TICK_HZ 100u
#define TICK_VECTOR 0x20

static u64 idt[256];
volatile u32 ticks; /* read and written by the asm below */

/* idle_wait(want): sti; hlt until `ticks` reaches want. KVM's instruction
 * emulator has no protected-mode iret, so the handlers never return: they
 * drop the interrupt frame (eip, cs, eflags) and jump back into the loop,
 * which is the only place interrupts are on. */
__asm__(".text\n"
	"idle_wait:\n"
	"	movl 4(%esp), %ecx\n"
	"idle_check:\n"
	"	cmpl %ecx, ticks\n"
	"	jae 1f\n"
	"	sti\n"
	"	hlt\n"
	"	cli\n"
	"	jmp idle_check\n"
	"1:	ret\n"
	"tick_isr:\n"
	"	addl $12, %esp\n"
	"	incl ticks\n"
	"	movb $0x20, %al\n"
	"	outb %al, $0x20\n"
	"	jmp idle_check\n"
	"ignore_isr:\n"
	"	addl $12, %esp\n"
	"	jmp idle_check\n");
void idle_wait(u32 want);
extern char tick_isr[], ignore_isr[];

static u64 gate(void *handler)
{
	u32 off = (u32)handler;

	/* 32-bit interrupt gate, DPL 0, present, code selector 0x08 */
	return (u64)(off & 0xffffu) | (0x08ull << 16) | (0x8eull << 40) |
	       ((u64)(off >> 16) << 48);
}

static void idle(u32 ms)
{
	struct { u16 limit; u32 base; } __attribute__((packed)) desc = { sizeof(idt) - 1, (u32)idt };
	u32 div = PIT_HZ / TICK_HZ, want = (ms * TICK_HZ + 999) / 1000, i;

	for (i = 0; i < 256; i++)
		idt[i] = gate(ignore_isr);
	idt[TICK_VECTOR] = gate(tick_isr);
	__asm__ volatile("lidt %0" : : "m"(desc));
	/* PIC: vectors 0x20-0x2f, only IRQ0 unmasked */
	outb(0x20, 0x11); outb(0xa0, 0x11);
	outb(0x21, TICK_VECTOR); outb(0xa1, TICK_VECTOR + 8);
	outb(0x21, 0x04); outb(0xa1, 0x02);
	outb(0x21, 0x01); outb(0xa1, 0x01);
	outb(0x21, 0xfe); outb(0xa1, 0xff);
	/* PIT channel 0, rate generator */
	outb(0x43, 0x34);
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
	idle_wait(want);
	outb(0x21, 0xff);
	gprintf("idle: %u ticks\n", ticks);
}

int main(const char *cmdline)
{
	char how[8] = "";
	u32 out = (u32)param_u64(cmdline, "out", 0, 0), i;

	gprintf("Hello from the avmm test guest (32-bit Multiboot v1)\n");
	gprintf("cmdline: \"%s\"\n", cmdline);
	gprintf("memory: top=0x%x%s\n", mem_top(), mem_top_known() ? "" : " (assumed, no meminfo)");
	for (i = 0; i < out; i++)
		serial_putc(i % 64 == 63 ? '\n' : 'x');
	if (param_present(cmdline, "idle_ms"))
		idle((u32)param_u64(cmdline, "idle_ms", 0, 0));
	gprintf("AVMM-RESULT guest=hello ok=1\n");
	param_str(cmdline, "halt", how, sizeof(how));
	if (!memcmp(how, "cli", 4))
		for (;;)
			__asm__ volatile("cli; hlt");
	if (!memcmp(how, "sti", 4))
		for (;;)
			__asm__ volatile("sti; hlt");
	if (param_present(cmdline, "exit"))   /* the debug-exit port, even for 0 */
		guest_exit_debug((u32)param_u64(cmdline, "exit", 0, 0));
	return 0;   /* success: ACPI power-off */
}
