/* hil_proto.h -- frame layer of the link protocol (docs/protocol.md).
 *
 * Pure functions with no state and no board or engine dependency: CRC-32,
 * COBS, frame build and parse. Shared by the app, the host port and the
 * fuzz target.
 */
#ifndef HIL_PROTO_H
#define HIL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define HIL_PROTO_VERSION 1u

#ifndef HIL_MAX_PAYLOAD
#define HIL_MAX_PAYLOAD 4096u
#endif

#define HIL_HEADER_BYTES 6u
#define HIL_CRC_BYTES 4u
#define HIL_MIN_RAW (HIL_HEADER_BYTES + HIL_CRC_BYTES)
#define HIL_MAX_RAW (HIL_HEADER_BYTES + HIL_MAX_PAYLOAD + HIL_CRC_BYTES)
/* COBS adds at most one byte per 254 plus one. */
#define HIL_MAX_ENCODED (HIL_MAX_RAW + (HIL_MAX_RAW + 253u) / 254u)
#define HIL_SEQ_UNKNOWN 0xFFFFu
#define HIL_BENCH_MAX 100000u
#define HIL_ERROR_TEXT_MAX 160u
/* DUMP request: u16 op, u16 reserved, u32 offset, then the window. */
#define HIL_DUMP_REQ_HEADER 8u
/* DUMP_RESULT: u16 op, u16 ops, tensor (32 bytes), u32 offset, then data. */
#define HIL_DUMP_HEADER 40u

enum {
    HIL_MSG_HELLO = 0x01,
    HIL_MSG_INFER = 0x02,
    HIL_MSG_BENCH = 0x03,
    HIL_MSG_ECHO = 0x04,
    HIL_MSG_PROFILE = 0x05,
    HIL_MSG_SINK = 0x06,
    HIL_MSG_DUMP = 0x07,
    HIL_MSG_CRASH = 0x0E,
    HIL_MSG_INFO = 0x81,
    HIL_MSG_RESULT = 0x82,
    HIL_MSG_BENCH_RESULT = 0x83,
    HIL_MSG_ECHO_REPLY = 0x84,
    HIL_MSG_PROFILE_RESULT = 0x85,
    HIL_MSG_SINK_ACK = 0x86,
    HIL_MSG_DUMP_RESULT = 0x87,
    HIL_MSG_ERROR = 0xFF,
};

typedef enum {
    HIL_ERR_NONE = 0,
    HIL_ERR_BAD_CRC = 1,
    HIL_ERR_BAD_FRAME = 2,
    HIL_ERR_BAD_LENGTH = 3,
    HIL_ERR_TOO_LONG = 4,
    HIL_ERR_BAD_VERSION = 5,
    HIL_ERR_UNKNOWN_TYPE = 6,
    HIL_ERR_BAD_SIZE = 7,
    HIL_ERR_BAD_ARG = 8,
    HIL_ERR_ENGINE = 9,
    HIL_ERR_FAULT = 11,
} hil_err_t;

typedef struct {
    uint8_t version;
    uint8_t type;
    uint16_t seq;
    uint16_t length;
    const uint8_t *payload;   /* points into the decoded buffer */
} hil_frame_t;

uint32_t hil_crc32_update(uint32_t crc, const uint8_t *data, size_t len);
uint32_t hil_crc32(const uint8_t *data, size_t len);

/* COBS-encodes len bytes of src into dst (capacity dst_cap); no delimiter.
 * Returns the encoded length, or 0 when dst is too small. */
size_t hil_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap);

/* Decodes len COBS bytes of src into dst (capacity dst_cap; may equal src).
 * Returns the decoded length, or -1 when the input is not valid COBS or does
 * not fit. */
long hil_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap);

/* Checks a decoded raw frame (COBS already removed). On success fills *out
 * and returns HIL_ERR_NONE; otherwise the error code, and *seq_out is the
 * request's seq when the header could be trusted, else HIL_SEQ_UNKNOWN. */
hil_err_t hil_frame_parse(const uint8_t *raw, size_t len, hil_frame_t *out, uint16_t *seq_out);

/* Writes header + payload + CRC into raw (capacity cap); returns its length or
 * 0 when it does not fit. */
size_t hil_frame_build(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                       uint8_t *raw, size_t cap);

/* Little-endian helpers. */
void hil_put_u16(uint8_t *p, uint16_t v);
void hil_put_u32(uint8_t *p, uint32_t v);
uint16_t hil_get_u16(const uint8_t *p);
uint32_t hil_get_u32(const uint8_t *p);

#endif /* HIL_PROTO_H */
