// codesign HLS kernel library: the systolic PE array and the per-chunk GEMM engine.
//
// A layer is a GEMM in SCALE-Sim's convention: G groups of an M x N output with reduction K.
// L is a layer config struct (params.h), C its chunk's config struct (ROWS x COLS PEs).
//   output stationary (DF_OS): PE (r, c) keeps the accumulator of output pixel m0 + r and
//     channel n0 + c while the K operands stream through (rows = M, cols = N);
//   weight stationary (DF_WS): PE (r, c) holds weight (k0 + r, n0 + c) while the M output
//     pixels stream through; each column reduces its partial sums (rows = K, cols = N) into
//     the accumulator buffer.
// The PE array is the fully unrolled inner loop nest over a completely partitioned register
// array; the stream loop around it is pipelined at II=1.
#ifndef CS_SYSTOLIC_H
#define CS_SYSTOLIC_H

#include "cs_types.h"

namespace cs {

template <class L> struct gemm_types {
    typedef ap_int<L::W_BITS> w_t;
    typedef typename act_type<L::IN_BITS, L::IN_SIGNED>::type a_t;
    typedef ap_int<L::W_BITS + L::IN_BITS + 1> prod_t;
};

// One processing element: a multiply-accumulate at the layer's operand widths (one DSP48).
template <class L>
inline acc_t pe_mac(acc_t acc, typename gemm_types<L>::a_t a, typename gemm_types<L>::w_t w) {
#pragma HLS INLINE
    return acc + (typename gemm_types<L>::prod_t)(a * w);
}

// Where a layer's operands live: in the chunk's buffers when they fit the design's sizes
// (ACT_BUF_BYTES: the input, or both inputs of an add; WGT_BUF_BYTES: the weights), else in
// DRAM, read operand by operand. Outputs always go straight to DRAM.
template <class L, class C> struct Placement {
    static const int IN_BYTES = L::IN_H * L::IN_W * L::IN_C;
    static const bool IN_ON_CHIP = IN_BYTES * (L::KIND == KIND_ADD ? 2 : 1) <= C::ACT_BUF_BYTES;
    static const bool W_ON_CHIP = L::G * L::N * L::K <= C::WGT_BUF_BYTES;
};

// Element `index` (HWC) of the layer's first input.
template <class L, class C> inline byte_t input_byte(const byte_t *act, const byte_t *mem, int index) {
#pragma HLS INLINE
    return Placement<L, C>::IN_ON_CHIP ? act[index] : mem[L::IN_ADDRS0 + index];
}

// Byte `index` of the layer's weights, laid out (G * N, K) row-major.
template <class L, class C> inline byte_t weight_byte(const byte_t *wgt, const byte_t *mem, int index) {
#pragma HLS INLINE
    return Placement<L, C>::W_ON_CHIP ? wgt[index] : mem[L::PARAM_ADDR + index];
}

// The k-th reduction operand of output pixel m in group g (im2col on the fly, zero padding).
template <class L, class C>
typename gemm_types<L>::a_t gemm_operand(const byte_t *act, const byte_t *mem, int g, int m, int k) {
#pragma HLS INLINE
    int index = k;
    if (L::KIND != KIND_FC) {
        const int oy = m / L::OUT_W;
        const int ox = m % L::OUT_W;
        const int channel = (L::KIND == KIND_DWCONV) ? g : k % L::IN_C;
        const int tap = (L::KIND == KIND_DWCONV) ? k : k / L::IN_C;
        const int iy = oy * L::STRIDE - L::PADDING + tap / L::KERNEL;
        const int ix = ox * L::STRIDE - L::PADDING + tap % L::KERNEL;
        if (iy < 0 || iy >= L::IN_H || ix < 0 || ix >= L::IN_W) {
            return 0;
        }
        index = (iy * L::IN_W + ix) * L::IN_C + channel;
    }
    return byte_value<L::IN_SIGNED>(input_byte<L, C>(act, mem, index));
}

// Weight (n, k) of group g, one signed byte each.
template <class L, class C>
typename gemm_types<L>::w_t gemm_weight(const byte_t *wgt, const byte_t *mem, int g, int n, int k) {
#pragma HLS INLINE
    return (typename gemm_types<L>::w_t)(ap_int<8>)weight_byte<L, C>(wgt, mem, (g * L::N + n) * L::K + k);
}

// Output element of pixel m, channel n of group g in the HWC output tensor.
template <class L> inline int gemm_out_index(int g, int m, int n) {
    return m * L::OUT_C + g * L::N + n;
}

template <class L, class C>
void gemm_os(byte_t *mem, const byte_t *act, const byte_t *wgt, const Record *rec) {
    typedef typename gemm_types<L>::a_t a_t;
    typedef typename gemm_types<L>::w_t w_t;
    acc_t acc[C::ROWS][C::COLS];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    for (int g = 0; g < L::G; g++) {
        for (int m0 = 0; m0 < L::M; m0 += C::ROWS) {
            for (int n0 = 0; n0 < L::N; n0 += C::COLS) {
                for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                    for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                        acc[r][c] = 0;
                    }
                }
                for (int k = 0; k < L::K; k++) {
#pragma HLS PIPELINE II=1
                    a_t a[C::ROWS];
                    w_t w[C::COLS];
#pragma HLS ARRAY_PARTITION variable=a complete
#pragma HLS ARRAY_PARTITION variable=w complete
                    for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                        a[r] = (m0 + r < L::M) ? gemm_operand<L, C>(act, mem, g, m0 + r, k) : a_t(0);
                    }
                    for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                        w[c] = (n0 + c < L::N) ? gemm_weight<L, C>(wgt, mem, g, n0 + c, k) : w_t(0);
                    }
                    for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                        for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                            acc[r][c] = pe_mac<L>(acc[r][c], a[r], w[c]);
                        }
                    }
                }
                for (int r = 0; r < C::ROWS; r++) {
                    for (int c = 0; c < C::COLS; c++) {
#pragma HLS PIPELINE II=1
                        if (m0 + r < L::M && n0 + c < L::N) {
                            const Record q = rec[g * L::N + n0 + c];
                            mem[L::OUT_ADDR + gemm_out_index<L>(g, m0 + r, n0 + c)] =
                                requantize<L::OUT_BITS, L::OUT_SIGNED>(acc[r][c] + q.bias, q.mult, q.shift);
                        }
                    }
                }
            }
        }
    }
}

