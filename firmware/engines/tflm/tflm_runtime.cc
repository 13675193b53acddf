/* tflm_runtime.cc -- what TFLM expects from the platform, for a bare-metal image.
 *
 * The UART belongs to the protocol, so TFLM's log goes nowhere (TFLM's own
 * debug_log.cc, which prints to stderr, is not compiled). The C++ runtime hooks
 * keep libstdc++'s terminate/demangler machinery out of the image.
 */
#include <stdarg.h>
#include <stddef.h>

#include "hil_port.h"

extern "C" void DebugLog(const char *format, va_list args)
{
    (void)format;
    (void)args;
}

extern "C" int DebugVsnprintf(char *buffer, size_t buf_size, const char *format, va_list vlist)
{
    (void)format;
    (void)vlist;
    if (buf_size > 0) {
        buffer[0] = '\0';
    }
    return 0;
}

#if defined(__arm__)
/* A pure virtual call is a bug: reset like any other fatal error. */
extern "C" void __cxa_pure_virtual(void)
{
    hil_port_reset();
    for (;;) {
    }
}

/* Deleting destructors of TFLM's polymorphic classes reference these; nothing
 * is ever heap-allocated or deleted in the firmware. */
void operator delete(void *p) noexcept
{
    (void)p;
}

void operator delete(void *p, size_t n) noexcept
{
    (void)p;
    (void)n;
}
#endif
