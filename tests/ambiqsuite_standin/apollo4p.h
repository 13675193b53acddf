/* apollo4p.h -- TEST STAND-IN, not Ambiq's register header.
 *
 * The AmbiqSuite copy the tests build against (../shared/third_party/ambiqsuite,
 * see its SOURCE.md) lacks CMSIS/AmbiqMicro/Include/apollo4p.h, the 8 MB
 * register header generated from the Apollo4 Plus SVD. This file declares only
 * what port_apollo4.c and the HAL/BSP headers it includes need in order to
 * COMPILE, so tests/integration/test_apollo4_build.py can build and link the
 * whole image against the SDK's real libam_hal.a / libam_bsp.a.
 *
 * It is passed only by that test (HIL_AMBIQ_EXTRA_INCLUDE); firmware/ never
 * looks here. Real values: the Cortex-M4 core configuration, UART0_IRQn = 15,
 * and the PL011 register layout and bit positions of UART0/UART1 (the part of
 * the image our port touches directly; the bases 0x4001C000 + n * 0x1000 and
 * IER at 0x38 are what libam_hal.a's am_hal_uart code computes). Everything
 * marked "placeholder" has a made-up value, so an image built with this file
 * links but must not be flashed: build for a board with the SDK's own apollo4p.h.
 */
#ifndef HIL_TEST_STANDIN_APOLLO4P_H
#define HIL_TEST_STANDIN_APOLLO4P_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    Reset_IRQn = -15,
    NonMaskableInt_IRQn = -14,
    HardFault_IRQn = -13,
    MemoryManagement_IRQn = -12,
    BusFault_IRQn = -11,
    UsageFault_IRQn = -10,
    SVCall_IRQn = -5,
    DebugMonitor_IRQn = -4,
    PendSV_IRQn = -2,
    SysTick_IRQn = -1,
    UART0_IRQn = 15,
    UART1_IRQn = 16,
    UART2_IRQn = 17,
    UART3_IRQn = 18,
} IRQn_Type;

/* Cortex-M4F core configuration (Apollo4 Plus). */
#define __CM4_REV 0x0001u
#define __NVIC_PRIO_BITS 3
#define __Vendor_SysTickConfig 0
#define __FPU_PRESENT 1
#define __MPU_PRESENT 1

#include "core_cm4.h"
#include "system_apollo4p.h"

/* UART0..3: ARM PL011 layout (offsets 0x00..0x44). */
typedef struct {
    union { __IOM uint32_t DR; struct { __IOM uint32_t DATA : 8; __IM uint32_t FEDATA : 1; __IM uint32_t PEDATA : 1;
                                        __IM uint32_t BEDATA : 1; __IM uint32_t OEDATA : 1; uint32_t : 20; } DR_b; };
    __IOM uint32_t RSR;
    __IM uint32_t RESERVED0[4];
    union { __IM uint32_t FR; struct { __IM uint32_t CTS : 1; __IM uint32_t DSR : 1; __IM uint32_t DCD : 1;
                                       __IM uint32_t BUSY : 1; __IM uint32_t RXFE : 1; __IM uint32_t TXFF : 1;
                                       __IM uint32_t RXFF : 1; __IM uint32_t TXFE : 1; uint32_t : 24; } FR_b; };
    __IM uint32_t RESERVED1;
    __IOM uint32_t ILPR;
    __IOM uint32_t IBRD;
    __IOM uint32_t FBRD;
    __IOM uint32_t LCRH;
    __IOM uint32_t CR;
    __IOM uint32_t IFLS;
    __IOM uint32_t IER;
    __IM uint32_t IES;
    __IM uint32_t MIS;
    __OM uint32_t IEC;
} UART0_Type;

