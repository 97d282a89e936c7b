/* guest.h - runtime of the avmm freestanding test guests.
 *
 * Guests are 32-bit Multiboot v1 kernels (flat protected mode, no paging unless a
 * guest turns it on, interrupts off). The library gives them: serial output on
 * COM1 (printf-like, serialized by a spinlock so several vCPUs may print), a
 * key=value command-line parser with size suffixes, a TSC time source calibrated
 * against PIT channel 2, a bump allocator over the memory after the image, 2-level
 * identity paging, and exit: success powers off through ACPI (S5: PM1a control
 * at 0x604, the PIIX4 PM block at 0x600 of avmm and of QEMU under SeaBIOS;
 * the monitor exits 0), failure writes its code to the isa-debug-exit port 0xf4.
 * 64-bit division helpers (__udivdi3 ...) and memcpy/memset are provided here,
 * since there is no 32-bit libgcc.
 *
 * A guest defines `int main(const char *cmdline)`; it returns 0 for success
 * (power-off: the monitor exits 0) or a failure code v written to port 0xf4
 * (the monitor exits with (v << 1) | 1: 3 for v = 1).
 */
#ifndef AVMM_GUEST_H
#define AVMM_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define GUEST_EXIT_PORT 0xf4
#define GUEST_PM1A_CNT 0x604        /* ACPI PM1a control (PIIX4 PM block at 0x600) */
#define GUEST_SLP_TYP_S5 (0u << 10) /* the DSDT's \_S5 (avmm and QEMU) */
#define GUEST_SLP_EN (1u << 13)
#define PAGE_SIZE 4096u

/* ---- port I/O, TSC, misc instructions ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }
static inline void invlpg(const volatile void *va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline u32 read_cr0(void) { u32 v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline void write_cr0(u32 v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(u32 v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }

/* ---- start-up, exit, memory (start.c) ---- */
int main(const char *cmdline);
/* 0: ACPI power-off (S5), then debug-exit 0 if the monitor has no PM block;
 * else code to the debug-exit port. */
void guest_exit(u32 code) __attribute__((noreturn));
/* code to the debug-exit port, whatever it is (hello's exit=). */
void guest_exit_debug(u32 code) __attribute__((noreturn));
/* Prints "AVMM-RESULT guest=<name> ok=0 error=<why>" and exits with code 1. */
void guest_fail(const char *name, const char *why) __attribute__((noreturn));
/* Bump allocator over [end of image, top of memory). NULL when it does not fit. */
void *galloc(u32 bytes, u32 align);
u32 galloc_top(void);   /* first free byte */
u32 mem_top(void);      /* end of usable memory above 1 MiB (from multiboot meminfo) */
int mem_top_known(void);
u32 mb_info(void);      /* the Multiboot information's address (0: not booted so) */

/* ---- serial and formatting (serial.c, printf.c) ---- */
void serial_putc(char c);
void serial_write(const char *s, u32 len);
void serial_lock(void);
void serial_unlock(void);
int gvsnprintf(char *buf, u32 size, const char *fmt, va_list ap);
int gsnprintf(char *buf, u32 size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* One call = one atomic chunk on the serial line (up to 512 bytes). */
int gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* num/den with two decimals into buf ("12.34"); "inf" when den is 0. */
const char *fmt_ratio(char buf[32], u64 num, u64 den);

/* ---- command line (cmdline.c) ---- */
/* Value of key=value, with K/M/G (binary) suffixes and 0x hex; def when absent.
 * Sets *bad (if non-NULL) when the value does not parse. */
u64 param_u64(const char *cmdline, const char *key, u64 def, int *bad);
int param_present(const char *cmdline, const char *key);
/* Copies the value of key (up to the next blank) into buf; 1 if present. */
int param_str(const char *cmdline, const char *key, char *buf, u32 size);

/* ---- time (tsc.c) ---- */
/* Calibrates the TSC (or takes tsc_hz= from the command line, or skips with
 * calib=0). Returns Hz, 0 when unknown. Cached after the first call. */
u64 tsc_hz(const char *cmdline);
u64 tsc_hz_cached(void);
/* cycles -> ns with the calibrated rate; 0 when unknown. */
u64 cycles_to_ns(u64 cycles);
/* Appends " tsc_hz=<n>" or " tsc_hz=unknown" to buf (fixed-size helper). */
const char *fmt_tsc_hz(char buf[32]);
void udelay_tsc(u64 us);   /* busy wait; needs calibration, else a poll loop */

/* ---- 64-bit arithmetic (libgcc.c) ---- */
u64 udiv64(u64 n, u64 d);
u64 muldiv64(u64 a, u64 b, u64 c);  /* a*b/c without overflowing for b,c < 2^32 */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- paging (paging.c): identity map with 4 KiB pages ---- */
#define PTE_P 0x001u
#define PTE_W 0x002u
/* lm: IA-32e 4-level paging in 32-bit compatibility mode (default; the only one
 * kvm-pvm accepts); pae: 32-bit PAE; 2l: classic 2-level; off: no paging. */
enum { PAGING_OFF = 0, PAGING_2L = 2, PAGING_PAE = 3, PAGING_LM = 4 };
void paging_set_mode(int mode);   /* before paging_identity_on */
int paging_mode(void);
const char *paging_mode_name(int mode);
/* pgmode=lm|pae|2l|off (default lm); -1 when the value is unknown. */
int paging_mode_from_cmdline(const char *cmdline);
/* Builds an identity map of [0, end) where end covers everything allocated so far
 * plus extra_bytes (rounded up to 2 or 4 MiB), loads CR3 and turns paging on.
 * 0 or -1 (page tables do not fit). Nothing to do for PAGING_OFF. */
int paging_identity_on(u32 extra_bytes);
/* Pointer to the PTE (its low 32 bits) for va, allocating a page table from
 * mapped memory if needed; NULL when that is impossible. */
volatile u32 *paging_pte(u32 va);
u32 paging_mapped_end(void);

/* ---- small PRNG ---- */
static inline u32 xorshift32(u32 *s)
{
	u32 x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

#endif
