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
#   HIL_TFLM_ALL_KERNELS  compile every kernel, not only the model's.
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
if(HIL_TFLM_KERNELS STREQUAL "cmsis-nn" AND NOT HIL_CMSIS_NN_ROOT)
  message(FATAL_ERROR "HIL_TFLM_KERNELS=cmsis-nn needs HIL_CMSIS_NN_ROOT (a CMSIS-NN checkout, e.g. "
                      "TFLM's tensorflow/lite/micro/tools/make/downloads/cmsis_nn); or use HIL_TFLM_KERNELS=reference")
endif()
if(HIL_TFLM_KERNELS STREQUAL "reference")
  set(HIL_CMSIS_NN_ROOT "")  # the reference set never compiles CMSIS-NN, whatever the environment says
endif()
option(HIL_TFLM_ALL_KERNELS "Compile every TFLM kernel, not only the model's" OFF)

if(NOT HIL_TFLM_ROOT OR NOT EXISTS "${HIL_TFLM_ROOT}/tensorflow/lite/micro/micro_interpreter.h")
  message(FATAL_ERROR
    "HIL_ENGINE=tflm needs a TensorFlow Lite Micro tree: set HIL_TFLM_ROOT (environment variable or "
    "-DHIL_TFLM_ROOT=...) to a tflite-micro checkout; got '${HIL_TFLM_ROOT}'. "
    "`hil deps tflm` prints the pinned commit and the steps, `hil deps tflm --fetch` performs them; "
    "or build with the aot engine (HIL_ENGINE=aot, hil build --engine aot).")
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
if(NOT HIL_MODEL_DIR OR NOT EXISTS "${HIL_MODEL_DIR}/tflm_ops.cc" OR NOT EXISTS "${HIL_MODEL_DIR}/tflm_model_data.cc")
  message(FATAL_ERROR "HIL_ENGINE=tflm needs HIL_MODEL_DIR with tflm_ops.cc and tflm_model_data.cc "
                      "(hil.firmware.tflm_gen.generate(tflite, out_dir) writes them); got '${HIL_MODEL_DIR}'")
endif()