#define UART0_BASE 0x4001C000ul
#define UART1_BASE 0x4001D000ul
#define UART0 ((UART0_Type *)UART0_BASE)
#define UART0_DR_FEDATA_Pos 8u
#define UART0_DR_FEDATA_Msk (1ul << UART0_DR_FEDATA_Pos)
#define UART0_DR_PEDATA_Pos 9u
#define UART0_DR_PEDATA_Msk (1ul << UART0_DR_PEDATA_Pos)
#define UART0_DR_BEDATA_Pos 10u
#define UART0_DR_BEDATA_Msk (1ul << UART0_DR_BEDATA_Pos)
#define UART0_DR_OEDATA_Pos 11u
#define UART0_DR_OEDATA_Msk (1ul << UART0_DR_OEDATA_Pos)
#define UART0_CR_RTSEN_Pos 14u
#define UART0_CR_RTSEN_Msk (1ul << UART0_CR_RTSEN_Pos)
#define UART0_CR_CTSEN_Pos 15u
#define UART0_CR_CTSEN_Msk (1ul << UART0_CR_CTSEN_Pos)
#define UART0_IER_RXIM_Pos 4u
#define UART0_IER_RXIM_Msk (1ul << UART0_IER_RXIM_Pos)
#define UART0_IER_RTIM_Pos 6u
#define UART0_IER_RTIM_Msk (1ul << UART0_IER_RTIM_Pos)

/* MCUCTRL: the registers the HAL headers' inline code reads (placeholder layout and base). */
typedef struct {
    __IM uint32_t CHIPREV;
    __IOM uint32_t USBPHYRESET;
} MCUCTRL_Type;
#define MCUCTRL ((MCUCTRL_Type *)0x40020000ul)

/* USB charger detection: the registers am_hal_usbcharger.h's inline code uses (placeholder layout and base). */
typedef struct {
    union { __IOM uint32_t BCDETCRTL1; struct { __IOM uint32_t USBSWRESET : 1; __IOM uint32_t USBDCOMPEN : 1;
                                                __IOM uint32_t USBDCOMPREF : 2; uint32_t : 28; } BCDETCRTL1_b; };
    union { __IM uint32_t BCDETSTATUS; struct { __IM uint32_t DPATTACHED : 1; __IM uint32_t CPDETECTED : 1;
                                                __IM uint32_t DCPDETECTED : 1; __IM uint32_t DPCOMPOUT : 1;
                                                __IM uint32_t DMCOMPOUT : 1; uint32_t : 27; } BCDETSTATUS_b; };
} USB_Type;
#define USB ((USB_Type *)0x400B0000ul)

/* MSPI0_DEV0XIP_XIPACK0_Enum: an SVD enumeration type (placeholder). */
typedef uint32_t MSPI0_DEV0XIP_XIPACK0_Enum;

/* ADC_CFG_CLKSEL_*: enumerated field values (placeholders) */
#define ADC_CFG_CLKSEL_HFRC2_48MHZ                   0u
#define ADC_CFG_CLKSEL_HFRC_24MHZ                    1u
#define ADC_CFG_CLKSEL_HFRC_48MHZ                    2u
#define ADC_CFG_CLKSEL_HFRC_48MHZ1                   3u

/* AUDADC_CFG_SAMPMODE_*: enumerated field values (placeholders) */
#define AUDADC_CFG_SAMPMODE_LP                       0u
#define AUDADC_CFG_SAMPMODE_MED                      1u

