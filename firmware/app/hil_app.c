/* hil_app.c -- frame assembly, dispatch and replies (docs/protocol.md). */
#include "hil_app.h"

#include <string.h>

#include "hil_engine.h"
#include "hil_port.h"
#include "hil_proto.h"

/* Encoded bytes of the frame being received (without the delimiter). */
static uint8_t rx_frame[HIL_MAX_ENCODED];
static size_t rx_len;
static int rx_overlong;              /* discarding until the next delimiter */

static uint8_t raw_buf[HIL_MAX_RAW]; /* decoded request */
static uint8_t tx_raw[HIL_MAX_RAW];
static uint8_t tx_wire[HIL_MAX_ENCODED + 1];

/* Copy of the last INFER window: the engine's input may be overwritten by
 * an invoke (it can live in the arena), BENCH re-copies it each time. */
static int8_t last_window[HIL_MAX_PAYLOAD];
static size_t last_window_len;

static hil_engine_status_t engine_status = HIL_ENGINE_ERR_INIT;
static hil_tensor_info_t in_info;
static hil_tensor_info_t out_info;

/* DUMP state: the tensor of the last dump stays valid until the next
 * invoke, so the chunks of one tensor cost one partial run. */
static int dump_valid;
static uint16_t dump_op;
static uint32_t dump_crc;
static const uint8_t *dump_data;
static hil_tensor_info_t dump_info;


static void send_frame(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len)
{
    size_t raw_len = hil_frame_build(type, seq, payload, len, tx_raw, sizeof tx_raw);
    if (raw_len == 0) {
        return;
    }
    size_t n = hil_cobs_encode(tx_raw, raw_len, tx_wire, sizeof tx_wire - 1u);
    if (n == 0) {
        return;
    }
    tx_wire[n++] = 0x00;
    hil_port_uart_write(tx_wire, n);
}

static const char *error_text(hil_err_t code)
{
    switch (code) {
    case HIL_ERR_BAD_CRC: return "bad crc";
    case HIL_ERR_BAD_FRAME: return "bad frame";
    case HIL_ERR_BAD_LENGTH: return "bad length";
    case HIL_ERR_TOO_LONG: return "frame too long";
    case HIL_ERR_BAD_VERSION: return "bad version";
    case HIL_ERR_UNKNOWN_TYPE: return "unknown type";
    case HIL_ERR_BAD_SIZE: return "bad payload size";
    case HIL_ERR_BAD_ARG: return "bad argument";
    case HIL_ERR_ENGINE: return "engine error";
    case HIL_ERR_FAULT: return "fault";
    case HIL_ERR_NONE: break;
    }
    return "error";
}

static void send_error_text(hil_err_t code, uint16_t seq, const char *text)
{
    uint8_t p[2u + HIL_ERROR_TEXT_MAX];
    size_t n = strlen(text);
    if (n > HIL_ERROR_TEXT_MAX) {
        n = HIL_ERROR_TEXT_MAX;
    }
    hil_put_u16(p, (uint16_t)code);
    memcpy(p + 2, text, n);
    send_frame(HIL_MSG_ERROR, seq, p, 2u + n);
}

static void send_error(hil_err_t code, uint16_t seq)
{
    send_error_text(code, seq, error_text(code));
}

void hil_app_fault(const char *text)
{
    send_error_text(HIL_ERR_FAULT, HIL_SEQ_UNKNOWN, text);
}

void hil_app_hex32(char *out, uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 8; ++i) {
        out[2 + i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    out[10] = '\0';
}

static size_t put_tensor(uint8_t *p, const hil_tensor_info_t *t)
{
    memset(p, 0, 32);
    p[0] = t->dtype;
    p[1] = t->ndims;
    for (int i = 0; i < HIL_ENGINE_MAX_DIMS; ++i) {
        hil_put_u32(p + 4 + 4 * i, (uint32_t)(i < t->ndims ? t->dims[i] : 0));
    }
    hil_put_u32(p + 20, t->bytes);
    uint32_t scale_bits;
    memcpy(&scale_bits, &t->scale, sizeof scale_bits);
    hil_put_u32(p + 24, scale_bits);
    hil_put_u32(p + 28, (uint32_t)t->zero_point);
    return 32;
}

static size_t put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    if (n > 64) {
        n = 64;
    }
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    return n + 1;
}

