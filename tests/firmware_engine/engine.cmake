# TEST DOUBLE: a trivial deterministic engine implementing hil_engine.h, used
# to test the app and the ports without a model. Not an inference engine.
add_library(hil_engine STATIC ${CMAKE_CURRENT_LIST_DIR}/test_engine.c)
target_include_directories(hil_engine PUBLIC ${HIL_FIRMWARE_DIR}/include)