/* CLKGEN_CLKOUT_CKSEL_*: enumerated field values (placeholders) */
#define CLKGEN_CLKOUT_CKSEL_CG_100Hz                 0u
#define CLKGEN_CLKOUT_CKSEL_HFRC2_12MHz              1u
#define CLKGEN_CLKOUT_CKSEL_HFRC2_24MHz              2u
#define CLKGEN_CLKOUT_CKSEL_HFRC2_6MHz               3u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV1024             4u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV128              5u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV16               6u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV2                7u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV256              8u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV256K             9u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV32               10u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV512              11u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV64M              12u
#define CLKGEN_CLKOUT_CKSEL_HFRC_DIV8                13u
#define CLKGEN_CLKOUT_CKSEL_LFRC                     14u
#define CLKGEN_CLKOUT_CKSEL_LFRCNE                   15u
#define CLKGEN_CLKOUT_CKSEL_LFRCNE_DIV32             16u
#define CLKGEN_CLKOUT_CKSEL_LFRC_DIV1M               17u
#define CLKGEN_CLKOUT_CKSEL_LFRC_DIV2                18u
#define CLKGEN_CLKOUT_CKSEL_LFRC_DIV32               19u
#define CLKGEN_CLKOUT_CKSEL_LFRC_DIV32K              20u
#define CLKGEN_CLKOUT_CKSEL_LFRC_DIV512              21u
#define CLKGEN_CLKOUT_CKSEL_RTC_1Hz                  22u
#define CLKGEN_CLKOUT_CKSEL_ULFRC_1Hz                23u
#define CLKGEN_CLKOUT_CKSEL_ULFRC_DIV128             24u
#define CLKGEN_CLKOUT_CKSEL_ULFRC_DIV16              25u
#define CLKGEN_CLKOUT_CKSEL_ULFRC_DIV1M              26u
#define CLKGEN_CLKOUT_CKSEL_ULFRC_DIV4K              27u
#define CLKGEN_CLKOUT_CKSEL_XT                       28u
#define CLKGEN_CLKOUT_CKSEL_XTNE                     29u
#define CLKGEN_CLKOUT_CKSEL_XTNE_DIV16               30u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV16                 31u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV2                  32u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV256                33u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV2M                 34u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV32                 35u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV4                  36u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV64K                37u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV8                  38u
#define CLKGEN_CLKOUT_CKSEL_XT_DIV8K                 39u

/* CPU_CACHECFG_CONFIG_*: enumerated field values (placeholders) */
#define CPU_CACHECFG_CONFIG_W1_128B_1024E            0u
#define CPU_CACHECFG_CONFIG_W1_128B_2048E            1u
#define CPU_CACHECFG_CONFIG_W1_128B_4096E            2u
#define CPU_CACHECFG_CONFIG_W1_128B_512E             3u
#define CPU_CACHECFG_CONFIG_W2_128B_2048E            4u
#define CPU_CACHECFG_CONFIG_W2_128B_512E             5u

/* CPU_DAXICFG_BUFFERENABLE_*: enumerated field values (placeholders) */
#define CPU_DAXICFG_BUFFERENABLE_EIGHT               0u
#define CPU_DAXICFG_BUFFERENABLE_FOUR                1u
#define CPU_DAXICFG_BUFFERENABLE_ONE                 2u
#define CPU_DAXICFG_BUFFERENABLE_SIXTEEN             3u
#define CPU_DAXICFG_BUFFERENABLE_THIRTYONE           4u
#define CPU_DAXICFG_BUFFERENABLE_THIRTYTWO           5u
#define CPU_DAXICFG_BUFFERENABLE_THREE               6u
#define CPU_DAXICFG_BUFFERENABLE_TWO                 7u

