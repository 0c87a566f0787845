// codesign HLS kernel library: the GEMM engine of a chunk, one per dataflow.
//
// A layer is a GEMM in SCALE-Sim's convention: G groups of an M x N output with reduction K
// (conv: M pixels, N filters, K = kh*kw*Cin; fc: M = 1; depthwise on OS as the dense GEMM of
// codesign.cost.model.engine_view: N = channels, K = kh*kw taps, PE (r, c) of the N tile n0 on
// its own activation, channel n0 + c;
// depthwise on WS: G = channels, N = 1), with im2col done on the fly by the Pixel /
// Tap walkers. Folds, in the RTL's order:
//   OS: (g, M tile of R pixels, N tile of C channels): K steps at II=1 (at least R), during
//       whose first R steps the previous fold's R x C results leave through the C requantiser
//       lanes, a row a cycle (the RTL's overlap); the last fold's drain follows the last fold;
//   WS: (g, N tile, K tile of R taps): R cycles load the R x C weights, then the M pixels stream
//       through at II=1; the per-column partial sums wait in `acc` and the last K tile
//       requantises them on the way out.
// Every operand a cycle needs has its own memory port: PE row r (and requantiser lane c) reads
// activation replica r (weight / record replica c), see cs_memory.h.
#ifndef CS_GEMM_H
#define CS_GEMM_H

#include "cs_memory.h"
#include "cs_pe.h"

