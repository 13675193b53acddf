/* test_fixedpoint.c -- host run of fixedpoint_check.h. Exit status 0 when the
 * fast forms agree with the reference forms everywhere. */
#include <stdint.h>
#include <stdio.h>

#include "fixedpoint_check.h"

int main(void)
{
    long checked = 0;
    int32_t first[4] = {0, 0, 0, 0};
    const long bad = fixedpoint_check(40000, &checked, first);
    if (bad) {
        printf("first mismatch: x=%ld m=%ld shift=%ld small=%ld\n", (long)first[0], (long)first[1],
               (long)first[2], (long)first[3]);
    }
    printf("%ld checked, %ld mismatches\n", checked, bad);
    return bad != 0;
}