/* GPIO_PINCFG0_NCESRC0_*: enumerated field values (placeholders) */
#define GPIO_PINCFG0_NCESRC0_DC_DPI_DE               0u
#define GPIO_PINCFG0_NCESRC0_DC_QSPI_CS_N            1u
#define GPIO_PINCFG0_NCESRC0_DC_SPI_CS_N             2u
#define GPIO_PINCFG0_NCESRC0_DISP_CONT_CSX           3u
#define GPIO_PINCFG0_NCESRC0_IOM0CE0                 4u
#define GPIO_PINCFG0_NCESRC0_IOM0CE1                 5u
#define GPIO_PINCFG0_NCESRC0_IOM0CE2                 6u
#define GPIO_PINCFG0_NCESRC0_IOM0CE3                 7u
#define GPIO_PINCFG0_NCESRC0_IOM1CE0                 8u
#define GPIO_PINCFG0_NCESRC0_IOM1CE1                 9u
#define GPIO_PINCFG0_NCESRC0_IOM1CE2                 10u
#define GPIO_PINCFG0_NCESRC0_IOM1CE3                 11u
#define GPIO_PINCFG0_NCESRC0_IOM2CE0                 12u
#define GPIO_PINCFG0_NCESRC0_IOM2CE1                 13u
#define GPIO_PINCFG0_NCESRC0_IOM2CE2                 14u
#define GPIO_PINCFG0_NCESRC0_IOM2CE3                 15u
#define GPIO_PINCFG0_NCESRC0_IOM3CE0                 16u
#define GPIO_PINCFG0_NCESRC0_IOM3CE1                 17u
#define GPIO_PINCFG0_NCESRC0_IOM3CE2                 18u
#define GPIO_PINCFG0_NCESRC0_IOM3CE3                 19u
#define GPIO_PINCFG0_NCESRC0_IOM4CE0                 20u
#define GPIO_PINCFG0_NCESRC0_IOM4CE1                 21u
#define GPIO_PINCFG0_NCESRC0_IOM4CE2                 22u
#define GPIO_PINCFG0_NCESRC0_IOM4CE3                 23u
#define GPIO_PINCFG0_NCESRC0_IOM5CE0                 24u
#define GPIO_PINCFG0_NCESRC0_IOM5CE1                 25u
#define GPIO_PINCFG0_NCESRC0_IOM5CE2                 26u
#define GPIO_PINCFG0_NCESRC0_IOM5CE3                 27u
#define GPIO_PINCFG0_NCESRC0_IOM6CE0                 28u
#define GPIO_PINCFG0_NCESRC0_IOM6CE1                 29u
#define GPIO_PINCFG0_NCESRC0_IOM6CE2                 30u
#define GPIO_PINCFG0_NCESRC0_IOM6CE3                 31u
#define GPIO_PINCFG0_NCESRC0_IOM7CE0                 32u
#define GPIO_PINCFG0_NCESRC0_IOM7CE1                 33u
#define GPIO_PINCFG0_NCESRC0_IOM7CE2                 34u
#define GPIO_PINCFG0_NCESRC0_IOM7CE3                 35u
#define GPIO_PINCFG0_NCESRC0_MSPI0CEN0               36u
#define GPIO_PINCFG0_NCESRC0_MSPI0CEN1               37u
#define GPIO_PINCFG0_NCESRC0_MSPI1CEN0               38u
#define GPIO_PINCFG0_NCESRC0_MSPI1CEN1               39u
#define GPIO_PINCFG0_NCESRC0_MSPI2CEN0               40u
#define GPIO_PINCFG0_NCESRC0_MSPI2CEN1               41u

/* I2S0_I2SDATACFG_SSZ1_*: enumerated field values (placeholders) */
#define I2S0_I2SDATACFG_SSZ1_16b                     0u
#define I2S0_I2SDATACFG_SSZ1_24b                     1u
#define I2S0_I2SDATACFG_SSZ1_32b                     2u
#define I2S0_I2SDATACFG_SSZ1_8b                      3u

/* I2S0_I2SDATACFG_WDLEN1_*: enumerated field values (placeholders) */
#define I2S0_I2SDATACFG_WDLEN1_16b                   0u
#define I2S0_I2SDATACFG_WDLEN1_24b                   1u
#define I2S0_I2SDATACFG_WDLEN1_32b                   2u
#define I2S0_I2SDATACFG_WDLEN1_8b                    3u

/* PDM0_CORECFG1_PCMCHSET_*: enumerated field values (placeholders) */
#define PDM0_CORECFG1_PCMCHSET_MONOL                 0u
#define PDM0_CORECFG1_PCMCHSET_MONOR                 1u
#define PDM0_CORECFG1_PCMCHSET_STEREO                2u

/* PDM0_CORECFG1_SELSTEP_*: enumerated field values (placeholders) */
#define PDM0_CORECFG1_SELSTEP_0_13DB                 0u
#define PDM0_CORECFG1_SELSTEP_0_26DB                 1u

/* PWRCTRL_MCUPERFREQ_MCUPERFSTATUS_*: enumerated field values (placeholders) */
#define PWRCTRL_MCUPERFREQ_MCUPERFSTATUS_HP          0u
#define PWRCTRL_MCUPERFREQ_MCUPERFSTATUS_LP          1u

/* PWRCTRL_MEMPWREN_PWRENDTCM_*: enumerated field values (placeholders) */
#define PWRCTRL_MEMPWREN_PWRENDTCM_NONE              0u
#define PWRCTRL_MEMPWREN_PWRENDTCM_TCM128K           1u
#define PWRCTRL_MEMPWREN_PWRENDTCM_TCM384K           2u
#define PWRCTRL_MEMPWREN_PWRENDTCM_TCM8K             3u

