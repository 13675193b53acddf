/* bench_main.c -- bare-metal harness: times hil_engine_invoke() of a generated
 * aot model on QEMU mps2-an386 and prints the result over semihosting.
 *
 * Under `-icount shift=0` every guest instruction takes 1 ns of virtual time
 * and SysTick (processor clock, 25 MHz on mps2-an386) ticks every 40 ns, so
 * one tick is 40 guest instructions. Output lines (parsed by bench/bench_aot.py):
 *   ticks <min ticks of one invoke over the runs>
 *   op <index> <op code> <ticks>
 *   arena <bytes>
 *   out <output bytes as signed decimals>
 *   win <i> <output bytes>      (one per window of BENCH_WINDOWS, when given)
 *   fixedpoint <checked> <mismatches>   (with -DBENCH_FIXEDPOINT: fixedpoint_check.h)
 *
 * -DBENCH_WINDOWS="file.h" compiles in a file defining
 *   static const int8_t k_windows[][<input bytes>]
 * whose windows are run one by one and their outputs printed: the
 * bit-exactness check of the Cortex-M4 (DSP) kernels.
 */
#include <stdint.h>
#include <string.h>

#include "hil_engine.h"
#include "hil_port.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#ifdef BENCH_WINDOWS
#include BENCH_WINDOWS
#endif
#ifdef BENCH_FIXEDPOINT
#include "fixedpoint_check.h"
#endif

#ifndef BENCH_RUNS
#define BENCH_RUNS 3
#endif

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void put(const char *s)
{
    semihost(0x04, s);   /* SYS_WRITE0 */
}

static void put_int(int32_t v)
{
    char buf[16];
    char *p = buf + sizeof buf - 1;
    uint32_t u = v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
    *p = 0;
    do {
        *--p = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    if (v < 0) {
        *--p = '-';
    }
    put(p);
}

/* Counts up; SysTick is restarted before each invoke so it never wraps
 * within one (2^24 ticks = 671 M instructions). */
uint32_t hil_port_cycles(void)
{
    return 0x00FFFFFFu - (SYST_CVR & 0x00FFFFFFu);
}

static uint32_t s_lcg = 12345u;

static int8_t next_sample(void)
{
    s_lcg = s_lcg * 1103515245u + 12345u;
    return (int8_t)(s_lcg >> 24);
}

int main(void)
{
    hil_tensor_info_t in_info, out_info;
    if (hil_engine_init() != HIL_ENGINE_OK) {
        put("error init\n");
        return 1;
    }
    hil_engine_input_info(&in_info);
    hil_engine_output_info(&out_info);
    SYST_RVR = 0x00FFFFFFu;
    SYST_CSR = 0x5u;   /* processor clock, no interrupt, enabled */
    uint32_t best = 0xFFFFFFFFu;
    static hil_op_profile_t prof[256];
    size_t n_ops = 0;
    for (int run = 0; run < BENCH_RUNS; ++run) {
        int8_t *in = hil_engine_input();
        for (uint32_t i = 0; i < in_info.bytes; ++i) {
            in[i] = next_sample();
        }
        SYST_CVR = 0;          /* reloads from RVR on the next tick */
        while (SYST_CVR == 0) {
        }
        const uint32_t t0 = hil_port_cycles();
        hil_engine_invoke();
        const uint32_t t1 = hil_port_cycles();
        if (t1 - t0 < best) {
            best = t1 - t0;
            n_ops = hil_engine_profile(prof, 256);
        }
    }
    put("ticks ");
    put_int((int32_t)best);
    put("\n");
    for (size_t i = 0; i < n_ops && i < 256; ++i) {
        put("op ");
        put_int(prof[i].op_index);
        put(" ");
        put_int(prof[i].op_code);
        put(" ");
        put_int((int32_t)prof[i].cycles);
        put("\n");
    }
    put("arena ");
    put_int((int32_t)hil_engine_arena_bytes());
    put("\nout");
    const int8_t *o = hil_engine_output();
    for (uint32_t i = 0; i < out_info.bytes; ++i) {
        put(" ");
        put_int(o[i]);
    }
    put("\n");
#ifdef BENCH_FIXEDPOINT
    {
        long checked = 0;
        int32_t first[4] = {0, 0, 0, 0};
        const long bad = fixedpoint_check(4000, &checked, first);
        put("fixedpoint ");
        put_int((int32_t)checked);
        put(" ");
        put_int((int32_t)bad);
        put("\n");
    }
#endif
#ifdef BENCH_WINDOWS
    for (uint32_t w = 0; w < sizeof k_windows / sizeof k_windows[0]; ++w) {
        memcpy(hil_engine_input(), k_windows[w], in_info.bytes);
        hil_engine_invoke();
        const int8_t *r = hil_engine_output();
        put("win ");
        put_int((int32_t)w);
        for (uint32_t i = 0; i < out_info.bytes; ++i) {
            put(" ");
            put_int(r[i]);
        }
        put("\n");
    }
#endif
    return 0;
}

/* ---- minimal startup: vector table, .data/.bss, FPU, semihosting exit ---- */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
void Reset_Handler(void);
void Default_Handler(void);

void Default_Handler(void)
{
    put("error fault\n");
    semihost(0x18, (const void *)0x20024);   /* SYS_EXIT, ADP_Stopped_InternalError */
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_estack), Reset_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, 0, 0, 0, 0, Default_Handler, Default_Handler, 0, Default_Handler,
    Default_Handler,
};

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; ++dst) {
        *dst = 0;
    }
    /* CP10/CP11 full access: the FPU (hard-float ABI) */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n isb");
    const int rc = main();
    semihost(0x18, (const void *)(rc == 0 ? 0x20026 : 0x20024));   /* SYS_EXIT */
    for (;;) {
    }
}
