// codesign HLS kernel library: types, DRAM byte access and the requantiser.
// Static and hand-written; the generated params.h only fills in the layer/chunk config structs.
// The arithmetic is codesign/backend/golden.py's, bit for bit.
#ifndef CS_TYPES_H
#define CS_TYPES_H

#include <ap_int.h>

namespace cs {

typedef ap_uint<8> byte_t;     // one DRAM byte; activations are one byte per element
typedef ap_int<32> acc_t;      // the int32 accumulator
typedef ap_uint<15> mult_t;    // per-channel requantisation multiplier, [0, 2^15)
typedef ap_uint<6> shift_t;    // per-channel right shift, [0, 47]
typedef ap_int<48> wide_t;     // acc * mult + rounding fits 48 bits (one DSP48 cascade)
typedef ap_uint<1> token_t;    // "chunk finished" token between chunks

enum Kind { KIND_CONV, KIND_DWCONV, KIND_FC, KIND_AVGPOOL, KIND_MAXPOOL, KIND_ADD };
enum Dataflow { DF_OS, DF_WS };
enum LoopOrder { LOOP_WEIGHTS_OUTER, LOOP_INPUTS_OUTER };

// An activation of `bits` bits: ap_int when signed, ap_uint when unsigned (after relu).
template <int BITS, bool SIGNED> struct act_type { typedef ap_uint<BITS> type; };
template <int BITS> struct act_type<BITS, true> { typedef ap_int<BITS> type; };

// A stored activation byte as the integer it encodes (two's complement for signed tensors).
template <bool SIGNED> inline int byte_value(byte_t b) { return (int)b; }
template <> inline int byte_value<true>(byte_t b) { return (int)(ap_int<8>)b; }

inline unsigned read_le(const byte_t *mem, unsigned addr, int nbytes) {
    unsigned v = 0;
    for (int i = nbytes - 1; i >= 0; i--) {
        v = (v << 8) | (unsigned)mem[addr + i];
    }
    return v;
}

// One per-channel record: int32 bias, uint16 mult, uint8 shift, one zero byte.
struct Record {
    acc_t bias;
    mult_t mult;
    shift_t shift;
    Record() : bias(0), mult(0), shift(0) {}
    Record(acc_t b, mult_t m, shift_t s) : bias(b), mult(m), shift(s) {}
};

inline Record read_record(const byte_t *mem, unsigned addr) {
    return Record((acc_t)(int)read_le(mem, addr, 4), read_le(mem, addr + 4, 2), read_le(mem, addr + 6, 1));
}

// clamp((acc * mult + 2^(shift-1)) >> shift) to the output tensor's range; no rounding
// term when shift is 0; arithmetic (floor) shift: round half up.
template <int OUT_BITS, bool OUT_SIGNED>
inline byte_t requantize(acc_t acc, mult_t mult, shift_t shift) {
#pragma HLS INLINE
    const wide_t lo = OUT_SIGNED ? -(1LL << (OUT_BITS - 1)) : 0LL;
    const wide_t hi = OUT_SIGNED ? (1LL << (OUT_BITS - 1)) - 1 : (1LL << OUT_BITS) - 1;
    wide_t rounding = 0;
    if (shift > 0) {
        rounding = wide_t(1) << (shift - 1);
    }
    wide_t product = acc * mult;
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
