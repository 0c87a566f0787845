// codesign HLS kernel library: the C vector lanes of a chunk (maxpool, global avgpool, add).
//
// Lane j computes output element e = group * C + j (HWC order) of each group of C consecutive
// outputs, reducing over the window one step a cycle: `red` steps per group (maxpool: the
// window; avgpool: the whole input; add: one step, both inputs). The loop over (group, step)
// is flattened and pipelined at II=1: ceil(outputs / C) * red cycles, as the cost model counts.
// Lane j reads activation replica j; the results leave through write_lanes like the GEMM's.
#ifndef CS_VECTOR_H
#define CS_VECTOR_H

#include "cs_memory.h"
#include "cs_pe.h"

namespace cs {

// A lane's output element: its channel and the window of its pixel.
struct Lane {
    int e, ch;
    Pixel px;
};

inline void next_element(Lane &l, const LayerDesc &d, const PixelStep &one) {
#pragma HLS INLINE
    l.e++;
    if (++l.ch == d.out_c) {
        l.ch = 0;
        advance(l.px, d, one);
    }
}

template <class C>
void vector_lanes(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                  const word_t wgt[C::COLS][C::WGT_WORDS], const Record rec[C::COLS][C::REC_DEPTH],
                  byte_t out[C::OUT_BANKS][C::OUT_DEPTH]) {
    const int outputs = d.out_bytes;
    const int red = d.win_h * d.win_w;
    const int groups = (outputs + C::COLS - 1) / C::COLS;
    const ap_int<16> mult_a = wgt[0][0].range(15, 0);   // add: the two int16 input multipliers
    const ap_int<16> mult_b = wgt[0][0].range(31, 16);
    // advancing a lane by C elements: C / out_c pixels and C % out_c channels (+1 pixel on a wrap)
    const int cq = C::COLS / d.out_c;
    const int cr = C::COLS - cq * d.out_c;
    const PixelStep one = pixel_step(d, 1), jump = pixel_step(d, cq), jump1 = pixel_step(d, cq + 1);
    Lane lane[C::COLS];
    acc_t acc[C::COLS];
#pragma HLS ARRAY_PARTITION variable=lane complete
#pragma HLS ARRAY_PARTITION variable=acc complete
    lane[0].e = 0;
    lane[0].ch = 0;
    lane[0].px = first_pixel(d);
    for (int j = 1; j < C::COLS; j++) {
#pragma HLS UNROLL
        lane[j] = lane[j - 1];
        next_element(lane[j], d, one);
    }
    int wy = 0, wx = 0, off = 0, step = 0;   // the window position, shared by the lanes
    CS_LABEL(VEC) for (int i = 0; i < groups * red; i++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_VEC_STEPS
        CS_TRIP(VEC);
        byte_t val[C::COLS];
        bool valid[C::COLS];
#pragma HLS ARRAY_PARTITION variable=val complete
#pragma HLS ARRAY_PARTITION variable=valid complete
        for (int j = 0; j < C::COLS; j++) {
#pragma HLS UNROLL
            const Lane &l = lane[j];
            const int iy = l.px.iy0 + wy, ix = l.px.ix0 + wx;
            const bool inside = iy >= 0 && iy < d.in_h && ix >= 0 && ix < d.in_w;
            const int a = l.px.base + off + l.ch;
            const acc_t x = inside ? byte_value(word_byte(act[j], a), d.in_signed) : 0;
            acc_t r;
            if (d.kind == OP_MAXPOOL) {   // padded positions never win
                r = (step == 0 || (inside && x > acc[j])) ? (inside ? x : acc_t(-2147483647 - 1)) : acc[j];
            } else if (d.kind == OP_AVGPOOL) {
                r = (step == 0 ? acc_t(0) : acc[j]) + x;
            } else {
                const acc_t y = byte_value(word_byte(act[j], d.in1_off + a), d.in1_signed);
                r = x * mult_a + y * mult_b;
            }
            acc[j] = r;
            const Record q = rec[j][l.ch];
            val[j] = requantize(r, q.mult, q.shift, d.out_lo, d.out_hi);
            valid[j] = step == red - 1 && l.e < outputs;
        }
        write_lanes<C::COLS, C::OUT_BANKS, C::OUT_DEPTH>(out, lane[0].e, val, valid);
        if (step == red - 1) {   // next group: every lane C elements on, the window back to its start
            step = 0;
            wy = 0;
            wx = 0;
            off = 0;
            for (int j = 0; j < C::COLS; j++) {
#pragma HLS UNROLL
                lane[j].e += C::COLS;
                lane[j].ch += cr;
                const bool wrap = lane[j].ch >= d.out_c;
                if (wrap) {
                    lane[j].ch -= d.out_c;
                }
                advance(lane[j].px, d, wrap ? jump1 : jump);
            }
        } else {
            step++;
            if (wx + 1 < d.win_w) {
                wx++;
                off += d.in_c;
            } else {
                wx = 0;
                wy++;
                off += (d.in_w - d.win_w + 1) * d.in_c;
            }
        }
    }
}

} // namespace cs

#endif
