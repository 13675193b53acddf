/* main.c -- boots the port and the app, then serves frames forever. */
#include "hil_app.h"
#include "hil_port.h"

int main(void)
{
    hil_port_init();
    hil_app_init();
    for (;;) {
        if (hil_app_poll() == 0) {
            hil_port_idle();
        }
    }
}