template <class L, class C>
void gemm_ws(byte_t *mem, const byte_t *act, const byte_t *wgt, const Record *rec, acc_t *accbuf) {
    typedef typename gemm_types<L>::a_t a_t;
    typedef typename gemm_types<L>::w_t w_t;
    w_t w[C::ROWS][C::COLS];
#pragma HLS ARRAY_PARTITION variable=w complete dim=0
    for (int g = 0; g < L::G; g++) {
        for (int i = 0; i < L::M * L::N; i++) {
#pragma HLS PIPELINE II=1
            accbuf[i] = 0;
        }
        for (int k0 = 0; k0 < L::K; k0 += C::ROWS) {
            for (int n0 = 0; n0 < L::N; n0 += C::COLS) {
                for (int r = 0; r < C::ROWS; r++) {
                    for (int c = 0; c < C::COLS; c++) {
#pragma HLS PIPELINE II=1
                        w[r][c] = (k0 + r < L::K && n0 + c < L::N) ? gemm_weight<L, C>(wgt, mem, g, n0 + c, k0 + r) : w_t(0);
                    }
                }
                for (int m = 0; m < L::M; m++) {
#pragma HLS PIPELINE II=1
                    a_t a[C::ROWS];
#pragma HLS ARRAY_PARTITION variable=a complete
                    for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                        a[r] = (k0 + r < L::K) ? gemm_operand<L, C>(act, mem, g, m, k0 + r) : a_t(0);
                    }
                    for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                        acc_t column = 0;
                        for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                            column = pe_mac<L>(column, a[r], w[r][c]);
                        }
                        if (n0 + c < L::N) {
                            accbuf[m * L::N + n0 + c] += column;
                        }
                    }
                }
            }
        }
        for (int m = 0; m < L::M; m++) {
            for (int n = 0; n < L::N; n++) {
#pragma HLS PIPELINE II=1
                const Record q = rec[g * L::N + n];
                mem[L::OUT_ADDR + gemm_out_index<L>(g, m, n)] =
                    requantize<L::OUT_BITS, L::OUT_SIGNED>(accbuf[m * L::N + n] + q.bias, q.mult, q.shift);
            }
        }
    }
}

} // namespace cs

#endif
