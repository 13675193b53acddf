/* port_apollo4.c -- hil_port.h for the Ambiq Apollo4 Plus EVB (AmbiqSuite HAL).
 *
 * The COM UART (the J-Link VCOM of the EVB) is set up with the HAL; its RX
 * interrupt drains the PL011-style FIFO into our ring buffer (the HAL's own
 * buffered transfers are not used, so the app sees the same ring as on every
 * port). TX polls the FIFO-full flag. Cycles: DWT CYCCNT at the core clock.
 *
 * Needs HIL_AMBIQSUITE_ROOT; see port.cmake.
 */
#include <stdint.h>

#include "am_mcu_apollo.h"
/* Only the BSP's pin table: am_bsp.h pulls in the LED and button drivers
 * (devices/), which this port does not use. */
#include "am_bsp_pins.h"

#include "hil_app.h"
#include "hil_port.h"
#include "hil_rx_ring.h"

#ifndef HIL_BOARD_NAME
#define HIL_BOARD_NAME "apollo4"
#endif

/* The EVB's COM UART (am_bsp.h: COM_UART_INST); the RX interrupt
 * below reads UART0's registers directly, so it is fixed here. */
#define COM_UART_INST 0


/* HIL_APOLLO4_HP_MODE=1: the MCU in high-performance mode (192 MHz); else
 * low-power mode (96 MHz, boards.yaml clock_hz). */
#if defined(HIL_APOLLO4_HP_MODE) && HIL_APOLLO4_HP_MODE
#define CORE_CLOCK_HZ 192000000u
#define MCU_MODE AM_HAL_PWRCTRL_MCU_MODE_HIGH_PERFORMANCE
#else
#define CORE_CLOCK_HZ 96000000u
#define MCU_MODE AM_HAL_PWRCTRL_MCU_MODE_LOW_POWER
#endif

static void *uart_handle;
static hil_rx_ring_t rx;
/* Cycles spent in the RX interrupt, subtracted from a timed invoke. */
static volatile uint32_t isr_cycles;
static uint32_t isr_mark;

#define FAULT_MAGIC 0xFA17ED00u
#define SOFT_MAGIC 0x50F7B007u
__attribute__((section(".noinit"))) static volatile uint32_t reset_marker;
static hil_reset_reason_t reset_reason = HIL_RESET_UNKNOWN;

static const am_hal_uart_config_t uart_config = {
    .ui32BaudRate = HIL_UART_BAUD, /* boards.yaml link.baud (docs/link-speed.md) */
    .eDataBits = AM_HAL_UART_DATA_BITS_8,
    .eParity = AM_HAL_UART_PARITY_NONE,
    .eStopBits = AM_HAL_UART_ONE_STOP_BIT,
    .eFlowControl = AM_HAL_UART_FLOW_CTRL_NONE,
    .eTXFifoLevel = AM_HAL_UART_FIFO_LEVEL_16,
    .eRXFifoLevel = AM_HAL_UART_FIFO_LEVEL_16,
};

/* UART0 interrupt (name from the SDK's startup_gcc.c): RX level and RX timeout. */
void am_uart_isr(void)
{
    const uint32_t t0 = DWT->CYCCNT;
    uint32_t status = 0;
    am_hal_uart_interrupt_status_get(uart_handle, &status, true);
    am_hal_uart_interrupt_clear(uart_handle, status);
    while (!UART0->FR_b.RXFE) {
        hil_rx_ring_push(&rx, (uint8_t)(UART0->DR & 0xFFu)); /* DATA is DR[7:0]; error flags above */
    }
    isr_cycles = isr_cycles + (DWT->CYCCNT - t0);
}

