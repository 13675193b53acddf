/* semihost.h -- the ARM semihosting console calls of the qemu_mps2 port's
 * semihosting link (QEMU -semihosting-config ...,chardev=<link>).
 *
 * QEMU's console is a character device like the UART, but QEMU fills its
 * 1024-byte input FIFO from the socket in one main-loop turn, where the UART
 * takes one byte per turn (docs/link-speed.md). SYS_READC takes a byte from
 * that FIFO; SYS_WRITE0 writes a NUL-terminated string, SYS_WRITEC one byte.
 * (A ":tt" handle of SYS_OPEN would be QEMU's own stdin/stdout, not the
 * chardev, in QEMU 7.2.)
 */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stdint.h>

#define SEMIHOST_SYS_WRITEC 0x03u
#define SEMIHOST_SYS_WRITE0 0x04u
#define SEMIHOST_SYS_READC 0x07u

static inline uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* The next byte of the console; blocks (the core halted, as in WFI) while
 * QEMU holds none. QEMU stores the byte at sp - 1 and returns it in r0, but
 * QEMU 7.2 reads r0's value from sp - 1 before storing the new byte (it
 * returns the previous one), so the byte is taken from sp - 1 after the
 * call, with interrupts masked so that no exception frame overwrites it
 * first. A masked core still wakes when bytes arrive. */
static inline uint8_t semihost_readc(void)
{
    register uint32_t r0 __asm__("r0") = SEMIHOST_SYS_READC;
    register uint32_t r1 __asm__("r1") = 0;
    uint32_t primask;
    __asm volatile(
        "mrs  %[pm], primask\n"
        "cpsid i\n"
        "bkpt 0xab\n"
        "ldrb %[r0], [sp, #-1]\n"
        "msr  primask, %[pm]\n"
        : [r0] "+r"(r0), [pm] "=&r"(primask)
        : "r"(r1)
        : "memory");
    return (uint8_t)r0;
}

static inline void semihost_writec(uint8_t c)
{
    (void)semihost_call(SEMIHOST_SYS_WRITEC, &c);
}

/* Writes the bytes of s up to its NUL. */
static inline void semihost_write0(const uint8_t *s)
{
    (void)semihost_call(SEMIHOST_SYS_WRITE0, s);
}

#endif /* SEMIHOST_H */
