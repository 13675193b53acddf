# QEMU mps2-an386 (Cortex-M4F): startup, CMSDK UART0, SysTick.
add_executable(hil
  ${HIL_FIRMWARE_DIR}/app/main.c
  ${HIL_PORT_DIR}/startup.c
  ${HIL_PORT_DIR}/port_mps2.c)
if(NOT HIL_BOARD_NAME)
  set(HIL_BOARD_NAME "qemu-m4")
endif()
target_compile_definitions(hil PRIVATE HIL_BOARD_NAME="${HIL_BOARD_NAME}")
target_link_libraries(hil PRIVATE hil_app hil_engine m)
target_link_options(hil PRIVATE
  -T${HIL_PORT_DIR}/mps2_an386.ld
  -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/hil.map
  -Wl,--print-memory-usage)
set_target_properties(hil PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${HIL_PORT_DIR}/mps2_an386.ld)
add_custom_command(TARGET hil POST_BUILD
  COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:hil> ${CMAKE_CURRENT_BINARY_DIR}/hil.bin
  COMMENT "hil.bin")
