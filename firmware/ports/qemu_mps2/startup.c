/* startup.c -- vector table, reset handler and fault handler for the
 * Cortex-M4F of QEMU mps2-an386. */
#include <stdint.h>
#include <string.h>

#include "hil_app.h"
#include "hil_port.h"
#include "mps2.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);
void UART0RX_Handler(void);

/* Exceptions without a handler of their own end up as a fault report. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));

#define NUM_IRQS 32

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t vector_table[16 + NUM_IRQS] = {
    (vector_t)(uintptr_t)&_estack,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0, 0, 0, 0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    /* IRQ 0: UART0 RX; every other IRQ is unexpected. */
    UART0RX_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler,
};

void Reset_Handler(void)
{
    /* FPU on (CP10, CP11 full access) before any C code may use it. */
    SCB_CPACR |= (0xFu << 20);
    __asm volatile("dsb\n isb" ::: "memory");
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    SCB_VTOR = (uint32_t)(uintptr_t)vector_table;
    main();
    for (;;) {
    }
}

static void append(char *line, size_t *n, size_t cap, const char *s)
{
    while (*s != '\0' && *n + 1 < cap) {
        line[(*n)++] = *s++;
    }
    line[*n] = '\0';
}

/* Called from HardFault_Handler with the stacked exception frame. */
__attribute__((used)) void hil_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    static const char *const names[] = {" pc=", " lr=", " xpsr=", " cfsr=", " hfsr=", " mmfar=", " bfar="};
    uint32_t values[7];
    values[0] = frame[6];
    values[1] = frame[5];
    values[2] = frame[7];
    values[3] = SCB_CFSR;
    values[4] = SCB_HFSR;
    values[5] = SCB_MMFAR;
    values[6] = SCB_BFAR;
    char line[HIL_ERROR_TEXT_LINE];
    size_t n = 0;
    line[0] = '\0';
    append(line, &n, sizeof line, (exc_return & 0x4u) ? "HardFault(psp)" : "HardFault");
    for (int i = 0; i < 7; ++i) {
        char hex[11];
        hil_app_hex32(hex, values[i]);
        append(line, &n, sizeof line, names[i]);
        append(line, &n, sizeof line, hex);
    }
    mps2_mark_fault();
    hil_app_fault(line);
    hil_port_reset();
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b hil_fault_report\n");
}

void Default_Handler(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    char line[40] = "unexpected exception ";
    hil_app_hex32(line + 21, ipsr);
    mps2_mark_fault();
    hil_app_fault(line);
    hil_port_reset();
}
