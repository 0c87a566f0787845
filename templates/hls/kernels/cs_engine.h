// codesign HLS kernel library: the chunk engine, the HLS twin of the RTL's chunk_engine.v.
//
// One engine per chunk, templated on the chunk only (C: rows, cols, dataflow, multiplier width,
// buffer depths), so HLS builds one R x C PE array per chunk whatever its layers. It walks the
// chunk's const layer table (one LayerDesc per layer, the RTL layer ROM's fields) and runs each
// layer as the RTL does, one step after another (a layer larger than the buffers is several rows,
// one per band x weight slice; each row's flags say which of the transfers it makes):
//   1. load the input tensor(s) of this frame (frame_base + the IR's address) into the
//      activation replicas, then the parameter block into the weight and record replicas;
//   2. compute: the GEMM engine of the chunk's dataflow, or the C vector lanes;
//   3. store the output tensor from the output banks to this frame's DRAM.
#ifndef CS_ENGINE_H
#define CS_ENGINE_H

#include "cs_gemm.h"
#include "cs_vector.h"

namespace cs {

// The units a chunk builds: only those its layers use (HAS_GEMM / HAS_VEC, as the RTL).
template <class C, bool BUILT> struct gemm_unit {
    static void run(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                    const word_t wgt[C::COLS][C::WGT_WORDS], const Record rec[C::COLS][C::REC_DEPTH],
                    byte_t out[C::OUT_BANKS][C::OUT_DEPTH]) {
        gemm_engine<C, C::DATAFLOW>::run(d, act, wgt, rec, out);
    }
};
template <class C> struct gemm_unit<C, false> {
    static void run(const LayerDesc &, const word_t[C::ACT_PORTS][C::ACT_WORDS], const word_t[C::COLS][C::WGT_WORDS],
                    const Record[C::COLS][C::REC_DEPTH], byte_t[C::OUT_BANKS][C::OUT_DEPTH]) {}
};

template <class C, bool BUILT> struct vector_unit {
    static void run(const LayerDesc &d, const word_t act[C::ACT_PORTS][C::ACT_WORDS],
                    const word_t wgt[C::COLS][C::WGT_WORDS], const Record rec[C::COLS][C::REC_DEPTH],
                    byte_t out[C::OUT_BANKS][C::OUT_DEPTH]) {
        vector_lanes<C>(d, act, wgt, rec, out);
    }
};
template <class C> struct vector_unit<C, false> {
    static void run(const LayerDesc &, const word_t[C::ACT_PORTS][C::ACT_WORDS], const word_t[C::COLS][C::WGT_WORDS],
                    const Record[C::COLS][C::REC_DEPTH], byte_t[C::OUT_BANKS][C::OUT_DEPTH]) {}
};

// One frame through the chunk's layers; frame_base is the frame's offset in DRAM (bytes, a
// multiple of 64), added to activation addresses only (the parameters are shared).
template <class C> void chunk_engine(word_t *mem, int frame_base, const LayerDesc table[C::N_LAYERS]) {
    word_t act[C::ACT_PORTS][C::ACT_WORDS];
    word_t wgt[C::COLS][C::WGT_WORDS];
    Record rec[C::COLS][C::REC_DEPTH];
    byte_t out[C::OUT_BANKS][C::OUT_DEPTH];
#pragma HLS ARRAY_PARTITION variable=act complete dim=1
#pragma HLS ARRAY_PARTITION variable=wgt complete dim=1
#pragma HLS ARRAY_PARTITION variable=rec complete dim=1
#pragma HLS ARRAY_PARTITION variable=out complete dim=1
    CS_LABEL(LAYER) for (int l = 0; l < C::N_LAYERS; l++) {
        const LayerDesc d = table[l];
        CS_TRIP(LAYER);
        if (d.flags & LOAD_IN) {
            load_replicated<C::ACT_PORTS, C::ACT_WORDS, C::ACT_WORDS>(mem, (frame_base + d.in0_addr) >> 3, act, 0,
                                                                    words_of(d.in_bytes));
        }
        if ((d.flags & LOAD_IN) && d.num_in == 2) {
            load_replicated<C::ACT_PORTS, C::ACT_WORDS, C::ACT_WORDS>(mem, (frame_base + d.in1_addr) >> 3, act,
                                                                    d.in1_off >> 3, words_of(d.in_bytes));
        }
        if (d.flags & LOAD_PARAMS) {
            load_params<C>(mem, d, wgt, rec);
        }
        if (d.flags & LOAD_OUT) {
            load_output<C::OUT_BANKS, C::OUT_DEPTH, C::OUT_WORDS>(mem, (frame_base + d.out_addr) >> 3, out, d.out_bytes);
        }
        if (d.kind == OP_GEMM || d.kind == OP_DWCONV) {
            gemm_unit<C, C::HAS_GEMM>::run(d, act, wgt, rec, out);
        } else {
            vector_unit<C, C::HAS_VEC>::run(d, act, wgt, rec, out);
        }
        if (d.flags & STORE) {
            store_output<C::OUT_BANKS, C::OUT_DEPTH, C::OUT_WORDS>(mem, (frame_base + d.out_addr) >> 3, out,
                                                                   d.out_bytes);
        }
    }
}

} // namespace cs

#endif
