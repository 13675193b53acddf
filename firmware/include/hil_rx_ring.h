/* hil_rx_ring.h -- the UART receive ring the board ports share.
 *
 * One producer (the port's UART RX interrupt) and one consumer (the main
 * loop, through hil_port_uart_read), so no lock is needed. head and tail are
 * free-running 32-bit counters: head - tail is the fill level even after they
 * wrap, and the size being a power of two makes the index a mask.
 */
#ifndef HIL_RX_RING_H
#define HIL_RX_RING_H

#include <stddef.h>
#include <stdint.h>

#ifndef HIL_RX_RING_BYTES
#error "HIL_RX_RING_BYTES must be defined (firmware/CMakeLists.txt sets it)"
#endif
#if (HIL_RX_RING_BYTES & (HIL_RX_RING_BYTES - 1u)) != 0
#error "HIL_RX_RING_BYTES must be a power of two"
#endif

typedef struct {
    volatile uint8_t buf[HIL_RX_RING_BYTES];
    volatile uint32_t head;    /* written by the interrupt */
    volatile uint32_t tail;    /* written by the main loop */
    volatile uint32_t dropped; /* bytes lost to a full ring: their frame fails its CRC */
} hil_rx_ring_t;

/* From the RX interrupt. */
static inline void hil_rx_ring_push(hil_rx_ring_t *r, uint8_t b)
{
    uint32_t head = r->head;
    if (head - r->tail < HIL_RX_RING_BYTES) {
        r->buf[head & (HIL_RX_RING_BYTES - 1u)] = b;
        r->head = head + 1u;
    } else {
        r->dropped = r->dropped + 1u;
    }
}

/* From the main loop: copies up to max bytes, never blocks. */
static inline size_t hil_rx_ring_read(hil_rx_ring_t *r, uint8_t *buf, size_t max)
{
    size_t n = 0;
    uint32_t tail = r->tail;
    const uint32_t head = r->head;
    while (n < max && tail != head) {
        buf[n++] = r->buf[tail & (HIL_RX_RING_BYTES - 1u)];
        ++tail;
    }
    r->tail = tail;
    return n;
}

static inline int hil_rx_ring_empty(const hil_rx_ring_t *r)
{
    return r->head == r->tail;
}

#endif /* HIL_RX_RING_H */
