/* hil_proto.c -- CRC-32, COBS and frame parsing (docs/protocol.md). */
#include "hil_proto.h"

#include <string.h>

void hil_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

void hil_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

uint16_t hil_get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | ((uint16_t)p[1] << 8));
}

uint32_t hil_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Half-byte table: 64 bytes of flash instead of 1 KiB, fast enough for a
 * window per frame. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t hil_crc32_update(uint32_t crc, const uint8_t *data, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0Fu];
    }
    return ~crc;
}

uint32_t hil_crc32(const uint8_t *data, size_t len)
{
    return hil_crc32_update(0u, data, len);
}

size_t hil_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
    size_t out = 1;        /* next write position */
    size_t code_pos = 0;   /* where the current block's code byte goes */
    uint8_t code = 1;
    if (dst_cap == 0) {
        return 0;
    }
    for (size_t i = 0; i < len; ++i) {
        if (src[i] == 0) {
            dst[code_pos] = code;
            code_pos = out++;
            code = 1;
            if (code_pos >= dst_cap) {
                return 0;
            }
        } else {
            if (out >= dst_cap) {
                return 0;
            }
            dst[out++] = src[i];
            ++code;
            if (code == 0xFF) {
                dst[code_pos] = code;
                code_pos = out++;
                code = 1;
                /* A full block at the very end needs no trailing code byte:
                 * match the reference encoder (cobs package). */
                if (i + 1 == len) {
                    return out - 1;
                }
                if (code_pos >= dst_cap) {
                    return 0;
                }
            }
        }
    }
    dst[code_pos] = code;
    return out;
}

long hil_cobs_decode(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
    size_t in = 0;
    size_t out = 0;
    while (in < len) {
        uint8_t code = src[in++];
        if (code == 0) {
            return -1;
        }
        size_t n = (size_t)code - 1u;
        if (n > len - in || n > dst_cap - out) {
            return -1;
        }
        for (size_t k = 0; k < n; ++k) {
            uint8_t b = src[in++];
            if (b == 0) {
                return -1;
            }
            dst[out++] = b;
        }
        /* A block shorter than 254 data bytes implies a zero, unless it ends
         * the input. */
        if (code != 0xFF && in < len) {
            if (out >= dst_cap) {
                return -1;
            }
            dst[out++] = 0;
        }
    }
    return (long)out;
}

hil_err_t hil_frame_parse(const uint8_t *raw, size_t len, hil_frame_t *out, uint16_t *seq_out)
{
    *seq_out = HIL_SEQ_UNKNOWN;
    if (len < HIL_MIN_RAW) {
        return HIL_ERR_BAD_FRAME;
    }
    if (len > HIL_MAX_RAW) {
        return HIL_ERR_TOO_LONG;
    }
    const size_t body = len - HIL_CRC_BYTES;
    if (hil_crc32(raw, body) != hil_get_u32(raw + body)) {
        return HIL_ERR_BAD_CRC;
    }
    out->version = raw[0];
    out->type = raw[1];
    out->seq = hil_get_u16(raw + 2);
    out->length = hil_get_u16(raw + 4);
    out->payload = raw + HIL_HEADER_BYTES;
    *seq_out = out->seq;
    if (out->version != HIL_PROTO_VERSION) {
        return HIL_ERR_BAD_VERSION;
    }
    if ((size_t)out->length != body - HIL_HEADER_BYTES) {
        return HIL_ERR_BAD_LENGTH;
    }
    return HIL_ERR_NONE;
}

size_t hil_frame_build(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
                       uint8_t *raw, size_t cap)
{
    if (len > HIL_MAX_PAYLOAD || HIL_HEADER_BYTES + len + HIL_CRC_BYTES > cap) {
        return 0;
    }
    raw[0] = (uint8_t)HIL_PROTO_VERSION;
    raw[1] = type;
    hil_put_u16(raw + 2, seq);
    hil_put_u16(raw + 4, (uint16_t)len);
    if (len > 0) {
        memmove(raw + HIL_HEADER_BYTES, payload, len);
    }
    const size_t body = HIL_HEADER_BYTES + len;
    hil_put_u32(raw + body, hil_crc32(raw, body));
    return body + HIL_CRC_BYTES;
}
