# TFLM's library for one kernel set: target `hil_tflm` (libtflm.a) with every
# kernel TFLM lists, so any model's op resolver links against it (static
# linking keeps only the kernels the resolver registers).
#
#   HIL_TFLM_ROOT       TFLM tree with its third-party downloads
#   HIL_TFLM_KERNELS    reference | cmsis-nn
#   HIL_CMSIS_NN_ROOT   CMSIS-NN tree (cmsis-nn only)
#
# The sources are TFLM's own lists (sources.mk beside this file reads them
# from the tree's make files with the host make), written to
# tflm-sources.txt; the include folders and definitions users of the library
# need go to tflm-usage.cmake. Both land in CMAKE_BINARY_DIR, and
# hil.firmware.tflm_lib keeps them with the cached library.
set(HIL_TFLM_LIB_DIR ${CMAKE_CURRENT_LIST_DIR})
if(NOT HIL_TFLM_KERNELS MATCHES "^(cmsis-nn|reference)$")
  message(FATAL_ERROR "HIL_TFLM_KERNELS=${HIL_TFLM_KERNELS}: expected cmsis-nn or reference")
endif()
if(HIL_TFLM_KERNELS STREQUAL "reference")
  set(HIL_CMSIS_NN_ROOT "")  # the reference set never compiles CMSIS-NN, whatever the environment says
elseif(NOT HIL_CMSIS_NN_ROOT OR NOT EXISTS "${HIL_CMSIS_NN_ROOT}/Include/arm_nnfunctions.h")
  message(FATAL_ERROR "HIL_TFLM_KERNELS=cmsis-nn needs HIL_CMSIS_NN_ROOT (a CMSIS-NN checkout with "
                      "Include/arm_nnfunctions.h, e.g. TFLM's tensorflow/lite/micro/tools/make/downloads/cmsis_nn); "
                      "got '${HIL_CMSIS_NN_ROOT}'; or use HIL_TFLM_KERNELS=reference")
endif()
set(HIL_TFLM_DOWNLOADS "${HIL_TFLM_ROOT}/tensorflow/lite/micro/tools/make/downloads")
foreach(dep flatbuffers/include/flatbuffers/flatbuffers.h gemmlowp/fixedpoint/fixedpoint.h
            ruy/ruy/profiler/instrumentation.h)
  if(NOT EXISTS "${HIL_TFLM_DOWNLOADS}/${dep}")
    message(FATAL_ERROR
      "HIL_TFLM_ROOT=${HIL_TFLM_ROOT} lacks TFLM's third-party downloads (no ${HIL_TFLM_DOWNLOADS}/${dep}). "
      "Run `make -f tensorflow/lite/micro/tools/make/Makefile third_party_downloads` in that tree "
      "(`hil deps tflm` shows every step).")
  endif()
endforeach()

# TFLM's lists: library (runtime + kernels, specialised for cmsis_nn) and third party (CMSIS-NN).
find_program(HIL_HOST_MAKE NAMES make gmake REQUIRED)
execute_process(
  COMMAND ${HIL_HOST_MAKE} -s -f ${HIL_TFLM_LIB_DIR}/sources.mk HIL_TFLM_ROOT=${HIL_TFLM_ROOT}
          HIL_CMSIS_NN_ROOT=${HIL_CMSIS_NN_ROOT} library third_party
  RESULT_VARIABLE hil_rc OUTPUT_VARIABLE hil_listed ERROR_VARIABLE hil_err)
if(NOT hil_rc EQUAL 0)
  message(FATAL_ERROR "HIL_TFLM_ROOT=${HIL_TFLM_ROOT}: TFLM's source lists could not be read from its make "
    "files (tensorflow/lite/micro/tools/make/sources.inc, ext_libs/cmsis_nn.inc) with "
    "`make -f ${HIL_TFLM_LIB_DIR}/sources.mk` (exit ${hil_rc}):\n ${hil_err}\n"
    "Is it a complete tflite-micro tree? `hil deps tflm` prints the pinned commit and the steps.")
