# aot engine: the int8 kernel library plus the C generated for one model by
# hil.firmware.aot.generate() into ${HIL_MODEL_DIR} (model_aot.c, model_aot.h).
if(NOT HIL_MODEL_DIR OR NOT EXISTS ${HIL_MODEL_DIR}/model_aot.c)
  message(FATAL_ERROR "HIL_ENGINE=aot needs HIL_MODEL_DIR with model_aot.c "
                      "(run hil.firmware.aot.generate(tflite, out_dir) first); got '${HIL_MODEL_DIR}'")
endif()
set(HIL_AOT_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(hil_engine STATIC
  ${HIL_AOT_DIR}/aot_conv.c
  ${HIL_AOT_DIR}/aot_pool.c
  ${HIL_AOT_DIR}/aot_elementwise.c
  ${HIL_AOT_DIR}/aot_activation.c
  ${HIL_MODEL_DIR}/model_aot.c)
target_include_directories(hil_engine PUBLIC ${HIL_AOT_DIR} ${HIL_MODEL_DIR}
                           ${CMAKE_CURRENT_LIST_DIR}/../../include)
# roundf/double helpers of QUANTIZE/DEQUANTIZE
target_link_libraries(hil_engine PUBLIC m)
