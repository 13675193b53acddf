/* hil_engine.h -- the inference engine seam.
 *
 * The app calls only these functions; an engine (engines/aot, engines/tflm)
 * implements them for the one model linked into the image. The app knows
 * nothing of how the engine runs the model, and the engine nothing of the
 * protocol or the board.
 */
#ifndef HIL_ENGINE_H
#define HIL_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HIL_ENGINE_MAX_DIMS 4

typedef enum {
    HIL_DTYPE_INT8 = 1,
    HIL_DTYPE_UINT8 = 2,
    HIL_DTYPE_INT16 = 3,
    HIL_DTYPE_FLOAT32 = 4,
} hil_dtype_t;

typedef struct {
    uint8_t dtype;                      /* hil_dtype_t */
    uint8_t ndims;
    int32_t dims[HIL_ENGINE_MAX_DIMS];
    uint32_t bytes;                     /* size of the tensor's data */
    float scale;                        /* quantisation (0 when not quantised) */
    int32_t zero_point;
} hil_tensor_info_t;

typedef struct {
    uint16_t op_index;                  /* position in the model's execution order */
    uint16_t op_code;                   /* TFLite BuiltinOperator */
    uint32_t cycles;                    /* timer units spent in the op, last invoke */
} hil_op_profile_t;

typedef enum {
    HIL_ENGINE_OK = 0,
    HIL_ENGINE_ERR_INIT = 1,            /* model could not be prepared (arena, ops) */
    HIL_ENGINE_ERR_INVOKE = 2,          /* an op failed during invoke */
} hil_engine_status_t;

/* Prepares the linked model; called once at boot. */
hil_engine_status_t hil_engine_init(void);

/* Short engine name for INFO, e.g. "aot" or "tflm". */
const char *hil_engine_name(void);

/* SHA-256 (32 bytes) of the .tflite flatbuffer the image was built from. */
const uint8_t *hil_engine_model_sha256(void);

/* Bytes of working memory (tensor arena) the engine uses. */
uint32_t hil_engine_arena_bytes(void);

void hil_engine_input_info(hil_tensor_info_t *info);
void hil_engine_output_info(hil_tensor_info_t *info);

/* Where the app writes one input window before hil_engine_invoke(), and
 * reads the outputs after it. Valid until the next invoke. */
int8_t *hil_engine_input(void);
const int8_t *hil_engine_output(void);

hil_engine_status_t hil_engine_invoke(void);

/* Per-op timer units of the last invoke (measured with hil_port_cycles()).
 * Writes at most max entries; returns the number of ops in the model. */
size_t hil_engine_profile(hil_op_profile_t *out, size_t max);

/* Diagnosis (DUMP, docs/protocol.md): runs ops 0..op_index of the model on
 * the current input and returns op op_index's output tensor (described in
 * *info), valid until the next invoke or dump; NULL when op_index is out of
 * range or the engine cannot dump. Optional: the app links a weak default
 * that returns NULL (the device then answers DUMP with ERROR BAD_ARG). */
const void *hil_engine_dump(size_t op_index, hil_tensor_info_t *info);

#ifdef __cplusplus
}
#endif

#endif /* HIL_ENGINE_H */
