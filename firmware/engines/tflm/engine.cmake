# tflm engine: TensorFlow Lite Micro's interpreter and kernels, compiled from a
# TFLM tree outside this repository, plus the adapter (engine_tflm.cc) and the
# model sources hil.firmware.tflm_gen.generate() writes into ${HIL_MODEL_DIR}
# (tflm_ops.cc, tflm_model_data.cc, hil_tflm_model.h, the export's C header).
#
#   HIL_TFLM_ROOT       TFLM checkout (cache var or environment) with its
#                       third-party downloads where `make -f tensorflow/lite/
#                       micro/tools/make/Makefile third_party_downloads` puts them:
#                       tensorflow/lite/micro/tools/make/downloads/{flatbuffers,gemmlowp,ruy}
#   HIL_TFLM_KERNELS    kernel set: "reference" (TFLM's portable kernels) or
#                       "cmsis-nn" (TFLM's kernels/cmsis_nn/*.cc replace the
#                       reference kernels of the same name, over CMSIS-NN).
#                       Default: cmsis-nn when HIL_CMSIS_NN_ROOT is set, else reference.
#   HIL_CMSIS_NN_ROOT   CMSIS-NN checkout (kernels cmsis-nn only).
#   HIL_TFLM_LIB_DIR    folder of a TFLM library built by lib/ (libtflm.a,
#                       tflm-usage.cmake): hil.firmware.tflm_lib's cache, so
#                       TFLM is compiled once per (tree, kernels, CPU flags,
#                       compiler), not per image. Unset: lib/tflm_lib.cmake
#                       compiles it into this build folder.
#
# `hil deps tflm` prints the pinned commit and the steps; `hil deps tflm --fetch` does them.
enable_language(CXX)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

# -DHIL_TFLM_ROOT=... / -DHIL_CMSIS_NN_ROOT=... win; otherwise the environment is
# read at every configure (not cached, so unsetting it takes effect).
if(NOT DEFINED HIL_TFLM_ROOT)
  set(HIL_TFLM_ROOT "$ENV{HIL_TFLM_ROOT}")
endif()
if(NOT DEFINED HIL_CMSIS_NN_ROOT)
  set(HIL_CMSIS_NN_ROOT "$ENV{HIL_CMSIS_NN_ROOT}")
endif()
if(NOT HIL_TFLM_KERNELS)
  if(HIL_CMSIS_NN_ROOT)
    set(HIL_TFLM_KERNELS cmsis-nn)
  else()
    set(HIL_TFLM_KERNELS reference)
  endif()
endif()
if(NOT HIL_TFLM_KERNELS MATCHES "^(cmsis-nn|reference)$")
  message(FATAL_ERROR "HIL_TFLM_KERNELS=${HIL_TFLM_KERNELS}: expected cmsis-nn or reference")
endif()

if(NOT HIL_TFLM_ROOT OR NOT EXISTS "${HIL_TFLM_ROOT}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR
    "HIL_ENGINE=tflm needs a TensorFlow Lite Micro tree: set HIL_TFLM_ROOT (environment variable or "
    "-DHIL_TFLM_ROOT=...) to a tflite-micro checkout; got '${HIL_TFLM_ROOT}'. "
    "`hil deps tflm` prints the pinned commit and the steps, `hil deps tflm --fetch` performs them; "
    "or build with the aot engine (HIL_ENGINE=aot, hil build --engine aot).")
endif()
if(NOT HIL_MODEL_DIR OR NOT EXISTS "${HIL_MODEL_DIR}/tflm_ops.cc" OR NOT EXISTS "${HIL_MODEL_DIR}/tflm_model_data.cc")
  message(FATAL_ERROR "HIL_ENGINE=tflm needs HIL_MODEL_DIR with tflm_ops.cc and tflm_model_data.cc "
                      "(hil.firmware.tflm_gen.generate(tflite, out_dir) writes them); got '${HIL_MODEL_DIR}'")
endif()


if(HIL_TFLM_LIB_DIR)
  foreach(f libtflm.a tflm-usage.cmake)
    if(NOT EXISTS "${HIL_TFLM_LIB_DIR}/${f}")
      message(FATAL_ERROR "HIL_TFLM_LIB_DIR=${HIL_TFLM_LIB_DIR} has no ${f} (a TFLM library built from "
                          "${CMAKE_CURRENT_LIST_DIR}/lib); unset it to compile TFLM in this build")
    endif()
  endforeach()
  include(${HIL_TFLM_LIB_DIR}/tflm-usage.cmake)
  add_library(hil_tflm STATIC IMPORTED)
  set_target_properties(hil_tflm PROPERTIES IMPORTED_LOCATION ${HIL_TFLM_LIB_DIR}/libtflm.a)
  target_compile_definitions(hil_tflm INTERFACE ${HIL_TFLM_DEFS})
  target_include_directories(hil_tflm SYSTEM INTERFACE ${HIL_TFLM_INCLUDES})
  message(STATUS "tflm engine: ${HIL_TFLM_ROOT}, kernels ${HIL_TFLM_KERNELS}, library ${HIL_TFLM_LIB_DIR}/libtflm.a")
else()
  include(${CMAKE_CURRENT_LIST_DIR}/lib/tflm_lib.cmake)
endif()

# The adapter and the model sources: ours, warnings are errors.
set(HIL_TFLM_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(hil_engine STATIC
  ${HIL_TFLM_DIR}/engine_tflm.cc
  ${HIL_TFLM_DIR}/tflm_runtime.cc
  ${HIL_MODEL_DIR}/tflm_ops.cc
  ${HIL_MODEL_DIR}/tflm_model_data.cc)
target_include_directories(hil_engine PUBLIC ${HIL_MODEL_DIR} ${HIL_TFLM_DIR} ${CMAKE_CURRENT_LIST_DIR}/../../include)
# INFO's engine string names the kernel set: "tflm/cmsis-nn", "tflm/reference" (docs/protocol.md).
target_compile_definitions(hil_engine PRIVATE HIL_TFLM_KERNEL_SET="${HIL_TFLM_KERNELS}")
target_compile_options(hil_engine PRIVATE -fno-rtti -fno-exceptions -fno-threadsafe-statics -fno-unwind-tables)
target_link_libraries(hil_engine PUBLIC hil_tflm m)