endif()
string(STRIP "${hil_listed}" hil_listed)
string(REGEX REPLACE "[ \t\r\n]+" ";" hil_listed "${hil_listed}")
set(HIL_TFLM_SRCS "")
get_filename_component(hil_root "${HIL_TFLM_ROOT}" ABSOLUTE)
foreach(src ${hil_listed})
  get_filename_component(src "${src}" ABSOLUTE)
  # Not part of an image: TFLM's stderr log (tflm_runtime.cc replaces it), the helpers of TFLM's own
  # tests, and signal/'s custom ops and their FFT code (the resolver hil generates registers builtin ops).
  if(src MATCHES "/micro/debug_log\\.cc$|/micro/test_helper|/micro/fake_micro_context\\.cc$|/micro/mock_micro_graph\\.cc$|/kernels/kernel_runner\\.cc$")
    continue()
  endif()
  string(FIND "${src}" "${hil_root}/signal/" hil_at)
  if(hil_at EQUAL 0)
    continue()
  endif()
  if(NOT EXISTS "${src}")
    message(FATAL_ERROR "HIL_TFLM_ROOT=${HIL_TFLM_ROOT}: TFLM's make files list ${src}, which is missing; "
                        "the tree is incomplete (`hil deps tflm`)")
  endif()
  list(APPEND HIL_TFLM_SRCS "${src}")
endforeach()
if(NOT "${HIL_TFLM_SRCS}" MATCHES "/micro/micro_interpreter\\.cc")
  message(FATAL_ERROR "HIL_TFLM_ROOT=${HIL_TFLM_ROOT}: TFLM's source lists hold no micro_interpreter.cc "
                      "(sources.mk printed: '${hil_listed}')")
endif()
list(REMOVE_DUPLICATES HIL_TFLM_SRCS)
list(JOIN HIL_TFLM_SRCS "\n" hil_text)
file(WRITE ${CMAKE_BINARY_DIR}/tflm-sources.txt "${hil_text}\n")
list(LENGTH HIL_TFLM_SRCS hil_count)
message(STATUS "tflm library: ${HIL_TFLM_ROOT}, kernels ${HIL_TFLM_KERNELS}, ${hil_count} sources from TFLM's make files")

set(HIL_TFLM_DEFS TF_LITE_STATIC_MEMORY TF_LITE_MCU_DEBUG_LOG)
set(HIL_TFLM_INCLUDES ${HIL_TFLM_ROOT} ${HIL_TFLM_DOWNLOADS}/flatbuffers/include ${HIL_TFLM_DOWNLOADS}/gemmlowp
                      ${HIL_TFLM_DOWNLOADS}/ruy)
if(HIL_CMSIS_NN_ROOT)
  # As TFLM's Makefile for OPTIMIZED_KERNEL_DIR=cmsis_nn (-DCMSIS_NN) and ext_libs/cmsis_nn.inc (no f16/f32).
  list(APPEND HIL_TFLM_DEFS CMSIS_NN ARM_NN_ENABLE_F16=0 ARM_NN_ENABLE_F32=0)
  list(APPEND HIL_TFLM_INCLUDES ${HIL_CMSIS_NN_ROOT} ${HIL_CMSIS_NN_ROOT}/Include)
endif()
file(WRITE ${CMAKE_BINARY_DIR}/tflm-usage.cmake
  "# What code built against this libtflm.a needs (written by ${CMAKE_CURRENT_LIST_FILE}).\n"
  "set(HIL_TFLM_DEFS \"${HIL_TFLM_DEFS}\")\n"
  "set(HIL_TFLM_INCLUDES \"${HIL_TFLM_INCLUDES}\")\n")

# TFLM itself: third-party code, built at its own warning level, not ours.
add_library(hil_tflm STATIC ${HIL_TFLM_SRCS})
set_target_properties(hil_tflm PROPERTIES OUTPUT_NAME tflm ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
target_compile_definitions(hil_tflm PUBLIC ${HIL_TFLM_DEFS})
target_include_directories(hil_tflm SYSTEM PUBLIC ${HIL_TFLM_INCLUDES})
# NDEBUG as in TFLM's release_with_logs build: TFLITE_DCHECKs off (they run in
# every RuntimeShape::Offset of the reference kernels), error strings kept (the
# per-op profiler hooks need them).
target_compile_definitions(hil_tflm PRIVATE NDEBUG)
target_compile_options(hil_tflm PRIVATE -Wno-error -w
  $<$<COMPILE_LANGUAGE:CXX>:-fno-rtti -fno-exceptions -fno-threadsafe-statics -fno-unwind-tables>)