/* Ports whose link is always their UART need not say so. */
__attribute__((weak)) hil_link_t hil_port_link(void)
{
    return HIL_LINK_UART;
}

static void on_hello(uint16_t seq)
{
    uint8_t p[116 + 3 * 65];
    memset(p, 0, sizeof p);
    p[0] = (uint8_t)HIL_PROTO_VERSION;
    p[1] = (uint8_t)hil_port_reset_reason();
    hil_put_u16(p + 2, (uint16_t)HIL_MAX_PAYLOAD);
    hil_put_u32(p + 4, hil_port_clock_hz());
    hil_put_u32(p + 8, hil_engine_arena_bytes());
    hil_put_u32(p + 12, (uint32_t)HIL_RX_RING_BYTES);
    memcpy(p + 16, hil_engine_model_sha256(), 32);
    put_tensor(p + 48, &in_info);
    put_tensor(p + 80, &out_info);
    hil_put_u16(p + 112, (uint16_t)hil_engine_profile(NULL, 0));
    p[114] = (uint8_t)hil_port_link();
    size_t n = 116;
    n += put_str(p + n, HIL_FIRMWARE_VERSION);
    n += put_str(p + n, hil_port_board_name());
    n += put_str(p + n, hil_engine_name());
    send_frame(HIL_MSG_INFO, seq, p, n);
}

/* One invoke of the last window; returns the engine status and the ticks. */
static hil_engine_status_t run_once(uint32_t *ticks)
{
    dump_valid = 0; /* an invoke overwrites the dumped tensor */
    memcpy(hil_engine_input(), last_window, last_window_len);
    uint32_t t0 = hil_port_timing_begin();
    hil_engine_status_t st = hil_engine_invoke();
    *ticks = hil_port_timing_end() - t0;
    return st;
}

static void on_infer(const hil_frame_t *f)
{
    if (f->length != in_info.bytes) {
        send_error(HIL_ERR_BAD_SIZE, f->seq);
        return;
    }
    if (engine_status != HIL_ENGINE_OK) {
        send_error(HIL_ERR_ENGINE, f->seq);
        return;
    }
    memcpy(last_window, f->payload, f->length);
    last_window_len = f->length;
    uint32_t ticks = 0;
    if (run_once(&ticks) != HIL_ENGINE_OK) {
        send_error(HIL_ERR_ENGINE, f->seq);
        return;
    }
    static uint8_t p[HIL_MAX_PAYLOAD];
    const size_t n_out = out_info.bytes; /* fits: checked in hil_app_init */
    hil_put_u32(p, hil_crc32(f->payload, f->length));
    hil_put_u32(p + 4, ticks);
    memcpy(p + 8, hil_engine_output(), n_out);
    send_frame(HIL_MSG_RESULT, f->seq, p, 8u + n_out);
}

static void on_bench(const hil_frame_t *f)
{
    if (f->length != 4) {
        send_error(HIL_ERR_BAD_SIZE, f->seq);
        return;
    }
    uint32_t n = hil_get_u32(f->payload);
    if (n == 0 || n > HIL_BENCH_MAX) {
        send_error(HIL_ERR_BAD_ARG, f->seq);
        return;
    }
    if (engine_status != HIL_ENGINE_OK) {
        send_error(HIL_ERR_ENGINE, f->seq);
        return;
    }
    if (last_window_len != in_info.bytes) {
        memset(last_window, 0, in_info.bytes);
        last_window_len = in_info.bytes;
    }
    uint64_t total = 0;
    uint32_t lo = 0xFFFFFFFFu;
    uint32_t hi = 0;
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t t = 0;
        if (run_once(&t) != HIL_ENGINE_OK) {
            send_error(HIL_ERR_ENGINE, f->seq);
            return;
        }
        total += t;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    uint8_t p[20];
    hil_put_u32(p, n);
    hil_put_u32(p + 4, (uint32_t)(total & 0xFFFFFFFFu));
    hil_put_u32(p + 8, (uint32_t)(total >> 32));
    hil_put_u32(p + 12, lo);
    hil_put_u32(p + 16, hi);
    send_frame(HIL_MSG_BENCH_RESULT, f->seq, p, sizeof p);
}

