/* startup_apollo4.c -- vector table and reset handler of the Apollo4 Plus
 * (Cortex-M4F, 84 external interrupts) for hil; no SDK start-up file needed.
 *
 * The table sits at the start of the image (0x18000, see apollo4p.ld), where
 * the secure bootloader looks for it. Every fault and unexpected interrupt
 * goes to HardFault_Handler (port_apollo4.c), which reports it over the UART
 * through the app and resets.
 */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void am_uart_isr(void);

#define APOLLO4P_NUM_IRQS 84
#define APOLLO4P_UART0_IRQ 15

typedef void (*vector_t)(void);

#define CORE_VECTORS 16
#define V(n) [CORE_VECTORS + (n)] = Default_Handler

__attribute__((section(".isr_vector"), used))
const vector_t hil_vector_table[CORE_VECTORS + APOLLO4P_NUM_IRQS] = {
    [0] = (vector_t)(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = Default_Handler,  /* NMI */
    [3] = HardFault_Handler,
    [4] = Default_Handler,  /* MemManage */
    [5] = Default_Handler,  /* BusFault */
    [6] = Default_Handler,  /* UsageFault */
    [11] = Default_Handler, /* SVCall */
    [12] = Default_Handler, /* DebugMon */
    [14] = Default_Handler, /* PendSV */
    [15] = Default_Handler, /* SysTick (unused: DWT CYCCNT is the timer) */
    V(0), V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8), V(9), V(10), V(11), V(12), V(13), V(14),
    [CORE_VECTORS + APOLLO4P_UART0_IRQ] = am_uart_isr,
    V(16), V(17), V(18), V(19), V(20), V(21), V(22), V(23), V(24), V(25), V(26), V(27), V(28), V(29),
    V(30), V(31), V(32), V(33), V(34), V(35), V(36), V(37), V(38), V(39), V(40), V(41), V(42), V(43),
    V(44), V(45), V(46), V(47), V(48), V(49), V(50), V(51), V(52), V(53), V(54), V(55), V(56), V(57),
    V(58), V(59), V(60), V(61), V(62), V(63), V(64), V(65), V(66), V(67), V(68), V(69), V(70), V(71),
    V(72), V(73), V(74), V(75), V(76), V(77), V(78), V(79), V(80), V(81), V(82), V(83),
};

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void Reset_Handler(void)
{
    /* The bootloader may leave VTOR pointing at its own table. */
    SCB_VTOR = (uint32_t)(uintptr_t)hil_vector_table;
    /* FPU on (CP10, CP11 full access) before any C code may use it. */
    SCB_CPACR |= (0xFu << 20);
    __asm volatile("dsb\n isb" ::: "memory");

    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    main();
    for (;;) {
    }
}

/* Same report as a HardFault: keep the stacked frame and EXC_RETURN intact. */
__attribute__((naked)) void Default_Handler(void)
{
    __asm volatile("b HardFault_Handler\n");
}
