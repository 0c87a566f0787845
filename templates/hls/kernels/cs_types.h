// codesign HLS kernel library: types, the layer descriptor and the requantiser.
// Static and hand-written; the generated params.h only fills in the chunk structs and the
// per-chunk layer tables. The arithmetic is codesign/backend/golden.py's, bit for bit.
#ifndef CS_TYPES_H
#define CS_TYPES_H

#include <ap_int.h>

// Loop labels name the loops in the synthesis reports (and in compare_csynth.py); only the HLS
// tools see them, as g++ -Wall would call them unused.
#ifdef __SYNTHESIS__
#define CS_LABEL(name) name:
#else
#define CS_LABEL(name)
#endif

// CS_TRIP(name) counts one iteration of a pipelined loop in the trip-counting C simulation of
// tests/test_hls_structure.py (-DCS_COUNT_TRIPS), which checks codesign.backend.hls_estimate's
// trip counts against the code; it is nothing in synthesis and in `codesign csim`.
#ifdef CS_COUNT_TRIPS
void cs_count_trip(const char *loop);
#define CS_TRIP(name) cs_count_trip(#name)
#else
#define CS_TRIP(name)
#endif

namespace cs {

typedef ap_uint<64> word_t;    // one beat of the 64-bit AXI port; every DRAM region is 64-byte aligned
typedef ap_uint<8> byte_t;     // one activation / weight byte
typedef ap_int<32> acc_t;      // the int32 accumulator
typedef ap_uint<15> mult_t;    // per-channel requantisation multiplier, [0, 2^15)
typedef ap_uint<6> shift_t;    // per-channel right shift, [0, 47]
typedef ap_int<48> wide_t;     // acc * mult + rounding fits 48 bits (one DSP48 cascade)
typedef ap_uint<1> token_t;    // "chunk finished this frame" token between chunks

// The IR's layer kinds (KIND in params.h's layer structs) and the operation codes of the layer
// tables (LayerDesc::kind: codesign.backend.verilog.KIND_CODES, the RTL layer ROM's codes; fc
// runs as a 1x1 conv over the flattened input).
enum Kind { KIND_CONV, KIND_DWCONV, KIND_FC, KIND_AVGPOOL, KIND_MAXPOOL, KIND_ADD };
enum Op { OP_GEMM = 0, OP_DWCONV = 1, OP_AVGPOOL = 2, OP_MAXPOOL = 3, OP_ADD = 4 };
enum Dataflow { DF_OS, DF_WS };
enum LoopOrder { LOOP_WEIGHTS_OUTER, LOOP_INPUTS_OUTER };

// One row of a chunk's layer table: the RTL layer ROM's fields of the same name
// (codesign.backend.verilog.layer_fields). Plain ints: a const table is a ROM, with no constructor.
struct LayerDesc {
    int kind;
    int in_h, in_w, in_c, out_w, out_c;   // input window geometry (fc: one pixel of in_c channels)
    int win_h, win_w, stride, pad;        // kernel / pool window (avgpool: the whole input)
    int m, n, k, g, kc;                   // GEMM view; kc = channels per tap (depthwise: of the fold's window)
    int in_signed, in1_signed, out_lo, out_hi;
    int in0_addr, in1_addr, in_bytes, in1_off, num_in;   // frame-relative tensors (frame 0's addresses)
    int out_addr, out_bytes;
    int param_addr, param_bytes, rec_off;                // parameters, shared by all frames
    // tiles (a row may be one band x slice of a layer): the window's first row in image rows, the
    // walker's first pixel base, where output channel 0 of this row goes (out_off + the slice's
    // first channel), the output region, and which transfers the row makes (verilog.LOAD_IN ...)
    int iy0, base0, wr_off, out_off, flags;
    // the RTL's parameter prefetch (codesign.backend.verilog.place_params); this engine loads every
    // row's parameters itself, so its rows have them 0
    int w_off, rec_row0, pf_addr, pf_bytes, pf_woff, pf_rec_off, pf_rec_row0;
};
enum RowFlags { LOAD_IN = 1, LOAD_PARAMS = 2, LOAD_OUT = 4, STORE = 8, W_PACKED = 32, W_DUAL = 64 };

// The byte at byte address `a` of a word memory (little-endian, as DRAM).
inline byte_t word_byte(const word_t *buf, int a) {
#pragma HLS INLINE
    return buf[a >> 3].range(8 * (a & 7) + 7, 8 * (a & 7));
}

// A stored activation byte as the integer it encodes (two's complement for signed tensors).
inline int byte_value(byte_t b, bool is_signed) {
#pragma HLS INLINE
    return is_signed ? (int)(ap_int<8>)b : (int)b;
}

// One per-channel record, one 64-bit word in DRAM: int32 bias, uint16 mult, uint8 shift, zero.
struct Record {
    acc_t bias;
    mult_t mult;
    shift_t shift;
};

inline Record unpack_record(word_t w) {
#pragma HLS INLINE
    Record r;
    r.bias = (acc_t)(ap_int<32>)w.range(31, 0);
    r.mult = w.range(46, 32);
    r.shift = w.range(53, 48);
    return r;
}

// clamp((acc * mult + 2^(shift-1)) >> shift, lo, hi); no rounding term when shift is 0;
// arithmetic (floor) shift: round half up. [lo, hi] is the output tensor's range.
inline byte_t requantize(acc_t acc, mult_t mult, shift_t shift, int lo, int hi) {
#pragma HLS INLINE
    wide_t rounding = 0;
    if (shift > 0) {
        rounding = wide_t(1) << (shift - 1);
    }
    const wide_t product = acc * mult;
    wide_t y = (wide_t)(product + rounding) >> shift;
    if (y < lo) {
        y = lo;
    }
    if (y > hi) {
        y = hi;
    }
    return (byte_t)(ap_int<8>)y;
}

} // namespace cs

#endif