set(T ${HIL_TFLM_ROOT})
# TFLM's library sources (as tools/make/sources.inc lists them): the micro
# runtime, the TFLite code it shares, the kernels; no tests, no benchmarks, and
# not TFLM's debug_log.cc (it prints to stderr; tflm_runtime.cc replaces it).
file(GLOB HIL_TFLM_SRCS
  ${T}/tensorflow/lite/micro/*.cc
  ${T}/tensorflow/lite/micro/arena_allocator/*.cc
  ${T}/tensorflow/lite/micro/memory_planner/*.cc
  ${T}/tensorflow/lite/micro/tflite_bridge/*.cc
  ${T}/tensorflow/lite/micro/kernels/*.cc
  ${T}/tensorflow/lite/core/c/common.cc
  ${T}/tensorflow/lite/core/api/*.cc
  ${T}/tensorflow/lite/kernels/kernel_util.cc
  ${T}/tensorflow/lite/kernels/internal/*.cc
  ${T}/tensorflow/lite/kernels/internal/reference/*.cc
  ${T}/tensorflow/compiler/mlir/lite/core/api/*.cc
  ${T}/tensorflow/compiler/mlir/lite/schema/schema_utils.cc)
list(FILTER HIL_TFLM_SRCS EXCLUDE REGEX
  "_test\\.cc$|/debug_log\\.cc$|/test_helper|/fake_micro_context\\.cc$|/mock_micro_graph\\.cc$|/conv_test_common\\.cc$|/kernel_runner\\.cc$|flexbuffers_generated_data\\.cc$")

set(HIL_TFLM_DEFS TF_LITE_STATIC_MEMORY TF_LITE_MCU_DEBUG_LOG)
set(HIL_TFLM_INCLUDES ${T} ${HIL_TFLM_DOWNLOADS}/flatbuffers/include ${HIL_TFLM_DOWNLOADS}/gemmlowp
                      ${HIL_TFLM_DOWNLOADS}/ruy)
set(HIL_TFLM_KERNEL_SET ${HIL_TFLM_KERNELS})
set(HIL_TFLM_KERNELS "reference")
if(HIL_CMSIS_NN_ROOT)
  if(NOT EXISTS "${HIL_CMSIS_NN_ROOT}/Include/arm_nnfunctions.h")
    message(FATAL_ERROR "HIL_CMSIS_NN_ROOT=${HIL_CMSIS_NN_ROOT} is not a CMSIS-NN tree (no Include/arm_nnfunctions.h)")
  endif()
  # As TFLM's specialize_files.py does for OPTIMIZED_KERNEL_DIR=cmsis_nn.
  file(GLOB hil_cmsis_kernels ${T}/tensorflow/lite/micro/kernels/cmsis_nn/*.cc)
  foreach(k ${hil_cmsis_kernels})
    get_filename_component(kname ${k} NAME)
    list(REMOVE_ITEM HIL_TFLM_SRCS ${T}/tensorflow/lite/micro/kernels/${kname})
  endforeach()
  list(APPEND HIL_TFLM_SRCS ${hil_cmsis_kernels})
  file(GLOB_RECURSE hil_cmsis_nn_srcs ${HIL_CMSIS_NN_ROOT}/Source/*.c)
  list(FILTER hil_cmsis_nn_srcs EXCLUDE REGEX "_f16\\.c$|_f32\\.c$|arm_nntables_flt\\.c$")
  list(APPEND HIL_TFLM_DEFS CMSIS_NN)
  list(APPEND HIL_TFLM_INCLUDES ${HIL_CMSIS_NN_ROOT} ${HIL_CMSIS_NN_ROOT}/Include)
  set(HIL_TFLM_KERNELS "cmsis_nn")
endif()

# Only the model's kernels (all of TFLM takes many minutes on two cores): each
# resolver method tflm_ops.cc calls names its default registration (Register_X)
# in micro_mutable_op_resolver.h; keep the kernel files that define a wanted
# Register_X and every kernel-folder file that defines none (shared helpers
# such as conv_common.cc, kernel_util.cc). Anything unexpected: every kernel.
set(hil_all_kernels ${HIL_TFLM_ALL_KERNELS})
set(hil_wanted "")
if(NOT hil_all_kernels)
  file(READ ${HIL_MODEL_DIR}/tflm_ops.cc hil_ops_cc)
  string(REGEX MATCHALL "r\\.Add[A-Za-z0-9]+\\(" hil_calls "${hil_ops_cc}")
  file(READ ${T}/tensorflow/lite/micro/micro_mutable_op_resolver.h hil_resolver_h)
  foreach(call ${hil_calls})
    string(REGEX REPLACE "^r\\.|\\($" "" method "${call}")
    if("${hil_resolver_h}" MATCHES " ${method}\\([^)]*= *(Register_[A-Za-z0-9_]+)\\(")
      list(APPEND hil_wanted ${CMAKE_MATCH_1})
    else()
      message(STATUS "tflm engine: no default registration found for ${method}; compiling every kernel")
      set(hil_all_kernels ON)
    endif()
  endforeach()
  if(NOT hil_wanted)
    set(hil_all_kernels ON)
  endif()
endif()
if(NOT hil_all_kernels)
  set(hil_kept "")
  foreach(src ${HIL_TFLM_SRCS})
    if(NOT src MATCHES "/micro/kernels/")
      list(APPEND hil_kept ${src})
      continue()
    endif()
    file(STRINGS ${src} hil_defs REGEX "^TFLMRegistration\\*? *Register_[A-Za-z0-9_]+\\(\\)")
    if(NOT hil_defs)
      list(APPEND hil_kept ${src})
      continue()
    endif()
    foreach(reg ${hil_wanted})
      if("${hil_defs}" MATCHES "[ *]${reg}\\(\\)")
        list(APPEND hil_kept ${src})
        break()
      endif()
    endforeach()
  endforeach()
  set(HIL_TFLM_SRCS ${hil_kept})
  list(JOIN hil_wanted " " hil_wanted_text)
  set(HIL_TFLM_KERNELS "${HIL_TFLM_KERNELS} kernels for ${hil_wanted_text}")
else()
  set(HIL_TFLM_KERNELS "every ${HIL_TFLM_KERNELS} kernel")
endif()
if(HIL_CMSIS_NN_ROOT)
  list(APPEND HIL_TFLM_SRCS ${hil_cmsis_nn_srcs})
endif()
message(STATUS "tflm engine: ${HIL_TFLM_ROOT} (${HIL_TFLM_KERNELS})")

# TFLM itself: third-party code, built at its own warning level, not ours.
add_library(hil_tflm STATIC ${HIL_TFLM_SRCS})
target_compile_definitions(hil_tflm PUBLIC ${HIL_TFLM_DEFS})
target_include_directories(hil_tflm SYSTEM PUBLIC ${HIL_TFLM_INCLUDES})
# NDEBUG as in TFLM's release_with_logs build: TFLITE_DCHECKs off (they run in
# every RuntimeShape::Offset of the reference kernels), error strings kept (the
# per-op profiler hooks need them).
target_compile_definitions(hil_tflm PRIVATE NDEBUG)
target_compile_options(hil_tflm PRIVATE -Wno-error -w
  $<$<COMPILE_LANGUAGE:CXX>:-fno-rtti -fno-exceptions -fno-threadsafe-statics -fno-unwind-tables>)

# The adapter and the model sources: ours, warnings are errors.
set(HIL_TFLM_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(hil_engine STATIC
  ${HIL_TFLM_DIR}/engine_tflm.cc
  ${HIL_TFLM_DIR}/tflm_runtime.cc
  ${HIL_MODEL_DIR}/tflm_ops.cc
  ${HIL_MODEL_DIR}/tflm_model_data.cc)
target_include_directories(hil_engine PUBLIC ${HIL_MODEL_DIR} ${HIL_TFLM_DIR} ${CMAKE_CURRENT_LIST_DIR}/../../include)
# INFO's engine string names the kernel set: "tflm/cmsis-nn", "tflm/reference" (docs/protocol.md).
target_compile_definitions(hil_engine PRIVATE HIL_TFLM_KERNEL_SET="${HIL_TFLM_KERNEL_SET}")
target_compile_options(hil_engine PRIVATE -fno-rtti -fno-exceptions -fno-threadsafe-statics -fno-unwind-tables)
target_link_libraries(hil_engine PUBLIC hil_tflm m)
