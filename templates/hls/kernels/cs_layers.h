// codesign HLS kernel library: one function per layer kind. Each loads its operands from DRAM
// into the chunk's on-chip buffers where they fit (see Placement in cs_systolic.h), computes,
// requantises and writes its output to DRAM at the addresses of the hardware IR
// (L::IN_ADDRS0, L::OUT_ADDR, L::PARAM_ADDR, L::RECORD_ADDR, ...).
#ifndef CS_LAYERS_H
#define CS_LAYERS_H

#include "cs_systolic.h"

namespace cs {

inline void load_bytes(const byte_t *mem, unsigned addr, byte_t *buf, int offset, int count) {
    for (int i = 0; i < count; i++) {
#pragma HLS PIPELINE II=1
        buf[offset + i] = mem[addr + i];
    }
}

template <class L> void load_records(const byte_t *mem, Record *rec) {
    for (int n = 0; n < L::OUT_C; n++) {
#pragma HLS PIPELINE II=1
        rec[n] = read_record(mem, L::RECORD_ADDR + 8 * n);
    }
}

// The chunk's buffers: activations and weights as the design sizes them, the weight-stationary
// accumulators (largest M x N of the chunk) and the per-channel records (largest channel count).
template <class C> struct Buffers {
    byte_t act[C::ACT_BUF_BYTES];
    byte_t wgt[C::WGT_BUF_BYTES];
    acc_t acc[C::ACC_DEPTH];
    Record rec[C::REC_DEPTH];
};

template <class L, class C> void load_input(const byte_t *mem, Buffers<C> &b) {
    if (Placement<L, C>::IN_ON_CHIP) {
        load_bytes(mem, L::IN_ADDRS0, b.act, 0, Placement<L, C>::IN_BYTES);
    }
}

// conv (any kernel, stride, padding), dwconv and fc: the GEMM engine of the chunk's dataflow.
template <class L, class C> void gemm_layer(byte_t *mem, Buffers<C> &b) {
    load_input<L, C>(mem, b);
    if (Placement<L, C>::W_ON_CHIP) {
        load_bytes(mem, L::PARAM_ADDR, b.wgt, 0, L::G * L::N * L::K);
    }
    load_records<L>(mem, b.rec);
    if (C::DATAFLOW == DF_OS) {
        gemm_os<L, C>(mem, b.act, b.wgt, b.rec);
    } else {
        gemm_ws<L, C>(mem, b.act, b.wgt, b.rec, b.acc);
    }
}

// max over the window; padded positions never win.
template <class L, class C> void maxpool_layer(byte_t *mem, Buffers<C> &b) {
    load_input<L, C>(mem, b);
    load_records<L>(mem, b.rec);
    for (int oy = 0; oy < L::OUT_H; oy++) {
        for (int ox = 0; ox < L::OUT_W; ox++) {
            for (int c = 0; c < L::OUT_C; c++) {
                acc_t best = acc_t(-2147483647 - 1);
                for (int ky = 0; ky < L::KERNEL; ky++) {
                    for (int kx = 0; kx < L::KERNEL; kx++) {
#pragma HLS PIPELINE II=1
                        const int iy = oy * L::STRIDE - L::PADDING + ky;
                        const int ix = ox * L::STRIDE - L::PADDING + kx;
                        if (iy >= 0 && iy < L::IN_H && ix >= 0 && ix < L::IN_W) {
                            const acc_t x = byte_value<L::IN_SIGNED>(
                                input_byte<L, C>(b.act, mem, (iy * L::IN_W + ix) * L::IN_C + c));
                            if (x > best) {
                                best = x;
                            }
                        }
                    }
                }
                const Record q = b.rec[c];
                mem[L::OUT_ADDR + (oy * L::OUT_W + ox) * L::OUT_C + c] =
                    requantize<L::OUT_BITS, L::OUT_SIGNED>(best, q.mult, q.shift);
            }
        }
    }
}

// global average pool: the sum over H x W, scaled by the requantiser.
template <class L, class C> void avgpool_layer(byte_t *mem, Buffers<C> &b) {
    load_input<L, C>(mem, b);
    load_records<L>(mem, b.rec);
    for (int c = 0; c < L::OUT_C; c++) {
        acc_t sum = 0;
        for (int p = 0; p < L::IN_H * L::IN_W; p++) {
#pragma HLS PIPELINE II=1
            sum += byte_value<L::IN_SIGNED>(input_byte<L, C>(b.act, mem, p * L::IN_C + c));
        }
        const Record q = b.rec[c];
        mem[L::OUT_ADDR + c] = requantize<L::OUT_BITS, L::OUT_SIGNED>(sum, q.mult, q.shift);
    }
}

// residual add: a * add_mult[0] + b * add_mult[1], the two int16 multipliers at PARAM_ADDR;
// on chip, the second input follows the first in the activation buffer.
template <class L, class C> void add_layer(byte_t *mem, Buffers<C> &b) {
    typedef Placement<L, C> P;
    load_input<L, C>(mem, b);
    if (P::IN_ON_CHIP) {
        load_bytes(mem, L::IN_ADDRS1, b.act, P::IN_BYTES, P::IN_BYTES);
    }
    load_records<L>(mem, b.rec);
    const ap_int<16> mult_a = (ap_int<16>)read_le(mem, L::PARAM_ADDR, 2);
    const ap_int<16> mult_b = (ap_int<16>)read_le(mem, L::PARAM_ADDR + 2, 2);
    for (int i = 0; i < P::IN_BYTES; i++) {
#pragma HLS PIPELINE II=1
        const acc_t x = byte_value<L::IN_SIGNED>(input_byte<L, C>(b.act, mem, i));
        const acc_t y = byte_value<L::IN2_SIGNED>(P::IN_ON_CHIP ? b.act[P::IN_BYTES + i] : mem[L::IN_ADDRS1 + i]);
        const Record q = b.rec[i % L::OUT_C];
        mem[L::OUT_ADDR + i] = requantize<L::OUT_BITS, L::OUT_SIGNED>(x * mult_a + y * mult_b, q.mult, q.shift);
    }
}

} // namespace cs

#endif
