# Native host port: the app and the engine over stdin/stdout or a pty.
add_executable(hil
  ${HIL_FIRMWARE_DIR}/app/main.c
  ${HIL_PORT_DIR}/port_host.c)
if(NOT HIL_BOARD_NAME)
  set(HIL_BOARD_NAME "host")
endif()
target_compile_definitions(hil PRIVATE HIL_BOARD_NAME="${HIL_BOARD_NAME}")
target_link_libraries(hil PRIVATE hil_app hil_engine m)
target_link_options(hil PRIVATE -Wl,-Map=${CMAKE_CURRENT_BINARY_DIR}/hil.map)

if(HIL_FUZZ)
  # libFuzzer over the frame assembler + parser + dispatch (with the engine).
  add_executable(hil_fuzz_frames
    ${HIL_PORT_DIR}/fuzz_frames.c)
  target_compile_options(hil_fuzz_frames PRIVATE -fsanitize=fuzzer)
  target_link_options(hil_fuzz_frames PRIVATE -fsanitize=fuzzer)
  target_link_libraries(hil_fuzz_frames PRIVATE hil_app hil_engine m)
endif()