/* PWRCTRL_SSRAMPWREN_PWRENSSRAM_*: enumerated field values (placeholders) */
#define PWRCTRL_SSRAMPWREN_PWRENSSRAM_ALL            0u
#define PWRCTRL_SSRAMPWREN_PWRENSSRAM_GROUP0         1u
#define PWRCTRL_SSRAMPWREN_PWRENSSRAM_GROUP1         2u
#define PWRCTRL_SSRAMPWREN_PWRENSSRAM_NONE           3u

/* RTC_RTCCTL_RPT_*: enumerated field values (placeholders) */
#define RTC_RTCCTL_RPT_DAY                           0u
#define RTC_RTCCTL_RPT_DIS                           1u
#define RTC_RTCCTL_RPT_HR                            2u
#define RTC_RTCCTL_RPT_MIN                           3u
#define RTC_RTCCTL_RPT_MONTH                         4u
#define RTC_RTCCTL_RPT_SEC                           5u
#define RTC_RTCCTL_RPT_WEEK                          6u
#define RTC_RTCCTL_RPT_YEAR                          7u

/* TIMER_CTRL0_TMR0CLK_*: enumerated field values (placeholders) */
#define TIMER_CTRL0_TMR0CLK_BUCKC                    0u
#define TIMER_CTRL0_TMR0CLK_BUCKC_LV                 1u
#define TIMER_CTRL0_TMR0CLK_BUCKF                    2u
#define TIMER_CTRL0_TMR0CLK_BUCKS                    3u
#define TIMER_CTRL0_TMR0CLK_GPIO0                    4u
#define TIMER_CTRL0_TMR0CLK_GPIO127                  5u
#define TIMER_CTRL0_TMR0CLK_HFRC_DIV1024             6u
#define TIMER_CTRL0_TMR0CLK_HFRC_DIV16               7u
#define TIMER_CTRL0_TMR0CLK_HFRC_DIV256              8u
#define TIMER_CTRL0_TMR0CLK_HFRC_DIV4                9u
#define TIMER_CTRL0_TMR0CLK_HFRC_DIV4K               10u
#define TIMER_CTRL0_TMR0CLK_HFRC_DIV64               11u
#define TIMER_CTRL0_TMR0CLK_LFRC                     12u
#define TIMER_CTRL0_TMR0CLK_LFRC_DIV1K               13u
#define TIMER_CTRL0_TMR0CLK_LFRC_DIV2                14u
#define TIMER_CTRL0_TMR0CLK_LFRC_DIV32               15u
#define TIMER_CTRL0_TMR0CLK_RTC_100HZ                16u
#define TIMER_CTRL0_TMR0CLK_TMR00                    17u
#define TIMER_CTRL0_TMR0CLK_TMR01                    18u
#define TIMER_CTRL0_TMR0CLK_TMR10                    19u
#define TIMER_CTRL0_TMR0CLK_TMR100                   20u
#define TIMER_CTRL0_TMR0CLK_TMR101                   21u
#define TIMER_CTRL0_TMR0CLK_TMR11                    22u
#define TIMER_CTRL0_TMR0CLK_TMR110                   23u
#define TIMER_CTRL0_TMR0CLK_TMR111                   24u
#define TIMER_CTRL0_TMR0CLK_TMR120                   25u
#define TIMER_CTRL0_TMR0CLK_TMR121                   26u
#define TIMER_CTRL0_TMR0CLK_TMR130                   27u
#define TIMER_CTRL0_TMR0CLK_TMR131                   28u
#define TIMER_CTRL0_TMR0CLK_TMR140                   29u
#define TIMER_CTRL0_TMR0CLK_TMR150                   30u
#define TIMER_CTRL0_TMR0CLK_TMR151                   31u
#define TIMER_CTRL0_TMR0CLK_TMR20                    32u
#define TIMER_CTRL0_TMR0CLK_TMR21                    33u
#define TIMER_CTRL0_TMR0CLK_TMR30                    34u
#define TIMER_CTRL0_TMR0CLK_TMR31                    35u
#define TIMER_CTRL0_TMR0CLK_TMR40                    36u
#define TIMER_CTRL0_TMR0CLK_TMR41                    37u
#define TIMER_CTRL0_TMR0CLK_TMR50                    38u
#define TIMER_CTRL0_TMR0CLK_TMR51                    39u
#define TIMER_CTRL0_TMR0CLK_TMR60                    40u
#define TIMER_CTRL0_TMR0CLK_TMR61                    41u
#define TIMER_CTRL0_TMR0CLK_TMR70                    42u
#define TIMER_CTRL0_TMR0CLK_TMR71                    43u
#define TIMER_CTRL0_TMR0CLK_TMR80                    44u
#define TIMER_CTRL0_TMR0CLK_TMR81                    45u
#define TIMER_CTRL0_TMR0CLK_TMR90                    46u
#define TIMER_CTRL0_TMR0CLK_TMR91                    47u
#define TIMER_CTRL0_TMR0CLK_XT                       48u
#define TIMER_CTRL0_TMR0CLK_XT_DIV128                49u
#define TIMER_CTRL0_TMR0CLK_XT_DIV16                 50u
#define TIMER_CTRL0_TMR0CLK_XT_DIV2                  51u
#define TIMER_CTRL0_TMR0CLK_XT_DIV32                 52u
#define TIMER_CTRL0_TMR0CLK_XT_DIV4                  53u
#define TIMER_CTRL0_TMR0CLK_XT_DIV8                  54u

