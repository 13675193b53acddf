# Ambiq Apollo4 Plus EVB (Cortex-M4F). Needs the AmbiqSuite SDK (not in any
# package registry, never committed): -DHIL_AMBIQSUITE_ROOT=<sdk> or the
# environment variable of the same name. From the SDK only headers and the
# prebuilt HAL/BSP libraries are used; start-up code (startup_apollo4.c) and
# linker script (apollo4p.ld: application at 0x18000, above the secure
# bootloader) are ours. The libraries are looked up where the AmbiqSuite R4.x
# release keeps them and where neuralSPOT's extern/AmbiqSuite/<ver> does.
#
# CI builds and links this image against the SDK tree beside the checkout
# (tests/integration/test_apollo4_build.py); it is not run on a board there.
if(NOT HIL_AMBIQSUITE_ROOT AND DEFINED ENV{HIL_AMBIQSUITE_ROOT})
  set(HIL_AMBIQSUITE_ROOT $ENV{HIL_AMBIQSUITE_ROOT})
endif()
if(NOT HIL_AMBIQSUITE_ROOT)
  message(FATAL_ERROR "HIL_PORT=apollo4 needs the AmbiqSuite SDK: set HIL_AMBIQSUITE_ROOT "
                      "(cmake -DHIL_AMBIQSUITE_ROOT=<sdk> or the environment variable); see docs/boards.md")
endif()
# A folder searched before the SDK's headers, for a header an SDK copy lacks
# (the tests pass their compile-only stand-in for apollo4p.h here). Read from
# the environment at every configure, like HIL_AMBIQSUITE_ROOT, unless -D'd.
if(NOT DEFINED HIL_AMBIQ_EXTRA_INCLUDE)
  set(HIL_AMBIQ_EXTRA_INCLUDE "$ENV{HIL_AMBIQ_EXTRA_INCLUDE}")
endif()
set(AS ${HIL_AMBIQSUITE_ROOT})
set(HIL_AMBIQ_PART "apollo4p" CACHE STRING "AmbiqSuite mcu folder")
set(HIL_AMBIQ_BOARD "apollo4p_evb" CACHE STRING "AmbiqSuite board folder")
set(HIL_AMBIQ_LINKER_SCRIPT ${HIL_PORT_DIR}/apollo4p.ld CACHE FILEPATH "Linker script")
set(HIL_AMBIQ_EVB "evb" CACHE STRING "Board folder under lib/<part>/ in neuralSPOT's layout")
foreach(needed mcu/${HIL_AMBIQ_PART}/am_mcu_apollo.h boards/${HIL_AMBIQ_BOARD}/bsp/am_bsp_pins.h)
  if(NOT EXISTS ${AS}/${needed})
    message(FATAL_ERROR "HIL_AMBIQSUITE_ROOT=${AS} is not an AmbiqSuite SDK with ${HIL_AMBIQ_PART} support "
                        "(no ${needed}); see docs/boards.md")
  endif()
endforeach()
set(hil_regs_h CMSIS/AmbiqMicro/Include/${HIL_AMBIQ_PART}.h)
if(NOT EXISTS ${AS}/${hil_regs_h} AND NOT (HIL_AMBIQ_EXTRA_INCLUDE AND EXISTS ${HIL_AMBIQ_EXTRA_INCLUDE}/${HIL_AMBIQ_PART}.h))
  message(FATAL_ERROR "HIL_AMBIQSUITE_ROOT=${AS} lacks ${hil_regs_h}, the register header generated from "
                      "the SVD (a partial SDK copy); use a full AmbiqSuite download, or put that header in a "
                      "folder named by HIL_AMBIQ_EXTRA_INCLUDE; see docs/boards.md")
endif()
find_file(HIL_AMBIQ_HAL_LIB libam_hal.a NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH
  PATHS ${AS}/mcu/${HIL_AMBIQ_PART}/hal/mcu/gcc/bin ${AS}/lib/${HIL_AMBIQ_PART})
find_file(HIL_AMBIQ_BSP_LIB libam_bsp.a NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH
  PATHS ${AS}/boards/${HIL_AMBIQ_BOARD}/bsp/gcc/bin ${AS}/lib/${HIL_AMBIQ_PART}/${HIL_AMBIQ_EVB})
if(NOT HIL_AMBIQ_HAL_LIB OR NOT HIL_AMBIQ_BSP_LIB)
  message(FATAL_ERROR "HIL_AMBIQSUITE_ROOT=${AS}: prebuilt libam_hal.a / libam_bsp.a for ${HIL_AMBIQ_PART} "
                      "not found (build them with the SDK's make, or set HIL_AMBIQ_HAL_LIB / HIL_AMBIQ_BSP_LIB)")
endif()

add_executable(hil
  ${HIL_FIRMWARE_DIR}/app/main.c
  ${HIL_PORT_DIR}/port_apollo4.c
  ${HIL_PORT_DIR}/startup_apollo4.c)
if(NOT HIL_BOARD_NAME)
  set(HIL_BOARD_NAME "apollo4")
endif()
target_compile_definitions(hil PRIVATE HIL_BOARD_NAME="${HIL_BOARD_NAME}"
  AM_PART_APOLLO4P AM_PACKAGE_BGA gcc)
# The SDK's headers are not ours to keep warning-free.
target_include_directories(hil SYSTEM PRIVATE
  ${HIL_AMBIQ_EXTRA_INCLUDE}
  ${AS}/mcu/${HIL_AMBIQ_PART}
  ${AS}/mcu/${HIL_AMBIQ_PART}/hal
  ${AS}/mcu/${HIL_AMBIQ_PART}/hal/mcu
  ${AS}/CMSIS/ARM/Include
  ${AS}/CMSIS/AmbiqMicro/Include
  ${AS}/boards/${HIL_AMBIQ_BOARD}/bsp)
target_link_libraries(hil PRIVATE hil_app hil_engine
  ${HIL_AMBIQ_BSP_LIB}
  ${HIL_AMBIQ_HAL_LIB}
  m)
target_link_options(hil PRIVATE
  -T${HIL_AMBIQ_LINKER_SCRIPT}
  -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/hil.map
  -Wl,--print-memory-usage)
set_target_properties(hil PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${HIL_AMBIQ_LINKER_SCRIPT})
add_custom_command(TARGET hil POST_BUILD
  COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:hil> ${CMAKE_CURRENT_BINARY_DIR}/hil.bin
  COMMENT "hil.bin")
