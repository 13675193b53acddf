/* port_mps2.c -- hil_port.h for QEMU mps2-an386 (Cortex-M4F, 25 MHz).
 *
 * The link is UART0 or, when the board entry chooses it, QEMU's semihosting
 * console (docs/link-speed.md): QEMU says which by the word at
 * MPS2_LINK_SELECT_ADDR. UART0 (CMSDK APB UART) receives through its RX
 * interrupt into a ring buffer; transmission polls TXFULL. On the console,
 * idle reads up to the end of a frame (the first read blocks, the core
 * halted as in WFI, until a byte arrives) and a write is one call per run of
 * non-zero bytes. SysTick runs from the core clock with a
 * 24-bit reload; its wrap interrupt extends it to a 32-bit counter. Under
 * QEMU -icount shift=0 one tick is 40 guest instructions (docs/protocol.md).
 * A timed invoke runs with interrupts masked (hil_port_timing_begin).
 */
#include <stddef.h>
#include <stdint.h>

#include "hil_app.h"
#include "hil_port.h"
#include "hil_rx_ring.h"
#include "mps2.h"
#include "semihost.h"

#ifndef HIL_BOARD_NAME
#define HIL_BOARD_NAME "qemu-m4"
#endif


static hil_rx_ring_t rx;
static volatile uint32_t systick_wraps;

/* Stored by QEMU (-device loader) at every reset, before the image runs;
 * the linker script puts it at MPS2_LINK_SELECT_ADDR. Anything but
 * MPS2_LINK_SEMIHOSTING, as when QEMU stores nothing, means UART0. */
__attribute__((section(".link_select"), used)) static volatile uint32_t link_select;

static int semihosting;            /* the link is the semihosting console */
static uint8_t sh_rx[1024];        /* bytes read off the console, not yet taken */
static size_t sh_rx_len, sh_rx_pos;

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

    semihosting = link_select == MPS2_LINK_SEMIHOSTING;

    UART0_BAUDDIV = MPS2_SYSCLK_HZ / HIL_UART_BAUD; /* QEMU times nothing by it */
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

hil_link_t hil_port_link(void)
{
    return semihosting ? HIL_LINK_SEMIHOSTING : HIL_LINK_UART;
}

size_t hil_port_uart_read(uint8_t *buf, size_t max)
{
    if (!semihosting) {
        return hil_rx_ring_read(&rx, buf, max);
    }
    size_t n = sh_rx_len - sh_rx_pos;
    n = n < max ? n : max;
    for (size_t i = 0; i < n; ++i) {
        buf[i] = sh_rx[sh_rx_pos + i];
    }
    sh_rx_pos += n;
    return n;
}

/* SYS_WRITE0 stops at a NUL: a run that ends at a 0x00 of buf (a frame's
 * delimiter) is written in place, the delimiter by SYS_WRITEC; a run at the
 * end of buf goes through a NUL-terminated copy. */
static void semihost_write(const uint8_t *buf, size_t len)
{
    uint8_t tail[64];
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != 0u) {
            ++j;
        }
        if (j < len) {
            if (j > i) {
                semihost_write0(buf + i);
            }
            semihost_writec(0u);
            i = j + 1u;
            continue;
        }
        size_t k = 0;
        while (i < len && k < sizeof tail - 1u) {
            tail[k++] = buf[i++];
        }
        tail[k] = 0u;
        semihost_write0(tail);
    }
}

/* Called with the buffer empty: a byte (waiting for it), then what follows
 * up to the end of the frame or of the buffer. */
static void semihost_fill(void)
{
    size_t n = 0;
    uint8_t b;
    do {
        b = semihost_readc();
        sh_rx[n++] = b;
    } while (b != 0u && n < sizeof sh_rx);
    sh_rx_len = n;
    sh_rx_pos = 0;
}

void hil_port_uart_write(const uint8_t *buf, size_t len)
{
    if (semihosting) {
        semihost_write(buf, len);
        return;
    }
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

/* With interrupts masked a wrap may be pending, not yet counted: a pending
 * wrap with the counter high (just reloaded) has happened before the read.
 * Right for a masked stretch shorter than half a wrap (2^23 ticks, ~335 M
 * instructions). */
static uint32_t cycles_masked(void)
{
    uint32_t val = SYST_CVR;
    uint32_t hi = systick_wraps;
    if ((SCB_ICSR & SCB_ICSR_PENDSTSET) && val > 0x007FFFFFu) {
        hi += 1u;
    }
    return (hi << 24) + (0x00FFFFFFu - val);
}

/* Under -icount a tick is 40 instructions and the invoke would start at any
 * of them (idle time moves virtual time by the wall clock), so its count
 * could be off by one tick. This starts at a fixed instruction after a tick
 * edge: the loop (3 instructions) leaves s = 0..2 instructions after the
 * edge; reads 38 and 39 instructions later see the next edge iff s >= 2 and
 * s >= 1, and the branches then run 6 - s instructions. Instruction counts
 * matter here, hence assembler. */
static void align_to_tick(void)
{
    volatile uint32_t *cvr = &SYST_CVR;
    uint32_t v, a, b, c;
    __asm volatile(
        "    ldr  %[v], [%[cvr]]\n"
        "1:  ldr  %[a], [%[cvr]]\n"
        "    cmp  %[a], %[v]\n"
        "    beq  1b\n"
        "    .rept 35\n"
        "    nop\n"
        "    .endr\n"
        "    ldr  %[b], [%[cvr]]\n"
        "    ldr  %[c], [%[cvr]]\n"
        "    cmp  %[b], %[a]\n"
        "    bne  3f\n"
        "    cmp  %[c], %[a]\n"
        "    bne  4f\n"
        "    nop\n"
        "4:  b    5f\n"
        "3:  nop\n"
        "    nop\n"
        "5:\n"
        : [v] "=&r"(v), [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c)
        : [cvr] "r"(cvr)
        : "cc", "memory");
}

uint32_t hil_port_timing_begin(void)
{
    __asm volatile("cpsid i" ::: "memory");
    align_to_tick();
    return cycles_masked();
}

uint32_t hil_port_timing_end(void)
{
    uint32_t t = cycles_masked();
    __asm volatile("cpsie i" ::: "memory");
    return t;
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
    if (semihosting) {
        if (sh_rx_pos == sh_rx_len) {
            semihost_fill();
        }
        return;
    }
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