/* TIMER_CTRL0_TMR0FN_*: enumerated field values (placeholders) */
#define TIMER_CTRL0_TMR0FN_EDGE                      0u
#define TIMER_CTRL0_TMR0FN_PWM                       1u
#define TIMER_CTRL0_TMR0FN_REPEATPATTERN             2u
#define TIMER_CTRL0_TMR0FN_SINGLEPATTERN             3u
#define TIMER_CTRL0_TMR0FN_UPCOUNT                   4u

/* TIMER_CTRL0_TMR0TMODE_*: enumerated field values (placeholders) */
#define TIMER_CTRL0_TMR0TMODE_BOTH                   0u
#define TIMER_CTRL0_TMR0TMODE_DIS                    1u
#define TIMER_CTRL0_TMR0TMODE_FALL                   2u
#define TIMER_CTRL0_TMR0TMODE_RISE                   3u

/* TIMER_MODE0_TMR0TRIGSEL_*: enumerated field values (placeholders) */
#define TIMER_MODE0_TMR0TRIGSEL_GPIO0                0u
#define TIMER_MODE0_TMR0TRIGSEL_GPIO127              1u
#define TIMER_MODE0_TMR0TRIGSEL_TMR00                2u
#define TIMER_MODE0_TMR0TRIGSEL_TMR01                3u
#define TIMER_MODE0_TMR0TRIGSEL_TMR10                4u
#define TIMER_MODE0_TMR0TRIGSEL_TMR100               5u
#define TIMER_MODE0_TMR0TRIGSEL_TMR101               6u
#define TIMER_MODE0_TMR0TRIGSEL_TMR11                7u
#define TIMER_MODE0_TMR0TRIGSEL_TMR110               8u
#define TIMER_MODE0_TMR0TRIGSEL_TMR111               9u
#define TIMER_MODE0_TMR0TRIGSEL_TMR120               10u
#define TIMER_MODE0_TMR0TRIGSEL_TMR121               11u
#define TIMER_MODE0_TMR0TRIGSEL_TMR130               12u
#define TIMER_MODE0_TMR0TRIGSEL_TMR131               13u
#define TIMER_MODE0_TMR0TRIGSEL_TMR140               14u
#define TIMER_MODE0_TMR0TRIGSEL_TMR141               15u
#define TIMER_MODE0_TMR0TRIGSEL_TMR150               16u
#define TIMER_MODE0_TMR0TRIGSEL_TMR151               17u
#define TIMER_MODE0_TMR0TRIGSEL_TMR20                18u
#define TIMER_MODE0_TMR0TRIGSEL_TMR21                19u
#define TIMER_MODE0_TMR0TRIGSEL_TMR30                20u
#define TIMER_MODE0_TMR0TRIGSEL_TMR31                21u
#define TIMER_MODE0_TMR0TRIGSEL_TMR40                22u
#define TIMER_MODE0_TMR0TRIGSEL_TMR41                23u
#define TIMER_MODE0_TMR0TRIGSEL_TMR50                24u
#define TIMER_MODE0_TMR0TRIGSEL_TMR51                25u
#define TIMER_MODE0_TMR0TRIGSEL_TMR60                26u
#define TIMER_MODE0_TMR0TRIGSEL_TMR61                27u
#define TIMER_MODE0_TMR0TRIGSEL_TMR70                28u
#define TIMER_MODE0_TMR0TRIGSEL_TMR71                29u
#define TIMER_MODE0_TMR0TRIGSEL_TMR80                30u
#define TIMER_MODE0_TMR0TRIGSEL_TMR81                31u
#define TIMER_MODE0_TMR0TRIGSEL_TMR90                32u
#define TIMER_MODE0_TMR0TRIGSEL_TMR91                33u

