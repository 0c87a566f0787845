// codesign HLS kernel library: the chunk's on-chip buffers and its AXI transfers.
//
// A chunk engine reads DRAM through one 64-bit m_axi port in bursts (pipelined loops over
// consecutive words, II=1: one beat a cycle) into three kinds of buffer, each organised so
// that the compute loops read every operand they need in one cycle:
//   activations: PORTS replicas of the input tensor(s), one per PE row / vector lane (a load
//     writes the same word to every replica): each reader has its own BRAM port;
//   weights and records: one replica per PE column / requantiser lane;
//   output: BANKS byte banks, byte address a in bank a % BANKS (BANKS a power of two >= max(C, 8)):
//     the C requantiser lanes write C consecutive bytes a cycle, the store reads 8 a cycle.
#ifndef CS_MEMORY_H
#define CS_MEMORY_H

#include "cs_types.h"

namespace cs {

inline int words_of(int bytes) {
#pragma HLS INLINE
    return (bytes + 7) >> 3;
}

// Burst read of `words` words from DRAM word `src` into word `dst` of every replica.
template <int PORTS, int DEPTH, int MAXW>
void load_replicated(const word_t *mem, int src, word_t buf[PORTS][DEPTH], int dst, int words) {
    CS_LABEL(LOAD) for (int w = 0; w < words; w++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=MAXW
        CS_TRIP(LOAD);
        const word_t beat = mem[src + w];
        for (int p = 0; p < PORTS; p++) {
#pragma HLS UNROLL
            buf[p][dst + w] = beat;
        }
    }
}

// One transfer of a layer's parameter block: weight words into every weight replica, then one
// record word per output channel into every record replica (the IR's 8-byte records).
template <class C>
void load_params(const word_t *mem, const LayerDesc &d, word_t wgt[C::COLS][C::WGT_WORDS],
                 Record rec[C::COLS][C::REC_DEPTH]) {
    const int src = d.param_addr >> 3;
    const int weight_words = d.rec_off >> 3;
    const int words = d.param_bytes >> 3;
    CS_LABEL(PARAMS) for (int w = 0; w < words; w++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=C::PARAM_WORDS
        CS_TRIP(PARAMS);
        const word_t beat = mem[src + w];
        for (int c = 0; c < C::COLS; c++) {
#pragma HLS UNROLL
            if (w < weight_words) {
                wgt[c][w] = beat;
            } else {
                rec[c][w - weight_words] = unpack_record(beat);
            }
        }
    }
}

// The C lanes' results, lane i at byte address base + i when valid[i], into the output banks:
// each bank takes at most one byte (the lanes' bytes rotated by base % BANKS).
template <int LANES, int BANKS, int DEPTH>
void write_lanes(byte_t out[BANKS][DEPTH], int base, const byte_t val[LANES], const bool valid[LANES]) {
#pragma HLS INLINE
    for (int b = 0; b < BANKS; b++) {
#pragma HLS UNROLL
        const int lane = (b - base) & (BANKS - 1);
        if (lane < LANES && valid[lane]) {
            out[b][(base + lane) / BANKS] = val[lane];
        }
    }
}

// Burst read of a band's output back into the output banks (weights_outer: a weight slice after
// the first adds its channels to those the earlier slices stored).
template <int BANKS, int DEPTH, int MAXW>
void load_output(const word_t *mem, int src, byte_t out[BANKS][DEPTH], int out_bytes) {
    CS_LABEL(LOAD) for (int w = 0; w < words_of(out_bytes); w++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=MAXW
        CS_TRIP(LOAD);
        const word_t beat = mem[src + w];
        for (int i = 0; i < 8; i++) {
#pragma HLS UNROLL
            out[(8 * w + i) & (BANKS - 1)][(8 * w + i) / BANKS] = beat.range(8 * i + 7, 8 * i);
        }
    }
}

// Burst write of the output tensor (out_bytes bytes; the tail of the last word is zero).
template <int BANKS, int DEPTH, int MAXW>
void store_output(word_t *mem, int dst, const byte_t out[BANKS][DEPTH], int out_bytes) {
    CS_LABEL(STORE) for (int w = 0; w < words_of(out_bytes); w++) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=1 max=MAXW
        CS_TRIP(STORE);
        const int row = (8 * w) / BANKS;      // BANKS is a multiple of 8: a word lies in one row
        const int first = (8 * w) & (BANKS - 1);
        byte_t line[BANKS];
#pragma HLS ARRAY_PARTITION variable=line complete
        for (int b = 0; b < BANKS; b++) {
#pragma HLS UNROLL
            line[b] = out[b][row];
        }
        word_t beat = 0;
        for (int i = 0; i < 8; i++) {
#pragma HLS UNROLL
            if (8 * w + i < out_bytes) {
                beat.range(8 * i + 7, 8 * i) = line[first + i];
            }
        }
        mem[dst + w] = beat;
    }
}

} // namespace cs

#endif