static void on_profile(uint16_t seq)
{
    static hil_op_profile_t ops[(HIL_MAX_PAYLOAD - 4u) / 8u];
    static uint8_t p[HIL_MAX_PAYLOAD];
    size_t total = hil_engine_profile(ops, sizeof ops / sizeof ops[0]);
    size_t count = total < sizeof ops / sizeof ops[0] ? total : sizeof ops / sizeof ops[0];
    hil_put_u16(p, (uint16_t)(total > 0xFFFFu ? 0xFFFFu : total));
    hil_put_u16(p + 2, (uint16_t)count);
    for (size_t i = 0; i < count; ++i) {
        uint8_t *e = p + 4 + 8 * i;
        hil_put_u16(e, ops[i].op_index);
        hil_put_u16(e + 2, ops[i].op_code);
        hil_put_u32(e + 4, ops[i].cycles);
    }
    send_frame(HIL_MSG_PROFILE_RESULT, seq, p, 4u + 8u * count);
}

__attribute__((weak)) const void *hil_engine_dump(size_t op_index, hil_tensor_info_t *info)
{
    (void)op_index;
    (void)info;
    return NULL;
}

static void on_dump(const hil_frame_t *f)
{
    if (f->length != HIL_DUMP_REQ_HEADER + in_info.bytes) {
        send_error(HIL_ERR_BAD_SIZE, f->seq);
        return;
    }
    if (engine_status != HIL_ENGINE_OK) {
        send_error(HIL_ERR_ENGINE, f->seq);
        return;
    }
    const uint16_t op = hil_get_u16(f->payload);
    const uint32_t offset = hil_get_u32(f->payload + 4);
    const uint8_t *window = f->payload + HIL_DUMP_REQ_HEADER;
    const uint32_t crc = hil_crc32(window, in_info.bytes);
    if (!dump_valid || dump_op != op || dump_crc != crc) {
        dump_valid = 0;
        memcpy(hil_engine_input(), window, in_info.bytes);
        dump_data = (const uint8_t *)hil_engine_dump(op, &dump_info);
        if (dump_data == NULL) {
            send_error(HIL_ERR_BAD_ARG, f->seq);
            return;
        }
        dump_valid = 1;
        dump_op = op;
        dump_crc = crc;
    }
    if (offset > dump_info.bytes) {
        send_error(HIL_ERR_BAD_ARG, f->seq);
        return;
    }
    static uint8_t p[HIL_MAX_PAYLOAD];
    uint32_t n = dump_info.bytes - offset;
    if (n > HIL_MAX_PAYLOAD - HIL_DUMP_HEADER) {
        n = HIL_MAX_PAYLOAD - HIL_DUMP_HEADER;
    }
    hil_put_u16(p, op);
    hil_put_u16(p + 2, (uint16_t)hil_engine_profile(NULL, 0));
    put_tensor(p + 4, &dump_info);
    hil_put_u32(p + 36, offset);
    memcpy(p + HIL_DUMP_HEADER, dump_data + offset, n);
    send_frame(HIL_MSG_DUMP_RESULT, f->seq, p, HIL_DUMP_HEADER + n);
}

#ifdef HIL_TEST_COMMANDS
static void crash(void)
{
#if defined(__arm__)
    __asm volatile("udf #0");
#else
    /* The host port has no fault handler to test: report and stop. */
    hil_app_fault("CRASH requested");
    hil_port_reset();
#endif
}
#endif