/* TIMER_OUTCFG0_OUTCFG0_*: enumerated field values (placeholders) */
#define TIMER_OUTCFG0_OUTCFG0_STIMER0                0u
#define TIMER_OUTCFG0_OUTCFG0_STIMER1                1u
#define TIMER_OUTCFG0_OUTCFG0_STIMER2                2u
#define TIMER_OUTCFG0_OUTCFG0_STIMER3                3u
#define TIMER_OUTCFG0_OUTCFG0_STIMER4                4u
#define TIMER_OUTCFG0_OUTCFG0_STIMER5                5u
#define TIMER_OUTCFG0_OUTCFG0_STIMER6                6u
#define TIMER_OUTCFG0_OUTCFG0_STIMER7                7u
#define TIMER_OUTCFG0_OUTCFG0_TIMER00                8u
#define TIMER_OUTCFG0_OUTCFG0_TIMER01                9u
#define TIMER_OUTCFG0_OUTCFG0_TIMER10                10u
#define TIMER_OUTCFG0_OUTCFG0_TIMER100               11u
#define TIMER_OUTCFG0_OUTCFG0_TIMER101               12u
#define TIMER_OUTCFG0_OUTCFG0_TIMER11                13u
#define TIMER_OUTCFG0_OUTCFG0_TIMER110               14u
#define TIMER_OUTCFG0_OUTCFG0_TIMER111               15u
#define TIMER_OUTCFG0_OUTCFG0_TIMER120               16u
#define TIMER_OUTCFG0_OUTCFG0_TIMER121               17u
#define TIMER_OUTCFG0_OUTCFG0_TIMER130               18u
#define TIMER_OUTCFG0_OUTCFG0_TIMER131               19u
#define TIMER_OUTCFG0_OUTCFG0_TIMER140               20u
#define TIMER_OUTCFG0_OUTCFG0_TIMER141               21u
#define TIMER_OUTCFG0_OUTCFG0_TIMER150               22u
#define TIMER_OUTCFG0_OUTCFG0_TIMER151               23u
#define TIMER_OUTCFG0_OUTCFG0_TIMER20                24u
#define TIMER_OUTCFG0_OUTCFG0_TIMER21                25u
#define TIMER_OUTCFG0_OUTCFG0_TIMER30                26u
#define TIMER_OUTCFG0_OUTCFG0_TIMER31                27u
#define TIMER_OUTCFG0_OUTCFG0_TIMER40                28u
#define TIMER_OUTCFG0_OUTCFG0_TIMER41                29u
#define TIMER_OUTCFG0_OUTCFG0_TIMER50                30u
#define TIMER_OUTCFG0_OUTCFG0_TIMER51                31u
#define TIMER_OUTCFG0_OUTCFG0_TIMER60                32u
#define TIMER_OUTCFG0_OUTCFG0_TIMER61                33u
#define TIMER_OUTCFG0_OUTCFG0_TIMER70                34u
#define TIMER_OUTCFG0_OUTCFG0_TIMER71                35u
#define TIMER_OUTCFG0_OUTCFG0_TIMER80                36u
#define TIMER_OUTCFG0_OUTCFG0_TIMER81                37u
#define TIMER_OUTCFG0_OUTCFG0_TIMER90                38u
#define TIMER_OUTCFG0_OUTCFG0_TIMER91                39u