void hil_port_init(void)
{
    /* RSTGEN.STAT says what reset the chip; the .noinit marker says whether
     * our own SYSRESETREQ followed a fault report. */
    am_hal_reset_status_t rst;
    if (reset_marker == FAULT_MAGIC) {
        reset_reason = HIL_RESET_FAULT;
    } else if (reset_marker == SOFT_MAGIC) {
        reset_reason = HIL_RESET_SOFTWARE;
    } else if (am_hal_reset_status_get(&rst) != AM_HAL_STATUS_SUCCESS) {
        reset_reason = HIL_RESET_UNKNOWN;
    } else if (rst.bWDTStat) {
        reset_reason = HIL_RESET_WATCHDOG;
    } else if (rst.bEXTStat || rst.bDBGRStat) {
        reset_reason = HIL_RESET_EXTERNAL;
    } else if (rst.bSWPORStat || rst.bSWPOIStat) {
        reset_reason = HIL_RESET_SOFTWARE;
    } else if (rst.bPORStat || rst.bBODStat) {
        reset_reason = HIL_RESET_POWER_ON;
    } else {
        reset_reason = HIL_RESET_UNKNOWN;
    }
    reset_marker = 0;

    am_hal_pwrctrl_low_power_init();
    am_hal_pwrctrl_mcu_mode_select(MCU_MODE);
    am_hal_cachectrl_config(&am_hal_cachectrl_defaults);
    am_hal_cachectrl_enable();
    am_hal_sysctrl_fpu_enable();
    am_hal_sysctrl_fpu_stacking_enable(true);

    am_hal_uart_initialize(COM_UART_INST, &uart_handle);
    am_hal_uart_power_control(uart_handle, AM_HAL_SYSCTRL_WAKE, false);
    am_hal_uart_configure(uart_handle, &uart_config);
    am_hal_gpio_pinconfig(AM_BSP_GPIO_COM_UART_TX, g_AM_BSP_GPIO_COM_UART_TX);
    am_hal_gpio_pinconfig(AM_BSP_GPIO_COM_UART_RX, g_AM_BSP_GPIO_COM_UART_RX);
    am_hal_uart_interrupt_enable(uart_handle, AM_HAL_UART_INT_RX | AM_HAL_UART_INT_RX_TMOUT);
    NVIC_SetPriority((IRQn_Type)(UART0_IRQn + COM_UART_INST), AM_IRQ_PRIORITY_DEFAULT);
    NVIC_EnableIRQ((IRQn_Type)(UART0_IRQn + COM_UART_INST));

    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
    DWT->CYCCNT = 0;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
    am_hal_interrupt_master_enable();
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
        while (UART0->FR_b.TXFF) {
        }
        UART0->DR = buf[i];
    }
}

uint32_t hil_port_cycles(void)
{
    return DWT->CYCCNT;
}

/* Reception keeps running during an invoke (masking it would overflow the
 * 32-byte FIFO: 2.8 ms at 115200 baud); the handler's own cycles are taken out. What
 * remains is exception entry and exit (~24 cycles per interrupt) and cache
 * effects: docs/nightly.md gives the tolerance that follows. */
uint32_t hil_port_timing_begin(void)
{
    isr_mark = isr_cycles;
    return DWT->CYCCNT;
}

uint32_t hil_port_timing_end(void)
{
    const uint32_t now = DWT->CYCCNT;
    return now - (isr_cycles - isr_mark);
}

uint32_t hil_port_clock_hz(void)
{
    return CORE_CLOCK_HZ;
}

hil_reset_reason_t hil_port_reset_reason(void)
{
    return reset_reason;
}

void hil_port_idle(void)
{
    __disable_irq();
    if (hil_rx_ring_empty(&rx)) {
        __WFI();
    }
    __enable_irq();
}

void hil_port_reset(void)
{
    if (reset_marker != FAULT_MAGIC) {
        reset_marker = SOFT_MAGIC;
    }
    while (UART0->FR_b.BUSY) {
    }
    NVIC_SystemReset();
}

static void fault_report(const uint32_t *frame)
{
    static const char *const names[] = {"HardFault pc=", " lr=", " xpsr=", " cfsr=", " hfsr="};
    uint32_t values[5] = {frame[6], frame[5], frame[7], SCB->CFSR, SCB->HFSR};
    char line[128];
    size_t n = 0;
    for (int i = 0; i < 5; ++i) {
        for (const char *s = names[i]; *s != '\0' && n + 12 < sizeof line; ++s) {
            line[n++] = *s;
        }
        hil_app_hex32(line + n, values[i]);
        n += 10;
    }
    line[n] = '\0';
    reset_marker = FAULT_MAGIC;
    hil_app_fault(line);
    hil_port_reset();
}

__attribute__((used)) void hil_apollo4_fault(const uint32_t *frame)
{
    fault_report(frame);
}

/* Overrides the SDK start-up file's weak HardFault_Handler. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b hil_apollo4_fault\n");
}
