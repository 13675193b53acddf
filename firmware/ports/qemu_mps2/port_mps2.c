/* port_mps2.c -- hil_port.h for QEMU mps2-an386 (Cortex-M4F, 25 MHz).
 *
 * UART0 (CMSDK APB UART) receives through its RX interrupt into a ring
 * buffer; transmission polls TXFULL. SysTick runs from the core clock with a
 * 24-bit reload; its wrap interrupt extends it to a 32-bit counter. Under
 * QEMU -icount shift=0 one tick is 40 guest instructions (docs/protocol.md).
 */
#include <stddef.h>
#include <stdint.h>

#include "hil_app.h"
#include "hil_port.h"
#include "hil_rx_ring.h"
#include "mps2.h"

#ifndef HIL_BOARD_NAME
#define HIL_BOARD_NAME "qemu-m4"
#endif


static hil_rx_ring_t rx;
static volatile uint32_t systick_wraps;

/* Survives the reset after a fault report (section .noinit). */
#define FAULT_MAGIC 0xFA17ED00u
#define SOFT_MAGIC 0x50F7B007u
__attribute__((section(".noinit"))) static volatile uint32_t reset_marker;
static hil_reset_reason_t reset_reason = HIL_RESET_POWER_ON;

void mps2_mark_fault(void)
{
    reset_marker = FAULT_MAGIC;
}

void UART0RX_Handler(void)
{
    UART0_INTCLEAR = UART_INT_RX;
    while (UART0_STATE & UART_STATE_RXFULL) {
        hil_rx_ring_push(&rx, (uint8_t)UART0_DATA);
    }
}

void SysTick_Handler(void)
{
    systick_wraps = systick_wraps + 1u;
}

void hil_port_init(void)
{
    if (reset_marker == FAULT_MAGIC) {
        reset_reason = HIL_RESET_FAULT;
    } else if (reset_marker == SOFT_MAGIC) {
        reset_reason = HIL_RESET_SOFTWARE;
    }
    reset_marker = 0;

    UART0_BAUDDIV = MPS2_SYSCLK_HZ / 115200u;
    UART0_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
    NVIC_ISER0 = 1u << 0; /* UART0 RX */

    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* core clock, interrupt, enable */
    __asm volatile("cpsie i" ::: "memory");
}

const char *hil_port_board_name(void)
{
    return HIL_BOARD_NAME;
}

size_t hil_port_uart_read(uint8_t *buf, size_t max)
{
    return hil_rx_ring_read(&rx, buf, max);
}

void hil_port_uart_write(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        while (UART0_STATE & UART_STATE_TXFULL) {
        }
        UART0_DATA = buf[i];
    }
}

uint32_t hil_port_cycles(void)
{
    uint32_t hi;
    uint32_t val;
    do {
        hi = systick_wraps;
        val = SYST_CVR;
    } while (hi != systick_wraps);
    return (hi << 24) + (0x00FFFFFFu - val);
}

uint32_t hil_port_clock_hz(void)
{
    return MPS2_SYSCLK_HZ;
}

hil_reset_reason_t hil_port_reset_reason(void)
{
    return reset_reason;
}

void hil_port_idle(void)
{
    /* WFI with interrupts masked still wakes on a pending one, so a byte that
     * arrives between the check and the WFI is not left waiting. */
    __asm volatile("cpsid i" ::: "memory");
    if (hil_rx_ring_empty(&rx)) {
        __asm volatile("wfi");
    }
    __asm volatile("cpsie i" ::: "memory");
}

void hil_port_reset(void)
{
    if (reset_marker != FAULT_MAGIC) {
        reset_marker = SOFT_MAGIC;
    }
    while (UART0_STATE & UART_STATE_TXFULL) {
    }
    __asm volatile("dsb" ::: "memory");
    SCB_AIRCR = (0x5FAu << 16) | (1u << 2); /* SYSRESETREQ */
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}