/* WDT_CFG_CLKSEL_*: enumerated field values (placeholders) */
#define WDT_CFG_CLKSEL_128HZ                         0u
#define WDT_CFG_CLKSEL_16HZ                          1u
#define WDT_CFG_CLKSEL_1HZ                           2u
#define WDT_CFG_CLKSEL_1_16HZ                        3u
#define WDT_CFG_CLKSEL_OFF                           4u

/* MCUCTRL_USBPHYRESET: bit fields (placeholder positions) */
#define MCUCTRL_USBPHYRESET_USBPHYPORRSTDIS_Pos      0u
#define MCUCTRL_USBPHYRESET_USBPHYPORRSTDIS_Msk      (1ul << MCUCTRL_USBPHYRESET_USBPHYPORRSTDIS_Pos)
#define MCUCTRL_USBPHYRESET_USBPHYUTMIRSTDIS_Pos     1u
#define MCUCTRL_USBPHYRESET_USBPHYUTMIRSTDIS_Msk     (1ul << MCUCTRL_USBPHYRESET_USBPHYUTMIRSTDIS_Pos)

/* USB_BCDETCRTL1: bit fields (placeholder positions) */
#define USB_BCDETCRTL1_BCWEAKPULLDOWNEN_Pos          0u
#define USB_BCDETCRTL1_BCWEAKPULLDOWNEN_Msk          (1ul << USB_BCDETCRTL1_BCWEAKPULLDOWNEN_Pos)
#define USB_BCDETCRTL1_BCWEAKPULLUPEN_Pos            1u
#define USB_BCDETCRTL1_BCWEAKPULLUPEN_Msk            (1ul << USB_BCDETCRTL1_BCWEAKPULLUPEN_Pos)
#define USB_BCDETCRTL1_IDMSINKEN_Pos                 2u
#define USB_BCDETCRTL1_IDMSINKEN_Msk                 (1ul << USB_BCDETCRTL1_IDMSINKEN_Pos)
#define USB_BCDETCRTL1_IDPSINKEN_Pos                 3u
#define USB_BCDETCRTL1_IDPSINKEN_Msk                 (1ul << USB_BCDETCRTL1_IDPSINKEN_Pos)
#define USB_BCDETCRTL1_IDPSRCEN_Pos                  4u
#define USB_BCDETCRTL1_IDPSRCEN_Msk                  (1ul << USB_BCDETCRTL1_IDPSRCEN_Pos)
#define USB_BCDETCRTL1_RDMPDWNEN_Pos                 5u
#define USB_BCDETCRTL1_RDMPDWNEN_Msk                 (1ul << USB_BCDETCRTL1_RDMPDWNEN_Pos)
#define USB_BCDETCRTL1_USBDCOMPEN_Pos                6u
#define USB_BCDETCRTL1_USBDCOMPEN_Msk                (1ul << USB_BCDETCRTL1_USBDCOMPEN_Pos)
#define USB_BCDETCRTL1_USBDCOMPREF_Pos               7u
#define USB_BCDETCRTL1_USBDCOMPREF_Msk               (1ul << USB_BCDETCRTL1_USBDCOMPREF_Pos)
#define USB_BCDETCRTL1_USBSWRESET_Pos                8u
#define USB_BCDETCRTL1_USBSWRESET_Msk                (1ul << USB_BCDETCRTL1_USBSWRESET_Pos)
#define USB_BCDETCRTL1_VDMSRCEN_Pos                  9u
#define USB_BCDETCRTL1_VDMSRCEN_Msk                  (1ul << USB_BCDETCRTL1_VDMSRCEN_Pos)
#define USB_BCDETCRTL1_VDPSRCEN_Pos                  10u
#define USB_BCDETCRTL1_VDPSRCEN_Msk                  (1ul << USB_BCDETCRTL1_VDPSRCEN_Pos)

#ifdef __cplusplus
}
#endif
#endif /* HIL_TEST_STANDIN_APOLLO4P_H */
