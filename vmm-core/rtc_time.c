/* The RTC's pure parts: BCD, the clock registers' encoding under register B,
 * and what a BIOS does with the CMOS shutdown status byte. */
#include <errno.h>

#include "vmm-core/pcdev.h"

enum {
	REG_SEC = 0x00, REG_MIN = 0x02, REG_HOUR = 0x04, REG_WDAY = 0x06, REG_MDAY,
	REG_MON, REG_YEAR, REG_CENTURY = 0x32,
};
#define B_DM_BINARY 0x04
#define B_24H 0x02

uint8_t vmm_rtc_to_bcd(unsigned v) { return (uint8_t)(((v / 10) % 10) << 4 | (v % 10)); }
unsigned vmm_rtc_from_bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0x0f); }

static uint8_t enc(unsigned v, uint8_t reg_b)
{
	return reg_b & B_DM_BINARY ? (uint8_t)v : vmm_rtc_to_bcd(v);
}

static unsigned dec(uint8_t v, uint8_t reg_b)
{
	return reg_b & B_DM_BINARY ? v : vmm_rtc_from_bcd(v);
}

uint8_t vmm_rtc_encode(const struct tm *tm, int reg, uint8_t reg_b)
{
	unsigned h;

	switch (reg) {
	case REG_SEC: return enc((unsigned)tm->tm_sec, reg_b);
	case REG_MIN: return enc((unsigned)tm->tm_min, reg_b);
	case REG_HOUR:
		if (reg_b & B_24H)
			return enc((unsigned)tm->tm_hour, reg_b);
		h = (unsigned)tm->tm_hour % 12;
		return (uint8_t)(enc(h ? h : 12, reg_b) | (tm->tm_hour >= 12 ? 0x80 : 0));
	case REG_WDAY: return enc((unsigned)tm->tm_wday + 1, reg_b);
	case REG_MDAY: return enc((unsigned)tm->tm_mday, reg_b);
	case REG_MON: return enc((unsigned)tm->tm_mon + 1, reg_b);
	case REG_YEAR: return enc((unsigned)(tm->tm_year + 1900) % 100, reg_b);
	case REG_CENTURY: return enc((unsigned)(tm->tm_year + 1900) / 100, reg_b);
	default: return 0;
	}
}

int vmm_rtc_decode(struct tm *tm, int reg, uint8_t val, uint8_t reg_b)
{
	unsigned v;

	switch (reg) {
	case REG_SEC: tm->tm_sec = (int)dec(val, reg_b); return 0;
	case REG_MIN: tm->tm_min = (int)dec(val, reg_b); return 0;
	case REG_HOUR:
		if (reg_b & B_24H) {
			tm->tm_hour = (int)dec(val, reg_b);
		} else {
			v = dec(val & 0x7f, reg_b) % 12;
			tm->tm_hour = (int)v + (val & 0x80 ? 12 : 0);
		}
		return 0;
	case REG_WDAY: return 0;   /* derived from the date */
	case REG_MDAY: tm->tm_mday = (int)dec(val, reg_b); return 0;
	case REG_MON: tm->tm_mon = (int)dec(val, reg_b) - 1; return 0;
	case REG_YEAR:
		tm->tm_year = (tm->tm_year + 1900) / 100 * 100 + (int)dec(val, reg_b) % 100 - 1900;
		return 0;
	case REG_CENTURY:
		tm->tm_year = (int)dec(val, reg_b) * 100 + (tm->tm_year + 1900) % 100 - 1900;
		return 0;
	default: return -EINVAL;
	}
}

const char *vmm_rtc_shutdown_meaning(uint8_t status)
{
	switch (status) {
	case 0x00: return "normal reset (power-on self test)";
	case 0x01: return "chip-set initialisation for real mode reentry";
	case 0x04: return "jump to the bootstrap loader (int 19h)";
	case 0x05: return "flush the keyboard, EOI the PICs, jump via 40:67";
	case 0x09: return "return from a block move (int 15h/87h)";
	case 0x0a: return "jump via 40:67 without EOI";
	case 0x0b: return "iret via 40:67";
	case 0x0c: return "retf via 40:67";
	default: return status < 0x0a ? "POST error or test resume code" : "unknown code";
	}
}