namespace cs {

template <class C, int DATAFLOW> struct gemm_engine;

// Where the results of an OS fold go: its first pixel, the output byte of that pixel's first
// channel of the tile, the channels in the tile. The next fold computes while these drain.
struct OsTile {
    int m0, out0, n_left;
};

template <class C> struct gemm_engine<C, DF_OS> {
    typedef typename pe_types<C>::a_t a_t;
    typedef typename pe_types<C>::w_t w_t;

    static void run(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                    const word_t wgt[C::COLS][C::WGT_WORDS], const Record rec[C::COLS][C::REC_DEPTH],
                    byte_t out[C::OUT_BANKS][C::OUT_DEPTH]) {
        const PixelStep one = pixel_step(d, 1);
        const PixelStep tile = pixel_step(d, C::ROWS);
        acc_t sum[C::ROWS][C::COLS];   // the previous fold's results and records, draining
        Record q[C::COLS];
#pragma HLS ARRAY_PARTITION variable=sum complete dim=0
#pragma HLS ARRAY_PARTITION variable=q complete
        OsTile prev = {0, 0, 0};
        bool pending = false;
        CS_LABEL(OS_GROUP) for (int g = 0; g < d.g; g++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_G
            Pixel px[C::ROWS];
#pragma HLS ARRAY_PARTITION variable=px complete
            px[0] = first_pixel(d);
            for (int r = 1; r < C::ROWS; r++) {
#pragma HLS UNROLL
                px[r] = px[r - 1];
                advance(px[r], d, one);
            }
            CS_LABEL(OS_M_TILE) for (int m0 = 0; m0 < d.m; m0 += C::ROWS) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_M_TILES
                CS_LABEL(OS_N_TILE) for (int n0 = 0; n0 < d.n; n0 += C::COLS) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_N_TILES
                    fold(d, act, wgt, rec, out, px, g, (d.kind == OP_DWCONV) ? n0 : 0, m0, n0, sum, q, prev, pending);
                    pending = true;
                }
                for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                    advance(px[r], d, tile);
                }
            }
        }
        CS_LABEL(OS_DRAIN) for (int r = 0; r < C::ROWS; r++) {   // the last fold's drain is exposed
#pragma HLS PIPELINE II=1
            CS_TRIP(OS_DRAIN);
            drain_row(d, sum, q, prev, r, out);
        }
    }

    // Row r of a fold's results through the C requantiser lanes into the output banks.
    static void drain_row(const LayerDesc &d, const acc_t sum[C::ROWS][C::COLS], const Record q[C::COLS],
                          const OsTile &tile, int r, byte_t out[C::OUT_BANKS][C::OUT_DEPTH]) {
#pragma HLS INLINE
        byte_t val[C::COLS];
        bool valid[C::COLS];
#pragma HLS ARRAY_PARTITION variable=val complete
#pragma HLS ARRAY_PARTITION variable=valid complete
        for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
            val[c] = requantize(sum[r][c] + q[c].bias, q[c].mult, q[c].shift, d.out_lo, d.out_hi);
            valid[c] = tile.m0 + r < d.m && c < tile.n_left;
        }
        write_lanes<C::COLS, C::OUT_BANKS, C::OUT_DEPTH>(out, tile.out0 + r * d.out_c, val, valid);
    }

    // One fold: K reduction steps into the PE array while the previous fold (if any) drains, a row
    // a cycle, in the first R steps; then the array's sums become the results to drain.
    static void fold(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                     const word_t wgt[C::COLS][C::WGT_WORDS], const Record rec[C::COLS][C::REC_DEPTH],
                     byte_t out[C::OUT_BANKS][C::OUT_DEPTH], const Pixel px[C::ROWS], int g, int chan, int m0,
                     int n0, acc_t sum[C::ROWS][C::COLS], Record q[C::COLS], OsTile &prev, bool pending) {
        acc_t acc[C::ROWS][C::COLS];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=0
        int wrow[C::COLS];
#pragma HLS ARRAY_PARTITION variable=wrow complete
        const int t0 = tile_start<C>(d, n0);
        const int nv = tile_cols<C>(d, t0);   // the tile's weight block: weight (k, j) at k * nv + j
        for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
            // the tile's block after t0 filters of K (a depthwise layer: of win_h * win_w taps) weights
            wrow[c] = g * d.n * d.k + t0 * ((d.kind == OP_DWCONV) ? d.win_h * d.win_w : d.k) + (n0 - t0) + c;
            for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                acc[r][c] = 0;
            }
        }
        Tap t = first_tap();
        const int steps = (pending && d.k < C::ROWS) ? C::ROWS : d.k;
        CS_LABEL(OS_K) for (int k = 0; k < steps; k++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_K
            CS_TRIP(OS_K);
            if (pending && k < C::ROWS) {
                drain_row(d, sum, q, prev, k, out);
            }
            a_t a[C::ROWS][C::COLS];
            w_t w[C::COLS];
#pragma HLS ARRAY_PARTITION variable=a complete dim=0
#pragma HLS ARRAY_PARTITION variable=w complete
            // row r's operand along the row; a depthwise layer: PE (r, c) its own activation,
            // channel chan + c of row r's pixel and tap (the RTL reads C bytes a row)
            const bool dw = d.kind == OP_DWCONV;
            for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                const bool in = k < d.k && m0 + r < d.m;
                const a_t shared = (in && !dw) ? operand<C>(act[r], d, px[r], t, chan) : a_t(0);
                for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                    a[r][c] = (in && dw) ? operand<C>(act[r], d, px[r], t, chan + c) : shared;
                }
            }
            for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                const bool on = k < d.k && n0 + c < d.n;
                w[c] = on ? weight<C>(wgt[c], wrow[c] + k * nv, d.flags & W_PACKED) : w_t(0);
            }
            pe_array_os<C, C::ROWS, C::COLS>(acc, a, w);
            advance(t, d);
        }
        for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
            q[c] = rec[c][(n0 + c < d.n) ? g * d.n + n0 + c : 0];
            for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                sum[r][c] = acc[r][c];
            }
        }
        prev.m0 = m0;
        prev.out0 = m0 * d.out_c + g * d.n + n0 + d.wr_off - d.out_off;   // + a weight slice's first channel
        prev.n_left = d.n - n0;
    }
};

