/* hil_port.h -- the board seam.
 *
 * One implementation per board family under ports/<name>/. The app and the
 * engines use only these functions; nothing else about a board is visible.
 */
#ifndef HIL_PORT_H
#define HIL_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HIL_RESET_UNKNOWN = 0,
    HIL_RESET_POWER_ON = 1,
    HIL_RESET_EXTERNAL = 2,             /* reset pin / debugger */
    HIL_RESET_SOFTWARE = 3,             /* SYSRESETREQ, e.g. after a fault */
    HIL_RESET_WATCHDOG = 4,
    HIL_RESET_FAULT = 5,                /* a fault was reported before the reset */
} hil_reset_reason_t;

/* What carries the link (INFO reports it, docs/protocol.md). */
typedef enum {
    HIL_LINK_UART = 0,                  /* the board's UART (every real board) */
    HIL_LINK_SEMIHOSTING = 1,           /* an emulator's semihosting console (qemu_mps2 option) */
} hil_link_t;

/* Clocks, UART (with RX interrupt), timer; called once before anything else. */
void hil_port_init(void);

/* Board name for INFO, e.g. "qemu-m4". */
const char *hil_port_board_name(void);

/* The link hil_port_uart_read/write use. Optional: the app's weak default
 * says HIL_LINK_UART. */
hil_link_t hil_port_link(void);

/* Takes up to max received bytes from the RX buffer filled by the UART
 * interrupt; never blocks. Returns the number of bytes copied. */
size_t hil_port_uart_read(uint8_t *buf, size_t max);

/* Sends len bytes; returns when they are queued or sent. */
void hil_port_uart_write(const uint8_t *buf, size_t len);

/* Free-running 32-bit counter in timer units (see hil_port_timer_unit). */
uint32_t hil_port_cycles(void);

/* Bracket one timed invoke: the difference of the two counts is the
 * invoke's alone, without the interrupts that land inside it (the next
 * window arriving while this one is computed). Each port says how:
 * qemu_mps2 masks interrupts (QEMU holds the incoming bytes, the ring catches
 * up after) and starts on a SysTick edge, so a count is exact and repeats;
 * apollo4 keeps reception running (its FIFO holds 32 bytes) and subtracts
 * the cycles spent in the RX interrupt. Same units as hil_port_cycles. */
uint32_t hil_port_timing_begin(void);
uint32_t hil_port_timing_end(void);

/* Core clock in Hz. */
uint32_t hil_port_clock_hz(void);

/* Why the chip last reset. */
hil_reset_reason_t hil_port_reset_reason(void);

/* Sleeps until an interrupt (or returns at once on the host). */
void hil_port_idle(void);

/* Resets the chip (used after a fault has been reported). */
void hil_port_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* HIL_PORT_H */
