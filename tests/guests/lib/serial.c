/* serial.c - polled 8250 output on COM1 (0x3f8) and a spinlock for it. */
#include "guest.h"

#define COM1 0x3f8
#define LSR_THRE 0x20
#define LSR_POLL_MAX 10000 /* ~10 ms natively: 100x one byte at 115200 baud */

static volatile u32 lock_word;
static int lsr_broken; /* THRE never came: stop waiting for it */

void serial_putc(char c)
{
	u32 i;

	/* Bounded: a monitor whose UART never reports THRE must not hang the guest. */
	for (i = 0; !lsr_broken && i < LSR_POLL_MAX; i++)
		if (inb(COM1 + 5) & LSR_THRE)
			break;
	if (i == LSR_POLL_MAX)
		lsr_broken = 1;
	outb(COM1, (u8)c);
}

void serial_write(const char *s, u32 len)
{
	u32 i;

	/* Plain '\n' line ends: result lines are parsed by scripts. */
	for (i = 0; i < len; i++)
		serial_putc(s[i]);
}

void serial_lock(void)
{
	u32 v;

	for (;;) {
		v = 1;
		__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(lock_word) : : "memory");
		if (v == 0)
			return;
		while (lock_word)
			cpu_relax();
	}
}

void serial_unlock(void)
{
	__asm__ volatile("movl $0, %0" : "=m"(lock_word) : : "memory");
}