template <class C> struct gemm_engine<C, DF_WS> {
    typedef typename pe_types<C>::a_t a_t;
    typedef typename pe_types<C>::w_t w_t;

    static void run(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                    const word_t wgt[C::COLS][C::WGT_WORDS], const Record rec[C::COLS][C::REC_DEPTH],
                    byte_t out[C::OUT_BANKS][C::OUT_DEPTH]) {
        acc_t acc[C::COLS][C::ACC_DEPTH];   // per-column partial sums of the M pixels
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
        CS_LABEL(WS_GROUP) for (int g = 0; g < d.g; g++) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_G
            CS_LABEL(WS_N_TILE) for (int n0 = 0; n0 < d.n; n0 += C::COLS) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_N_TILES
                Record q[C::COLS];
#pragma HLS ARRAY_PARTITION variable=q complete
                for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                    q[c] = rec[c][(n0 + c < d.n) ? g * d.n + n0 + c : 0];
                }
                Tap t = first_tap();
                CS_LABEL(WS_K_TILE) for (int k0 = 0; k0 < d.k; k0 += C::ROWS) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_K_TILES
                    fold(d, act, wgt, q, out, acc, t, g, (d.kind == OP_DWCONV) ? g : 0, n0, k0);
                }
            }
        }
    }

    static void fold(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                     const word_t wgt[C::COLS][C::WGT_WORDS], const Record q[C::COLS],
                     byte_t out[C::OUT_BANKS][C::OUT_DEPTH], acc_t acc[C::COLS][C::ACC_DEPTH], Tap &t, int g,
                     int chan, int n0, int k0) {
        w_t w[C::ROWS][C::COLS];
        Tap tap[C::ROWS];
#pragma HLS ARRAY_PARTITION variable=w complete dim=0
#pragma HLS ARRAY_PARTITION variable=tap complete
        const int nv = fold_cols<C>(d, n0);   // the fold's weight block: byte (k, c) at k * nv + c
        CS_LABEL(WS_LOAD) for (int r = 0; r < C::ROWS; r++) {   // row r of the weights: tap k0 + r of C filters
#pragma HLS PIPELINE II=1
            CS_TRIP(WS_LOAD);
            for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                const bool valid = k0 + r < d.k && n0 + c < d.n;
                w[r][c] = valid ? weight<C>(wgt[c], (g * d.n + n0) * d.k + (k0 + r) * nv + c, d.flags & W_PACKED) : w_t(0);
            }
            tap[r] = t;
            advance(t, d);
        }
        const bool first = k0 == 0;
        const bool last = k0 + C::ROWS >= d.k;
        Pixel p = first_pixel(d);
        const PixelStep one = pixel_step(d, 1);
        CS_LABEL(WS_STREAM) for (int m = 0; m < d.m; m++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::MAX_M
#pragma HLS DEPENDENCE variable=acc inter false
            CS_TRIP(WS_STREAM);
            a_t a[C::ROWS];
            acc_t column[C::COLS];
            byte_t val[C::COLS];
            bool valid[C::COLS];
#pragma HLS ARRAY_PARTITION variable=a complete
#pragma HLS ARRAY_PARTITION variable=column complete
#pragma HLS ARRAY_PARTITION variable=val complete
#pragma HLS ARRAY_PARTITION variable=valid complete
            for (int r = 0; r < C::ROWS; r++) {
#pragma HLS UNROLL
                a[r] = (k0 + r < d.k) ? operand<C>(act[r], d, p, tap[r], chan) : a_t(0);
            }
            pe_array_ws<C, C::ROWS, C::COLS>(column, a, w);
            for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
                const acc_t sum = (first ? acc_t(0) : acc[c][m]) + column[c];
                acc[c][m] = sum;
                val[c] = requantize(sum + q[c].bias, q[c].mult, q[c].shift, d.out_lo, d.out_hi);
                valid[c] = last && n0 + c < d.n;
            }
            write_lanes<C::COLS, C::OUT_BANKS, C::OUT_DEPTH>(out, m * d.out_c + g * d.n + n0 + d.wr_off - d.out_off, val, valid);
            advance(p, d, one);
        }
    }
};

} // namespace cs

#endif