static void dispatch(const uint8_t *raw, size_t len)
{
    hil_frame_t f;
    uint16_t seq = HIL_SEQ_UNKNOWN;
    hil_err_t err = hil_frame_parse(raw, len, &f, &seq);
    if (err != HIL_ERR_NONE) {
        send_error(err, seq);
        return;
    }
    switch (f.type) {
    case HIL_MSG_HELLO:
        if (f.length != 0) {
            send_error(HIL_ERR_BAD_SIZE, f.seq);
        } else {
            on_hello(f.seq);
        }
        break;
    case HIL_MSG_INFER:
        on_infer(&f);
        break;
    case HIL_MSG_BENCH:
        on_bench(&f);
        break;
    case HIL_MSG_ECHO:
        send_frame(HIL_MSG_ECHO_REPLY, f.seq, f.payload, f.length);
        break;
    case HIL_MSG_SINK: {
        /* Link-only traffic shaped like INFER: payload in, a RESULT-sized
         * reply out, no inference. */
        uint8_t ack[8];
        hil_put_u32(ack, hil_crc32(f.payload, f.length));
        hil_put_u32(ack + 4, 0);
        send_frame(HIL_MSG_SINK_ACK, f.seq, ack, sizeof ack);
        break;
    }
    case HIL_MSG_DUMP:
        on_dump(&f);
        break;
    case HIL_MSG_PROFILE:
        if (f.length != 0) {
            send_error(HIL_ERR_BAD_SIZE, f.seq);
        } else {
            on_profile(f.seq);
        }
        break;
#ifdef HIL_TEST_COMMANDS
    case HIL_MSG_CRASH:
        crash();
        break;
#endif
    default:
        send_error(HIL_ERR_UNKNOWN_TYPE, f.seq);
        break;
    }
}

/* A delimiter ended the frame in rx_frame[0..rx_len). */
static void end_of_frame(void)
{
    if (rx_overlong) {
        rx_overlong = 0;
        rx_len = 0;
        send_error(HIL_ERR_TOO_LONG, HIL_SEQ_UNKNOWN);
        return;
    }
    if (rx_len == 0) {
        return; /* empty frame: a resync flush */
    }
    long n = hil_cobs_decode(rx_frame, rx_len, raw_buf, sizeof raw_buf);
    size_t enc_len = rx_len;
    rx_len = 0;
    if (n < 0) {
        /* Valid COBS that decodes to more than a raw frame holds is too long. */
        send_error(enc_len > HIL_MAX_RAW ? HIL_ERR_TOO_LONG : HIL_ERR_BAD_FRAME, HIL_SEQ_UNKNOWN);
        return;
    }
    dispatch(raw_buf, (size_t)n);
}

void hil_app_feed(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; ++i) {
        uint8_t b = data[i];
        if (b == 0x00) {
            end_of_frame();
        } else if (rx_overlong) {
            /* drop until the next delimiter */
        } else if (rx_len < sizeof rx_frame) {
            rx_frame[rx_len++] = b;
        } else {
            rx_overlong = 1;
        }
    }
}

size_t hil_app_poll(void)
{
    uint8_t chunk[256];
    size_t total = 0;
    size_t n;
    /* Serve at most a few chunks per call so the caller's loop stays live. */
    while ((n = hil_port_uart_read(chunk, sizeof chunk)) > 0) {
        hil_app_feed(chunk, n);
        total += n;
        if (total >= 4 * sizeof chunk) {
            break;
        }
    }
    return total;
}

static void banner(void)
{
    static const char *const reasons[] = {"unknown", "power_on", "external", "software", "watchdog", "fault"};
    char line[192];
    size_t n = 0;
    unsigned r = (unsigned)hil_port_reset_reason();
    const char *parts[] = {
        "HIL-BOOT proto=1 fw=", HIL_FIRMWARE_VERSION, " board=", hil_port_board_name(),
        " engine=", hil_engine_name(), " reset=", r < 6 ? reasons[r] : "unknown",
        engine_status == HIL_ENGINE_OK ? "" : " engine_error=init", "\r\n",
    };
    line[n++] = 0x00;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; ++i) {
        size_t k = strlen(parts[i]);
        if (n + k + 2 > sizeof line) {
            k = sizeof line - n - 2;
        }
        memcpy(line + n, parts[i], k);
        n += k;
    }
    line[n++] = 0x00;
    hil_port_uart_write((const uint8_t *)line, n);
}

void hil_app_init(void)
{
    rx_len = 0;
    rx_overlong = 0;
    last_window_len = 0;
    engine_status = hil_engine_init();
    hil_engine_input_info(&in_info);
    hil_engine_output_info(&out_info);
    if (in_info.bytes > HIL_MAX_PAYLOAD || out_info.bytes > HIL_MAX_PAYLOAD - 8u) {
        engine_status = HIL_ENGINE_ERR_INIT;
    }
    banner();
}
