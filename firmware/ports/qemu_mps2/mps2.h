/* mps2.h -- the few registers of QEMU mps2-an386 the port uses. */
#ifndef MPS2_H
#define MPS2_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* System control block and SysTick (ARMv7-M). */
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR REG32(0xE000ED38u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER0 REG32(0xE000E100u)
#define NVIC_IPR0 REG32(0xE000E400u)

/* CMSDK APB UART0 (RX interrupt = IRQ 0, TX = IRQ 1). */
#define UART0_BASE 0x40004000u
#define UART0_DATA REG32(UART0_BASE + 0x00u)
#define UART0_STATE REG32(UART0_BASE + 0x04u)
#define UART0_CTRL REG32(UART0_BASE + 0x08u)
#define UART0_INTCLEAR REG32(UART0_BASE + 0x0Cu)
#define UART0_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_STATE_TXFULL 0x1u
#define UART_STATE_RXFULL 0x2u
#define UART_CTRL_TX_EN 0x1u
#define UART_CTRL_RX_EN 0x2u
#define UART_CTRL_RX_INTEN 0x8u
#define UART_INT_RX 0x2u

/* The link QEMU was started with (hil/device/qemu.py stores the word). */
#define MPS2_LINK_SELECT_ADDR 0x20000000u
#define MPS2_LINK_SEMIHOSTING 0x4B4E4C53u /* "SLNK" */

#define MPS2_SYSCLK_HZ 25000000u
#define HIL_ERROR_TEXT_LINE 161

void mps2_mark_fault(void);

#endif /* MPS2_H */
