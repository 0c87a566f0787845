// codesign HLS kernel library: the PE arrays and the im2col address walkers that feed them.
//
// A chunk has one R x C array of multiply-accumulate PEs, of the chunk's multiplier width:
// a (MULT_BITS+1)-bit signed activation (holds unsigned activations too) times a MULT_BITS-bit
// signed weight, into an int32 accumulator, as the RTL's pe.v. The arrays are fully unrolled
// loop nests over completely partitioned registers, called from loops pipelined at II=1.
#ifndef CS_PE_H
#define CS_PE_H

#include "cs_types.h"

namespace cs {

template <class C> struct pe_types {
    typedef ap_int<C::MULT_BITS + 1> a_t;
    typedef ap_int<C::MULT_BITS> w_t;
    typedef ap_int<2 * C::MULT_BITS + 1> prod_t;
};

// Output stationary: PE (r, c) accumulates output pixel r, channel c of the fold; one reduction
// step a cycle (activation a[r][c]: row r's, the same along the row, or for a depthwise layer the
// PE's own channel's; weight w[c] down column c).
template <class C, int ROWS, int COLS>
void pe_array_os(acc_t acc[ROWS][COLS], const typename pe_types<C>::a_t a[ROWS][COLS],
                 const typename pe_types<C>::w_t w[COLS]) {
#pragma HLS INLINE
    for (int r = 0; r < ROWS; r++) {
#pragma HLS UNROLL
        for (int c = 0; c < COLS; c++) {
#pragma HLS UNROLL
            acc[r][c] += (typename pe_types<C>::prod_t)(a[r][c] * w[c]);
        }
    }
}

// Weight stationary: PE (r, c) holds weight (k0 + r, n0 + c); one output pixel a cycle, each
// column sums its R products (the column's partial sum for this K fold).
template <class C, int ROWS, int COLS>
void pe_array_ws(acc_t column[COLS], const typename pe_types<C>::a_t a[ROWS],
                 const typename pe_types<C>::w_t w[ROWS][COLS]) {
#pragma HLS INLINE
    for (int c = 0; c < COLS; c++) {
#pragma HLS UNROLL
        acc_t sum = 0;
        for (int r = 0; r < ROWS; r++) {
#pragma HLS UNROLL
            sum += (typename pe_types<C>::prod_t)(a[r] * w[r][c]);
        }
        column[c] = sum;
    }
}

// Where output pixel m's window starts: (iy0, ix0) and the byte address of its top-left tap.
// Stepped by whole pixels with additions only (no divider in the pipelined loops).
struct Pixel {
    int ox, iy0, ix0, base;
};

// The change of a Pixel when m advances by `d` = q * out_w + r pixels (r < out_w).
struct PixelStep {
    int dox, dix, diy, dbase;
};

inline PixelStep pixel_step(const LayerDesc &d, int pixels) {
    PixelStep s;
    const int q = pixels / d.out_w;   // once per layer
    s.dox = pixels - q * d.out_w;
    s.dix = s.dox * d.stride;
    s.diy = q * d.stride;
    s.dbase = (s.diy * d.in_w + s.dix) * d.in_c;
    return s;
}

inline Pixel first_pixel(const LayerDesc &d) {
    Pixel p;
    p.ox = 0;
    p.iy0 = d.iy0;      // -pad, or a band's first window row
    p.ix0 = -d.pad;
    p.base = d.base0;   // (iy0 * in_w - pad) * in_c from the band's first loaded byte
    return p;
}

inline void advance(Pixel &p, const LayerDesc &d, const PixelStep &s) {
#pragma HLS INLINE
    p.ox += s.dox;
    p.ix0 += s.dix;
    p.iy0 += s.diy;
    p.base += s.dbase;
    if (p.ox >= d.out_w) {   // next output row of the window
        p.ox -= d.out_w;
        p.ix0 -= d.out_w * d.stride;
        p.iy0 += d.stride;
        p.base += d.stride * d.in_w * d.in_c - d.out_w * d.stride * d.in_c;
    }
}

// Reduction index k as a tap of the window: k = (ky * win_w + kx) * kc + ch, at byte offset
// (ky * in_w + kx) * in_c + ch from the pixel's base (the weights' (N, kh, kw, Cin) order).
struct Tap {
    int ky, kx, ch, off;
};

inline Tap first_tap() {
    Tap t;
    t.ky = 0;
    t.kx = 0;
    t.ch = 0;
    t.off = 0;
    return t;
}

inline void advance(Tap &t, const LayerDesc &d) {
#pragma HLS INLINE
    if (t.ch + 1 < d.kc) {
        t.ch++;
        t.off++;
    } else if (t.kx + 1 < d.win_w) {
        t.ch = 0;
        t.kx++;
        t.off += d.in_c - d.kc + 1;
    } else {
        t.ch = 0;
        t.kx = 0;
        t.ky++;
        t.off += d.in_w * d.in_c - (d.win_w - 1) * d.in_c - d.kc + 1;
    }
}

// The activation at tap t of pixel p (zero outside the input: padding), from one replica.
template <class C>
typename pe_types<C>::a_t operand(const word_t *act, const LayerDesc &d, const Pixel &p, const Tap &t, int chan) {
#pragma HLS INLINE
    const int iy = p.iy0 + t.ky;
    const int ix = p.ix0 + t.kx;
    if (iy < 0 || iy >= d.in_h || ix < 0 || ix >= d.in_w) {
        return 0;
    }
    const int at = p.base + t.off + chan;
    // a depthwise fold's last channels may lie past the tensor (their weights are 0): stay in the array
    if (at >= C::ACT_WORDS * 8) {
        return 0;
    }
    return byte_value(word_byte(act, at), d.in_signed);
}

// Filters in a fold of N tile n0: min(COLS, n - n0) (the IR's weight layout, codesign.backend.ir).
template <class C> int fold_cols(const LayerDesc &d, int n0) {
    return (d.n - n0 < C::COLS) ? d.n - n0 : C::COLS;
}

// The first filter of the weight tile holding filter n0: the IR lays a layer of two MACs per PE
// (W_DUAL) out in tiles of 2 COLS filters (the RTL's folds); this engine still runs COLS a fold.
template <class C> int tile_start(const LayerDesc &d, int n0) {
    return (d.flags & W_DUAL) ? n0 - n0 % (2 * C::COLS) : n0;
}

// Filters in the weight tile starting at filter t0: COLS, or 2 COLS for W_DUAL, fewer in the last.
template <class C> int tile_cols(const LayerDesc &d, int t0) {
    const int width = (d.flags & W_DUAL) ? 2 * C::COLS : C::COLS;
    return (d.n - t0 < width) ? d.n - t0 : width;
}

// Weight `index` of a parameter block: a byte each, or two a byte (low nibble first) when packed.
template <class C> typename pe_types<C>::w_t weight(const word_t *wgt, int index, bool packed) {
#pragma HLS INLINE
    if (packed) {
        const byte_t b = word_byte(wgt, index >> 1);
        return (typename pe_types<C>::w_t)(ap_int<4>)((index & 1) ? b.range(7, 4) : b.range(3, 0));
    }
    return (typename pe_types<C>::w_t)(ap_int<8>)word_byte(wgt, index);
}

} // namespace cs

#endif
