/* Port I/O devices: 8250 UART at 0x3f8, isa-debug-exit at 0xf4, port-0x80
 * sink, keyboard-controller / port 0x92 / port 0xcf9 reset. Anything else is
 * counted, logged once per port, reads as all ones. */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "vmm-core/pcdev.h"
#include "vmm-core/vmm_internal.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

int vmm_devices_init(struct vmm *vm, const char *console_path)
{
	struct vmm_serial *s = &vm->serial;

	pthread_mutex_init(&s->lock, NULL);
	return vmm_console_open(&s->con, console_path, vm->console_max_bytes,
				vm->console_rate_bps);
}

void vmm_devices_exit(struct vmm *vm)
{
	pthread_mutex_lock(&vm->serial.lock);
	vmm_console_close(&vm->serial.con);
	pthread_mutex_unlock(&vm->serial.lock);
}

void vmm_console_counters(const struct vmm *vm, struct vmm_console_counters *out)
{
	vmm_console_read(&vm->serial.con, out);
}

static uint8_t serial_read(struct vmm_serial *s, int reg)
{
	bool dlab = s->lcr & 0x80;

	switch (reg) {
	case 0: return dlab ? s->dll : 0;
	case 1: return dlab ? s->dlm : s->ier;
	case 2: return 0x01; /* IIR: no interrupt pending */
	case 3: return s->lcr;
	case 4: return s->mcr;
	case 5: return 0x60; /* LSR: transmitter empty */
	case 6:              /* MSR: loopback mirrors MCR, else DCD|DSR|CTS */
		if (s->mcr & 0x10)
			return ((s->mcr & 0x0c) << 4) | ((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3);
		return 0xb0;
	default: return s->scr;
	}
}

static void serial_write(struct vmm_serial *s, int reg, uint8_t val)
{
	bool dlab = s->lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab) {
			s->dll = val;
		} else if (!(s->mcr & 0x10)) {
			vmm_console_putc(&s->con, val);
		}
		break;
	case 1:
		if (dlab)
			s->dlm = val;
		else
			s->ier = val & 0x0f;
		break;
	case 3: s->lcr = val; break;
	case 4: s->mcr = val & 0x1f; break;
	case 7: s->scr = val; break;
	default: break;
	}
}

static uint32_t value_of(const uint8_t *data, int size)
{
	uint32_t v = 0;

	memcpy(&v, data, size > 4 ? 4 : size);
	return v;
}

static int unknown_port(struct vmm_vcpu *v, uint16_t port, uint8_t *data, int size,
			bool is_write)
{
	uint64_t bit = 1ull << (port % 64);
	uint64_t old = atomic_fetch_or(&v->vm->unknown_seen[port / 64], bit);

	v->ctr.unknown_pio++;
	if (!(old & bit))
		util_info("vcpu%d: unhandled port %s of %d bytes at 0x%x: %s (logged once per port)",
			  v->idx, is_write ? "write" : "read", size, port,
			  is_write ? "dropped" : "reads as all ones");
	if (!is_write)
		memset(data, 0xff, size);
	return 0;
}

int vmm_debug_exit_status(uint32_t value)
{
	return value < VMM_DEBUG_EXIT_MAX ? (int)((value << 1) | 1) : VMM_STATUS_DEBUG_EXIT_BIG;
}

static int debug_exit(struct vmm_vcpu *v, uint32_t value)
{
	int status = vmm_debug_exit_status(value);

	if (value >= VMM_DEBUG_EXIT_MAX)
		util_warn("vcpu%d: the guest wrote %u to the debug-exit port 0xf4: values of %u "
			  "and more do not fit the exit status ((v<<1)|1 would read as 128+signal "
			  "or wrap to 0..127), so avmm exits with %d; write 0..%u for "
			  "QEMU-compatible statuses", v->idx, value, VMM_DEBUG_EXIT_MAX, status,
			  VMM_DEBUG_EXIT_MAX - 1);
	vmm_end(v->vm, VMM_END_DEBUG_EXIT, status, "guest wrote %u to the debug-exit port%s",
		value, value >= VMM_DEBUG_EXIT_MAX ? " (>= 64: exit status 6)" : "");
	return 1;
}

/* A reset ends the run (there is no firmware to reboot into); the reason
 * names the CMOS shutdown status byte a BIOS would act on. */
static int guest_reset(struct vmm_vcpu *v, uint16_t port)
{
	int st = vmm_rtc_shutdown_status(v->vm);

	if (st < 0)
		vmm_end(v->vm, VMM_END_RESET, 0, "vcpu%d: guest reset through port 0x%x", v->idx,
			port);
	else
		vmm_end(v->vm, VMM_END_RESET, 0, "vcpu%d: guest reset through port 0x%x; CMOS "
			"shutdown status 0x%02x: %s", v->idx, port, st,
			vmm_rtc_shutdown_meaning((uint8_t)st));
	return 1;
}

int vmm_pio(struct vmm_vcpu *v, uint16_t port, uint8_t *data, int size, bool is_write)
{
	struct vmm *vm = v->vm;
	int rc = vmm_bus_pio(v, port, data, size, is_write);

	if (rc >= 0)
		return rc;
	if (port >= COM1 && port < COM1 + 8) {
		pthread_mutex_lock(&vm->serial.lock);
		if (is_write)
			serial_write(&vm->serial, port - COM1, data[0]);
		else
			data[0] = serial_read(&vm->serial, port - COM1);
		pthread_mutex_unlock(&vm->serial.lock);
		return 0;
	}
	switch (port) {
	case DEBUG_EXIT_PORT:
		if (!is_write)
			return unknown_port(v, port, data, size, is_write);
		return debug_exit(v, value_of(data, size));
	case 0x80: /* POST code sink */
		if (!is_write)
			memset(data, 0, size);
		return 0;
	case 0x64: /* keyboard controller: 0xfe pulses reset */
		if (is_write && data[0] == 0xfe)
			return guest_reset(v, port);
		if (!is_write)
			memset(data, 0, size);
		return 0;
	case 0x60:
		if (!is_write)
			memset(data, 0, size);
		return 0;
	case 0x92: /* system control port A: bit 0 resets, A20 reads as on */
		if (is_write && (data[0] & 1))
			return guest_reset(v, port);
		if (!is_write)
			data[0] = 0x02;
		return 0;
	case 0xcf9: /* reset control register */
		if (is_write && (data[0] & 0x04))
			return guest_reset(v, port);
		if (!is_write)
			data[0] = 0;
		return 0;
	default:
		return unknown_port(v, port, data, size, is_write);
	}
}
