/* port_host.c -- hil_port.h on a POSIX host.
 *
 * The link is stdin/stdout by default; with HIL_HOST_LINK=pty the port opens
 * a pseudo-terminal, prints "HIL-PTY <path>" on stderr and speaks over it
 * (pyserial can open the path like any serial port). Timer: nanoseconds of
 * CLOCK_MONOTONIC.
 */
#define _XOPEN_SOURCE 600
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hil_port.h"

#ifndef HIL_BOARD_NAME
#define HIL_BOARD_NAME "host"
#endif

static int in_fd = 0;
static int out_fd = 1;
static int is_pty = 0;

static void open_pty(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        perror("hil host port: pty");
        exit(2);
    }
    const char *name = ptsname(master);
    /* Raw mode on the slave side, kept open so the master never sees a
     * hang-up when a client closes and reopens it. */
    int slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) {
        perror("hil host port: pty slave");
        exit(2);
    }
    struct termios t;
    tcgetattr(slave, &t);
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    in_fd = master;
    out_fd = master;
    is_pty = 1;
    fprintf(stderr, "HIL-PTY %s\n", name);
    fflush(stderr);
}

void hil_port_init(void)
{
    const char *link = getenv("HIL_HOST_LINK");
    if (link != NULL && strcmp(link, "pty") == 0) {
        open_pty();
    }
}

const char *hil_port_board_name(void)
{
    return HIL_BOARD_NAME;
}

size_t hil_port_uart_read(uint8_t *buf, size_t max)
{
    struct pollfd p = {in_fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) {
        return 0;
    }
    ssize_t n = read(in_fd, buf, max);
    if (n > 0) {
        return (size_t)n;
    }
    if (n == 0 && !is_pty) {
        exit(0); /* stdin closed: the host is done */
    }
    return 0;
}

void hil_port_uart_write(const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(out_fd, buf, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            exit(0); /* the host went away */
        }
        buf += n;
        len -= (size_t)n;
    }
}

uint32_t hil_port_cycles(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* No interrupts on the host: the monotonic clock as it is. */
uint32_t hil_port_timing_begin(void)
{
    return hil_port_cycles();
}

uint32_t hil_port_timing_end(void)
{
    return hil_port_cycles();
}

uint32_t hil_port_clock_hz(void)
{
    return 1000000000u;
}

hil_reset_reason_t hil_port_reset_reason(void)
{
    return HIL_RESET_POWER_ON;
}

void hil_port_idle(void)
{
    struct pollfd p = {in_fd, POLLIN, 0};
    if (poll(&p, 1, 50) > 0 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) {
        if (!is_pty) {
            exit(0);
        }
        usleep(10000);
    }
}

void hil_port_reset(void)
{
    /* A process cannot reset itself into a clean state; end with a status
     * the test harness recognises. */
    exit(3);
}
