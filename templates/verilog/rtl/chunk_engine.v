// One chunk's engine: per layer it loads the input tensor(s) and the parameters from DRAM into
// its on-chip buffers, computes (GEMM layers on the R x C systolic array, pool/add layers on C
// vector lanes), requantises on the way into the activation buffer, and stores the output.
// The layer table (desc, one NF x 32-bit word per row) comes from a generated ROM. A row is a
// layer, or one sub-layer (a band of output rows x a slice of output channels) of a layer that
// does not fit the buffers: its flags say which transfers it makes (an operand already on chip,
// or an output its later sub-layers complete, moves no bytes and takes no cycles) and whether it
// ends its layer; a layer's cycle counter spans all its sub-layers.
// A frame's layers run back to back (a layer's first cycle follows the previous layer's last);
// done is high in the last layer's last cycle, and a start in that cycle (or any later one)
// begins the next frame in the next cycle, so a chunk takes exactly the sum of its layer
// counters per frame. act_base (the frame's activation region) is added to the input and output
// tensor addresses, param_base (the parameter region) to the parameter address.
module chunk_engine #(
    parameter R = 4, parameter C = 4, parameter WS = 0, parameter MB = 8,
    parameter ACT_BYTES = 4096, parameter WGT_BYTES = 4096, parameter ACC_DEPTH = 64, parameter REC_DEPTH = 2,
    parameter DB = 8, parameter NL = 1, parameter NE = 1, parameter AB = 20, parameter NF = 45, parameter LUT_MULT_BITS = 4,
    // what the chunk's layers need: the array (conv/fc/dwconv), the vector lanes (pool/add), the
    // add's input scaling; synthesis drops what a chunk does not use
    parameter HAS_GEMM = 1, parameter HAS_VEC = 1, parameter HAS_ADD = 1, parameter HAS_PACK = 1,
    // a layer does two MACs per PE (OS only; HAS_PACK too: its weights are packed)
    parameter HAS_DUAL = 1,
    // a depthwise layer runs on the (OS) array: every PE reads its own activation
    parameter HAS_DW = 1
) (
    input  wire               clk,
    input  wire               rst,
    input  wire               start,
    input  wire [31:0]        act_base,
    input  wire [31:0]        param_base,
    output wire               done,
    output wire [15:0]        layer,     // the table row running
    /* verilator lint_off UNUSEDSIGNAL */  // the table keeps whole 32-bit words; narrow fields use their low bits
    input  wire [NF*32-1:0]   desc,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [NL*32-1:0]   layer_cycles,
    // DMA (AXI master side lives in axi_dma)
    output reg                dma_start,
    output reg                dma_to_dram,
    output reg  [31:0]        dma_dram_addr,
    output reg  [AB-1:0]      dma_buf_off,
    output reg  [31:0]        dma_nbytes,
    input  wire               dma_done,
    input  wire               buf_wr_en,
    input  wire [AB-1:0]      buf_addr,
    input  wire [DB*8-1:0]    buf_wr_data,
    output wire [DB*8-1:0]    buf_rd_data
);
    localparam AW = MB + 1;
    localparam DUAL = (HAS_DUAL != 0 && WS == 0) ? 1 : 0;
    localparam DW = (HAS_DW != 0 && WS == 0 && HAS_GEMM != 0) ? 1 : 0;
    localparam RBR = (DW != 0) ? C : 1;   // bytes an array row reads a cycle: a byte per column for depthwise
    localparam WW = (DUAL != 0 && MB < 8) ? 8 : MB;   // a column's weight operand: two nibbles in dual mode
    // descriptor fields
    localparam F_KIND = 0, F_IN_H = 1, F_IN_W = 2, F_IN_C = 3, F_OUT_W = 4, F_OUT_C = 5, 
               F_WIN_W = 7, F_STRIDE = 8, F_PAD = 9, F_M = 10, F_N = 11, F_K = 12, F_G = 13, F_KC = 14,
               F_ROW_STRIDE = 15, F_STEP_X = 16, F_STEP_Y = 17, F_BASE0 = 18, F_KW_STEP = 19, F_CK = 20,
               F_OUT_STEP_FOLD = 21, F_IN_SIGNED = 22, F_OUT_LO = 23, F_OUT_HI = 24, F_IN0_ADDR = 25,
               F_IN1_ADDR = 26, F_IN_BYTES = 27, F_OUT_ADDR = 28, F_OUT_BYTES = 29, F_PARAM_ADDR = 30,
               F_PARAM_BYTES = 31, F_REC_OFF = 32, F_IN1_OFF = 33, F_OUT_OFF = 34, F_NUM_IN = 35,
               F_MFOLDS = 36, F_NFOLDS = 37, F_KFOLDS = 38, F_RED = 39,
               F_VGROUPS = 40, F_IN1_SIGNED = 41, F_IY0 = 42, F_WR_OFF = 43, F_FLAGS = 44, F_W_OFF = 45,
               F_REC_ROW0 = 46, F_PF_ADDR = 47, F_PF_BYTES = 48, F_PF_WOFF = 49, F_PF_REC_OFF = 50, F_PF_REC_ROW0 = 51;
    localparam FL_IN = 0, FL_PARAMS = 1, FL_OUT = 2, FL_STORE = 3, FL_END = 4, FL_WPACK = 5, FL_DUAL = 6,
               FL_KEEP1 = 7;   // flag bits (KEEP1: an add's second input is on chip, only the first loads)
    localparam K_DW = 1, K_AVG = 2, K_MAX = 3;   // 0: conv/fc on the array, 4: add
    `define FLD(f) desc[(f)*32 +: 32]
    `define FLD16(f) desc[(f)*32 +: 16]
    wire [31:0] kind = `FLD(F_KIND);
    wire [15:0] in_h = `FLD16(F_IN_H), in_w = `FLD16(F_IN_W), out_w = `FLD16(F_OUT_W);
    wire [31:0] in_c = `FLD(F_IN_C), out_c = `FLD(F_OUT_C);
    wire [15:0] win_w = `FLD16(F_WIN_W), stride = `FLD16(F_STRIDE), pad = `FLD16(F_PAD), kc = `FLD16(F_KC);
    wire [31:0] M = `FLD(F_M), N = `FLD(F_N), K = `FLD(F_K), G = `FLD(F_G);
    wire [31:0] row_stride = `FLD(F_ROW_STRIDE), step_x = `FLD(F_STEP_X), step_y = `FLD(F_STEP_Y);
    wire [31:0] base0 = `FLD(F_BASE0), kw_step = `FLD(F_KW_STEP), ck = `FLD(F_CK);
    wire [31:0] out_step_fold = `FLD(F_OUT_STEP_FOLD);
    wire in_signed = desc[F_IN_SIGNED*32];
    wire in1_signed = desc[F_IN1_SIGNED*32];
    wire [9:0] out_lo = desc[F_OUT_LO*32 +: 10], out_hi = desc[F_OUT_HI*32 +: 10];
    wire [31:0] rec_off = `FLD(F_REC_OFF), in1_off = `FLD(F_IN1_OFF);
    wire [AB-1:0] out_off = desc[F_OUT_OFF*32 +: AB];   // the output region (the store reads it)
    wire [31:0] wr_off = `FLD(F_WR_OFF);        // where this row's output channel 0 is written
    wire [15:0] row0 = `FLD16(F_IY0);           // the first window row in image rows (a band's)
    wire [7:0] flags = desc[F_FLAGS*32 +: 8];
    wire [31:0] mfolds = `FLD(F_MFOLDS), nfolds = `FLD(F_NFOLDS), kfolds = `FLD(F_KFOLDS);
    wire [31:0] red = `FLD(F_RED);
    wire [31:0] vgroups = `FLD(F_VGROUPS);
    // where this row's parameters sit (weight buffer byte, record row), and the next row's block
    // to prefetch beside this row's compute (pf_bytes 0: none; codesign.backend.verilog.place_params)
    wire [31:0] w_off = `FLD(F_W_OFF), rec_row0 = `FLD(F_REC_ROW0);
    wire [31:0] pf_addr = `FLD(F_PF_ADDR), pf_bytes = `FLD(F_PF_BYTES), pf_woff = `FLD(F_PF_WOFF);
    wire [31:0] pf_rec_off = `FLD(F_PF_REC_OFF), pf_rec_row0 = `FLD(F_PF_REC_ROW0);
    // the weight walkers count weights: from byte w_off, or from nibble 2 w_off when the row's
    // weights lie two to a byte (FL_WPACK, codesign.cost.model.weights_per_byte)
    wire wpack = (HAS_PACK != 0) && flags[FL_WPACK];   // HAS_PACK 0: no row of the chunk is packed
    wire [31:0] w_el0 = wpack ? {w_off[30:0], 1'b0} : w_off;
    // two MACs per PE (FL_DUAL, codesign.cost.model.pe_macs): column j runs output channels n0 + j
    // (its weight in the low nibble, the PE's result) and n0 + C + j (the high nibble, result_hi), so
    // a fold covers cw = 2C channels and its weight rows are 2C nibbles (the IR's fold_layout of 2C)
    wire dual = (DUAL != 0) && wpack && flags[FL_DUAL];
    wire [31:0] cw = dual ? 2 * C : C;
    wire is_dw = (kind == K_DW);
    // depthwise on OS: N = channels, K = taps, PE (i, j) multiplies its own activation, channel
    // n0 + j of row i's pixel and tap (codesign.cost.model.engine_view);
    // on WS: G = channels GEMMs of N = 1 on column 0 (the weight loader reads the taps of one channel)
    wire dw_os = is_dw && (WS == 0);
    wire dw_ws = is_dw && (WS != 0);

    // ---------------------------------------------------------------- buffers (block RAM)
    // every read is registered: the data of an address presented in cycle t arrive in t+1.
    // activations (act_buffer): one copy per array row (row i reads copy i), copy 0 also the
    // vector lanes' C bytes and the store's DB bytes, copy 1 the add's second input; NB byte banks
    // so that the DMA's DB-byte beat and the lanes' C-byte pixel are one write each.
    // weights (byte_ram): each fold's block is laid out by column (byte (k, j) at k * nv + j, the
    // IR's layout), so one read of C consecutive bytes gives row k of the fold to all columns; column
    // j's byte is then delayed j cycles (the array's skew). records (rec_ram): a bank per lane.
    localparam NB = (C > DB) ? (1 << $clog2(C)) : DB;
    localparam COPIES = (HAS_GEMM != 0) ? ((R < 2 && HAS_ADD != 0) ? 2 : R) : ((HAS_ADD != 0) ? 2 : 1);
    localparam RB0 = (HAS_VEC != 0 && C > DB) ? C : DB;
    localparam RB1 = (HAS_ADD != 0) ? C : 1;
    wire [COPIES*AB-1:0] act_rd_addr;
    wire [COPIES*RBR*8-1:0] act_row;
    wire [RB0*8-1:0]     act_rd0;
    wire [RB1*8-1:0]     act_rd1;
    wire [AB-1:0]        row_addr [0:R-1] /* verilator split_var */;
    wire [C*64-1:0]      rec_q;
    // an activation byte as the PE's (MB+1)-bit signed operand, and as a 32-bit integer
    function [31:0] act_int(input [7:0] b, input sgn);
        act_int = sgn ? {{24{b[7]}}, b} : {24'd0, b};
    endfunction

    // ---------------------------------------------------------------- walkers
    // pixel state: {ox, ix0, iy0, base, rowbase}; reduction state: {ci, kw, kh, koff, krow}
    function [111:0] pix_init(input [31:0] b0);
        pix_init = {16'd0, -pad, row0, b0, b0};
    endfunction
    function [111:0] pix_next(input [111:0] s);
        if (s[111:96] + 16'd1 < out_w)
            pix_next = {s[111:96] + 16'd1, s[95:80] + stride, s[79:64], s[63:32] + step_x, s[31:0]};
        else
            pix_next = {16'd0, -pad, s[79:64] + stride, s[31:0] + step_y, s[31:0] + step_y};
    endfunction
    function [111:0] k_init(input [31:0] goff);
        k_init = {16'd0, 16'd0, 16'd0, goff, goff};
    endfunction
    function [111:0] k_next(input [111:0] s);
        if (s[111:96] + 16'd1 < kc)
            k_next = {s[111:96] + 16'd1, s[95:80], s[79:64], s[63:32] + 32'd1, s[31:0]};
        else if (s[95:80] + 16'd1 < win_w)
            k_next = {16'd0, s[95:80] + 16'd1, s[79:64], s[63:32] + kw_step, s[31:0]};
        else
            k_next = {16'd0, 16'd0, s[79:64] + 16'd1, s[31:0] + row_stride, s[31:0] + row_stride};
    endfunction
    // (iy0, ix0) of the pixel state plus (kh, kw) of the reduction state inside the image?
    function in_image(input [15:0] iy0, input [15:0] ix0, input [15:0] kh, input [15:0] kw);
        reg signed [15:0] iy, ix;
        begin
            iy = $signed(iy0) + $signed(kh);
            ix = $signed(ix0) + $signed(kw);
            in_image = (iy >= 0) && (iy < $signed(in_h)) && (ix >= 0) && (ix < $signed(in_w));
        end
    endfunction

    // x * k for a constant k, as shifts and adds (a multiply would take a DSP48)
    function [31:0] times_const(input [31:0] x, input integer k);
        integer b;
        begin
            times_const = 32'd0;
            for (b = 0; b < 16; b = b + 1)
                if (((k >> b) & 1) != 0) times_const = times_const + (x << b);
        end
    endfunction
    // columns of the fold whose first is n0_ (the weight block's row length; 1 for depthwise on WS)
    function [31:0] nv_of(input [31:0] n0_);
        nv_of = dw_ws ? 32'd1 : ((N - n0_ < cw) ? N - n0_ : cw);
    endfunction

    // ---------------------------------------------------------------- control
    localparam S_IDLE = 4'd0, S_DMA_GO = 4'd2, S_DMA_WAIT = 4'd3, S_GEMM = 4'd4,
               S_GEMM_TAIL = 4'd5, S_VEC = 4'd6, S_VEC_TAIL = 4'd7, S_LEND = 4'd8, S_DONE = 4'd9, S_PF_WAIT = 4'd10;
    reg [3:0] state;
    reg [15:0] lidx;         // the table row
    reg [7:0] cidx;          // the layer whose counter runs
    localparam D_IN0 = 3'd0, D_IN1 = 3'd1, D_PARAMS = 3'd2, D_OUT = 3'd3, D_NONE = 3'd4, D_STORE = 3'd5;
    reg [2:0] dma_step;      // the transfer in flight (D_OUT: the output read back before a slice adds its channels)
    reg [31:0] cyc;
    reg [NL*32-1:0] cycles;
    assign layer = lidx;
    assign done = (state == S_LEND) && (lidx + 1 == NE);
    // the first transfer of this row at or after step st that moves bytes (D_NONE: none left);
    // every row loads something (codesign.backend.verilog.sub_layer_fields)
    function [2:0] next_load(input [2:0] st);
        if (st == D_IN0 && flags[FL_IN]) next_load = D_IN0;
        else if (st <= D_IN1 && flags[FL_IN] && `FLD(F_NUM_IN) == 2 && !flags[FL_KEEP1]) next_load = D_IN1;
        else if (st <= D_PARAMS && flags[FL_PARAMS]) next_load = D_PARAMS;
        else if (st <= D_OUT && flags[FL_OUT]) next_load = D_OUT;
        else next_load = D_NONE;
    endfunction
    wire [2:0] go_step = (dma_step == D_STORE) ? D_STORE : next_load(dma_step);
    // the row's operands are in (its last load is done, or it loads nothing): compute starts, and
    // the next row's parameters start loading beside it (pf_busy until that transfer is done)
    wire compute_go = (state == S_DMA_WAIT && dma_done && dma_step != D_STORE && next_load(dma_step + 3'd1) == D_NONE)
                      || (state == S_DMA_GO && go_step == D_NONE);
    wire pf_go = compute_go && pf_bytes != 0;
    reg pf_busy;
    assign layer_cycles = cycles;
    genvar gi, gj;

    // GEMM fold state
    reg [31:0] tc, g, mf, nf, kf, m0, k0, n0, wbase, wbase_g, obase;
    reg [111:0] pix0, kst0, pixw, kw_s;
    // a fold ends when its last operand leaves the array's bottom-right PE (fold_done); the
    // layer's GEMM part ends when the last fold's last result has passed the requantisers and
    // been written (a token that travels beside the results: out_tok)
    wire fold_done;
    reg [3:0] out_tok;
    wire last_fold = WS ? (kf + 1 == kfolds && nf + 1 == nfolds && g + 1 == G)
                        : (nf + 1 == nfolds && mf + 1 == mfolds && g + 1 == G);
    wire [31:0] ch_base = dw_ws ? g : n0;   // output channel of column 0
    // a depthwise layer on OS: the fold of columns n0 .. reads input channels n0 .. n0 + C - 1
    // (a byte per column), so its reduction walker starts at channel offset n0 (the next fold's:
    // goff_next); other OS layers' start at 0
    wire [31:0] goff_next = (dw_os && nf + 1 < nfolds) ? n0 + C : 32'd0;
    // OS folds run back to back: the next fold's operands follow the last one's at once, and only
    // its last operand waits, for two events: the previous fold's results have reached the drain
    // bank (fold_done; until then the PEs' result registers hold them), and the row walkers' chain
    // holds this fold's pixels (row R - 1 steps from row 0's state of R - 1 cycles ago, which the
    // next M tile's first pixel is computed from). The walker then moves on (os_next) and the fold's
    // place in the output waits for its fold_done in q_* (at most one fold is in the array).
    // OS drain: the finished fold's R x C results (dual: and its R x C second results, drained after
    // them), one row of C lanes per cycle: d_row counts the drain's rows, d_pix the row in its half
    localparam BANK_ROWS = (DUAL != 0) ? 2 * R : R;
    reg [BANK_ROWS*C*32-1:0] bank;
    reg [31:0] d_row, d_pix, d_m0, d_ch, d_addr, d_addr0;
    reg d_busy, d_last, d_hi;
    reg fold_open;    // OS: a fold's operands are all issued and its results are not yet in the bank
    reg [31:0] fc;    // OS: cycles since the fold's first operand
    reg [31:0] q_m0, q_ch, q_obase, q_nf;
    reg q_last;
    // In dual mode the drain takes 2R cycles, so the last operand also waits until the bank will
    // have drained the previous fold when this one's results arrive (FOLD_LAT cycles after it: the
    // buffer's read, the operand register, R + C - 2 hops, the PE's result register).
    localparam FOLD_LAT = R + C + 1;
    wire drain_hold = dual && (fold_done ? (FOLD_LAT < 2 * R) : (d_busy && d_row + 1 + FOLD_LAT < 2 * R));
    wire os_hold = (WS == 0) && (tc == K - 1) && ((fold_open && !fold_done) || fc + 1 < R || drain_hold);
    wire issue = in_gemm && !os_hold;
    wire os_next = (WS == 0) && issue && (tc == K - 1);

    // ---- row walkers: row i reads its operand i cycles after row 0 (the array's skew), from its
    // own registered state, one step from row i-1's: OS rows hold consecutive output pixels
    // (pix_next per row) and share the reduction index; WS rows hold consecutive reduction
    // indices (k_next per row) and share the pixel. No chain through the rows within a cycle.
    wire in_gemm = (HAS_GEMM != 0) && (state == S_GEMM);
    wire in_vec = (HAS_VEC != 0) && (state == S_VEC);
    wire a_valid = issue && (WS ? (tc >= R && tc - R < M) : (tc < K));
    wire [111:0] row_ps [0:R-1] /* verilator split_var */;
    wire [111:0] row_ks [0:R-1] /* verilator split_var */;
    wire [31:0]  row_idx [0:R-1] /* verilator split_var */;   // OS: output pixel m, WS: reduction index k
    wire [R-1:0] row_v, row_f, row_l;
    wire [R*AW-1:0] a_rows;
    wire [R*C*AW-1:0] a_direct;   // depthwise: PE (i, j)'s own activation
    reg  [R-1:0] a_v_q, a_f_q, a_l_q;
    assign row_ps[0] = WS ? pixw : pix0;
    assign row_ks[0] = WS ? kst0 : kw_s;
    assign row_idx[0] = WS ? k0 : m0;
    assign row_v[0] = a_valid;
    assign row_f[0] = issue && (tc == 0);
    assign row_l[0] = issue && (WS ? (tc == R + M - 1) : (tc == K - 1));
    generate for (gi = 0; gi < R; gi = gi + 1) begin : g_rows
        if (gi > 0) begin : g_stage
            reg [111:0] ps_r, ks_r;
            reg [31:0] idx_r;
            reg v_r, f_r, l_r;
            always @(posedge clk) begin
                ps_r <= WS ? row_ps[gi-1] : pix_next(row_ps[gi-1]);
                ks_r <= WS ? k_next(row_ks[gi-1]) : row_ks[gi-1];
                idx_r <= row_idx[gi-1] + 1;
                {v_r, f_r, l_r} <= {row_v[gi-1], row_f[gi-1], row_l[gi-1]};
            end
            assign row_ps[gi] = ps_r;
            assign row_ks[gi] = ks_r;
            assign row_idx[gi] = idx_r;
            assign {row_v[gi], row_f[gi], row_l[gi]} = {v_r, f_r, l_r};
        end
        wire [111:0] ps = row_ps[gi];
        wire [111:0] ks = row_ks[gi];
        wire [31:0] ra = ps[63:32] + ks[63:32];
        assign row_addr[gi] = ra[AB-1:0];
        wire ok = row_v[gi] && (row_idx[gi] < (WS ? K : M)) && in_image(ps[79:64], ps[95:80], ks[79:64], ks[95:80]);
        // the operand: the byte read from this row's copy, masked to 0 outside the image or the
        // GEMM, into the operand register (a_r) so that the PE's multiplier starts at a flip-flop,
        // not at the block RAM's slow output; the flags wait two cycles to stay beside it
        wire [RBR*8-1:0] a_all = (gi < COPIES) ? act_row[(gi < COPIES ? gi : 0)*RBR*8 +: RBR*8] : {RBR*8{1'b0}};
        wire [7:0] a_q = a_all[7:0];
        reg ok_q, v_p, f_p, l_p;
        always @(posedge clk) begin
            ok_q <= ok;
            {v_p, f_p, l_p} <= {row_v[gi], row_f[gi], row_l[gi]};
            {a_v_q[gi], a_f_q[gi], a_l_q[gi]} <= {v_p, f_p, l_p};
        end
        wire [31:0] v32 = act_int(ok_q ? a_q : 8'd0, in_signed);
        reg [AW-1:0] a_r;
        always @(posedge clk) a_r <= v32[AW-1:0];
        assign a_rows[gi*AW +: AW] = a_r;
        wire _unused_row = &{1'b0, v32[31:AW], ps[111:96], ps[31:0], ks[111:96], ks[31:0], ra[31:AB]};
        // depthwise: byte j of the row's read (channel n0 + j) for PE (i, j), through its own
        // operand register, delayed j cycles as the row's operand reaches column j
        if (DW != 0) begin : g_direct
            for (gj = 0; gj < C; gj = gj + 1) begin : g_pe_a
                wire [31:0] d32 = act_int(ok_q ? a_all[gj*8 +: 8] : 8'd0, in_signed);
                reg [AW-1:0] d_r;
                always @(posedge clk) d_r <= d32[AW-1:0];
                delay_line #(.W(AW), .D(gj)) u_adl (.clk(clk), .in(d_r), .out(a_direct[(gi*C+gj)*AW +: AW]));
                wire _unused_d = &{1'b0, d32[31:AW]};
            end
        end else begin : g_no_direct
            assign a_direct[gi*C*AW +: C*AW] = {C*AW{1'b0}};
        end
    end endgenerate
    // ---- columns (weight_columns.v): the weight buffer and the C column operand paths
    wire [C*WW-1:0] b_cols;
    wire [C-1:0] w_load_q;
    wire [31:0] kk0 = WS ? k0 + (R - 1 - tc) : tc;
    wire col_v0 = issue && (WS ? (tc < R) && (kk0 < K) : (tc < K));
    wire col_w0 = in_gemm && WS && (tc < R);
    // the PEs take the layer's mode from a register: off the path from the layer table's row mux
    // through the multiplier's operand select (ulx3s: lidx -> flags -> MULT18X18D -> sum, 21.7 ns);
    // it is valid from the row's second cycle, before any operand reaches the array
    reg dual_q, dw_q;
    always @(posedge clk) {dual_q, dw_q} <= {dual, dw_os};
    wire [R*C*32-1:0] results, results_hi;
    wire [C-1:0] valid_bottom;
    generate if (HAS_GEMM != 0) begin : g_array
        systolic_array #(.R(R), .C(C), .AW(AW), .WW(WW), .MB(MB), .WS(WS), .LUT_MULT_BITS(LUT_MULT_BITS),
                         .DUAL(DUAL), .DW(DW)) u_array (
            .clk(clk), .dual(dual_q), .dw(dw_q), .a_direct(a_direct), .a_rows(a_rows), .a_valid(a_v_q), .a_first(a_f_q), .a_last(a_l_q),
            .b_cols(b_cols), .w_load(w_load_q), .results(results), .results_hi(results_hi), .fold_done(fold_done),
            .valid_bottom(valid_bottom));
    end else begin : g_no_array
        assign results = {R*C*32{1'b0}};
        assign results_hi = {R*C*32{1'b0}};
        assign fold_done = 1'b0;
        assign valid_bottom = {C{1'b0}};
        wire _unused_array = &{1'b0, a_rows, b_cols, a_v_q, a_f_q, a_l_q, w_load_q, dual_q, dw_q, a_direct};
    end endgenerate

    // ---------------------------------------------------------------- requantiser inputs
    wire [C-1:0]  rq_pending;   // a lane's value is inside its requantiser
    wire [C-1:0]  wr_valid;
    wire [7:0]    wr_byte [0:C-1];
    wire [AB-1:0] wr_addr [0:C-1];

    // vector unit: a group is one output pixel's channel tile c0 .. c0 + C - 1 (lane j: channel
    // c0 + j), so all lanes share one pixel walker (vpix) and one reduction walker, and read C
    // consecutive bytes; ceil(out_c / C) groups per output pixel
    reg [31:0] v, rcount, c0, c0row, vobase, vkh, vkw, roff, rrow;
    reg [111:0] vpix;
    wire v_in = in_image(vpix[79:64], vpix[95:80], vkh[15:0], vkw[15:0]);
    wire [31:0] v_addr0 = vpix[63:32] + roff + c0;   // lane 0's input byte
    // the add's second input: its offset registered, so that the layer table's row mux stays off
    // this address path (ulx3s: lidx -> table -> adders -> a far bank ran 20.2 ns); the row's
    // offset is in the register from the cycle after the row starts, before any S_VEC cycle
    reg [31:0] in1_off_q;
    always @(posedge clk) in1_off_q <= in1_off;
    wire [31:0] v_addr1 = v_addr0 + in1_off_q;
    wire _unused_v = &{1'b0, vpix[111:96], vpix[31:0], vkh[31:16], vkw[31:16], v_addr0[31:AB], v_addr1[31:AB]};
    // the lanes work two cycles behind the walker: the buffer's registered read, then the lanes'
    // operand registers (xr, yr), so that the add's multipliers start at a flip-flop, not at the
    // block RAM's slow output. s1_* is the walker's step of the previous cycle (its bytes on the
    // buffer's outputs now), s2_* the one before (its bytes in the operand registers)
    reg s1_v, s1_first, s1_in, s1_last, s2_v, s2_first, s2_in, s2_last, vec_q;
    reg [31:0] s1_c0, s1_obase, s2_c0, s2_obase, c0row_q;
    always @(posedge clk) begin
        s1_v <= in_vec && !rst;
        s1_first <= (rcount == 0);
        s1_in <= v_in;
        s1_last <= (rcount + 1 == red);
        s1_c0 <= c0;
        s1_obase <= vobase;
        {s2_v, s2_first, s2_in, s2_last} <= {s1_v && !rst, s1_first, s1_in, s1_last};
        s2_c0 <= s1_c0;
        s2_obase <= s1_obase;
        vec_q <= in_vec;
        c0row_q <= c0row;
    end
    // the add layer's two input multipliers: the first 8 bytes of its parameter block
    reg [31:0] add_w;
    wire signed [15:0] add_m0 = add_w[15:0];
    wire signed [15:0] add_m1 = add_w[31:16];
    // the records: every bank reads word rec_row, the channel tile of the value entering the
    // requantisers two cycles later (the vector lanes' a cycle after their walker: c0row_q) (the walker's tile; the fold's, or the drain's); the block
    // RAM's data go to a register (rec_r), so the requantiser's path starts at a flip-flop.
    // A depthwise layer on WS: lane 0 takes bank g mod C (rec_sel), row g div C.
    reg [31:0] d_crow, gdiv, gmod, rec_sel;
    wire d_end = (d_pix + 1 == R) && (!dual || d_hi);   // the drain's last row
    wire early = WS || fold_done;   // OS: the drain starts the cycle after fold_done
    // dual: fold nf's channels are tiles 2 nf (the drain's first R rows) and 2 nf + 1 (the next R)
    wire [31:0] q_tile = dual ? {q_nf[30:0], 1'b0} : q_nf;
    wire d_next_hi = dual && (d_hi || d_pix + 1 == R);   // the record read now is for the drain's next row
    wire [31:0] rec_row = rec_row0 + (vec_q ? c0row_q : (early ? (dw_ws ? gdiv : (WS ? nf : q_tile))
                                                               : d_crow + {31'd0, d_next_hi}));
    always @(posedge clk) rec_sel <= gmod;
    wire _unused_sel = &{1'b0, rec_sel};

    wire d_row_ok = (d_m0 + d_pix < M);
    generate for (gj = 0; gj < C; gj = gj + 1) begin : g_lane
        wire [7:0] x_byte = (gj < RB0) ? act_rd0[(gj < RB0 ? gj : 0)*8 +: 8] : 8'd0;
        wire [7:0] y_byte = (gj < RB1) ? act_rd1[(gj < RB1 ? gj : 0)*8 +: 8] : 8'd0;
        // a depthwise layer on WS: lane 0 takes the record of bank g mod C (rec_sel)
        wire [63:0] rec_in = (gj == 0 && dw_ws) ? rec_q[rec_sel[$clog2(C > 1 ? C : 2)-1:0]*64 +: 64] : rec_q[gj*64 +: 64];
        lane #(.J(gj), .WS(WS), .ACC_DEPTH(ACC_DEPTH), .AB(AB), .HAS_ADD(HAS_ADD)) u_lane (
            .clk(clk), .d_busy(d_busy), .d_row_ok(d_row_ok), .d_ch(d_ch), .d_addr(d_addr),
            .d_acc(bank[gj * 32 +: 32]), .N(N),   // the bank shifts up a row per drain cycle
            .in_gemm(in_gemm), .valid_bottom(valid_bottom[gj]), .psum(results[((R - 1) * C + gj) * 32 +: 32]),
            .kf_first(kf == 0), .kf_last(kf + 1 == kfolds), .ch_ok(dw_ws ? gj == 0 : ch_base + gj < N),
            .restart(in_gemm && WS && tc == 0), .lane_addr0(wr_off + ch_base), .out_c(out_c),
            .vec_busy(s1_v | s2_v), .s2_v(s2_v), .s2_first(s2_first), .s2_last(s2_last), .s2_in(s2_in),
            .s2_c0(s2_c0), .v_addr0(wr_off + s2_obase), .x_byte(x_byte), .y_byte(y_byte), .in_signed(in_signed),
            .in1_signed(in1_signed), .is_avg(kind == K_AVG), .is_max(kind == K_MAX), .add_m0(add_m0), .add_m1(add_m1),
            .rec_in(rec_in), .out_lo(out_lo), .out_hi(out_hi),
            .pending(rq_pending[gj]), .wr_valid(wr_valid[gj]), .wr_byte(wr_byte[gj]), .wr_addr(wr_addr[gj]));
    end endgenerate
    wire rq_busy = |rq_pending;

    // ---------------------------------------------------------------- the buffers
    // the lanes' writes: one output pixel's C bytes in one cycle. WS lanes finish a pixel skewed a
    // cycle per column, so during the GEMM lane j's write waits C-1-j cycles and all C meet.
    wire gemm_phase = (WS != 0) && (state == S_GEMM || state == S_GEMM_TAIL);
    wire [C-1:0]   lw_v;
    wire [C*8-1:0] lw_b;
    generate for (gj = 0; gj < C; gj = gj + 1) begin : g_lane_wr
        wire [8:0] dl;
        delay_line #(.W(9), .D(WS != 0 ? C - 1 - gj : 0)) u_dl (.clk(clk), .in({wr_valid[gj], wr_byte[gj]}), .out(dl));
        assign lw_v[gj] = gemm_phase ? dl[8] : wr_valid[gj];
        assign lw_b[gj*8 +: 8] = gemm_phase ? dl[7:0] : wr_byte[gj];
    end endgenerate
    wire [AB-1:0] lane_base = gemm_phase ? wr_addr[C-1] - AB'(C - 1) : wr_addr[0];
    // one write port: the DMA's load (input tensors) or the lanes
    wire dma_act_wr = buf_wr_en && dma_step != D_PARAMS;
    wire [NB-1:0] dma_mask = NB'({DB{1'b1}});
    wire [NB-1:0] lane_mask = NB'(lw_v);
    wire [NB*8-1:0] dma_data = (NB*8)'(buf_wr_data);
    wire [NB*8-1:0] lane_data = (NB*8)'(lw_b);
    // the readers: copy 0 the rows' row 0, the vector lanes or the store; copy 1 row 1 or the add's
    // second input; copy i > 1 row i
    generate for (gi = 0; gi < COPIES; gi = gi + 1) begin : g_rd_addr
        wire [AB-1:0] row_a = (HAS_GEMM != 0 && gi < R) ? row_addr[gi < R ? gi : 0] : {AB{1'b0}};
        if (gi == 0) begin : g_c0
            assign act_rd_addr[0 +: AB] = in_vec ? v_addr0[AB-1:0] : (in_gemm ? row_a : buf_addr);
        end else if (gi == 1) begin : g_c1
            assign act_rd_addr[AB +: AB] = in_vec ? v_addr1[AB-1:0] : row_a;
        end else begin : g_cn
            assign act_rd_addr[gi*AB +: AB] = row_a;
        end
    end endgenerate
    act_buffer #(.BYTES(ACT_BYTES), .NB(NB), .COPIES(COPIES), .RB0(RB0), .RB1(RB1), .RBR(RBR), .AB(AB)) u_act (
        .clk(clk), .wr_addr(dma_act_wr ? buf_addr : lane_base), .wr_mask(dma_act_wr ? dma_mask : lane_mask),
        .wr_data(dma_act_wr ? dma_data : lane_data), .rd_addr(act_rd_addr), .rd_row(act_row), .rd0(act_rd0),
        .rd1(act_rd1));
    assign buf_rd_data = act_rd0[DB*8-1:0];
    // the parameter block: weights (below rec_off) into the weight buffer, then one record a beat
    wire param_wr = buf_wr_en && dma_step == D_PARAMS;
    wire wgt_wr = param_wr && ({{(32-AB){1'b0}}, buf_addr} < (pf_busy ? pf_woff + pf_rec_off : w_off + rec_off));
    reg [31:0] wra, nv, wk;      // weight row address, columns of the fold (nv), WS: the K tile's row 0
    generate if (HAS_GEMM != 0) begin : g_wgt
        weight_columns #(.C(C), .WW(WW), .NB(NB), .WGT_BYTES(WGT_BYTES), .AB(AB), .HAS_PACK(HAS_PACK), .DUAL(DUAL)) u_cols (
            .clk(clk), .wr_addr(buf_addr), .wr_mask(wgt_wr ? dma_mask : {NB{1'b0}}), .wr_data(dma_data), .wra(wra),
            .wpack(wpack), .dual(dual), .n0(n0), .v0(col_v0), .w0(col_w0), .N(N), .dw_ws(dw_ws),
            .b_cols(b_cols), .w_load(w_load_q));
    end else begin : g_no_wgt
        assign b_cols = {C*WW{1'b0}};
        assign w_load_q = {C{1'b0}};
        wire _unused_wgt = &{1'b0, wgt_wr, wra, wk, wpack, col_v0, col_w0};
    end endgenerate
    reg [31:0] rec_bank, rec_wrow;
    localparam RPB = DB / 8;     // records per DMA beat
    rec_ram #(.C(C), .DEPTH(REC_DEPTH), .RPB(RPB)) u_rec (
        .clk(clk), .wr_en(param_wr && !wgt_wr), .wr_bank(rec_bank), .wr_row(rec_wrow), .wr_data(buf_wr_data),
        .rd_row(rec_row), .out(rec_q));
    always @(posedge clk) begin
        if (param_wr && buf_addr == {AB{1'b0}} && !pf_busy) add_w <= buf_wr_data[31:0];
        if (pf_go) begin
            rec_bank <= 0;
            rec_wrow <= pf_rec_row0;
        end else if (state == S_DMA_GO) begin
            rec_bank <= 0;
            rec_wrow <= rec_row0;
        end else if (param_wr && !wgt_wr) begin
            rec_bank <= (rec_bank + RPB >= C) ? rec_bank + RPB - C : rec_bank + RPB;   // RPB <= C
            if (rec_bank + RPB >= C) rec_wrow <= rec_wrow + 1;
        end
    end

    // ---------------------------------------------------------------- the sequencer
    // the fold walkers' first state (the row's weights at w_off), the first state of the unit the
    // row runs on, and the next row's parameter prefetch (pf_go)
    task start_compute;
        begin
            tc <= 0; fc <= 0; g <= 0; mf <= 0; nf <= 0; kf <= 0; m0 <= 0; k0 <= 0; n0 <= 0;
            wbase <= w_el0; wbase_g <= w_el0; obase <= 0; gdiv <= 0; gmod <= 0; c0row <= 0;
            nv <= nv_of(0); wk <= w_el0; wra <= w_el0 + (WS ? times_const(nv_of(0), R - 1) : 32'd0);
            pix0 <= pix_init(base0); pixw <= pix_init(base0);
            kst0 <= k_init(0); kw_s <= k_init(0);
            v <= 0; rcount <= 0; c0 <= 0; vobase <= 0; vkh <= 0; vkw <= 0; roff <= 0; rrow <= 0;
            vpix <= pix_init(base0);
            state <= (HAS_GEMM != 0 && (kind <= K_DW || HAS_VEC == 0)) ? S_GEMM : S_VEC;
            if (pf_bytes != 0) begin
                dma_start <= 1'b1;
                dma_to_dram <= 1'b0;
                dma_step <= D_PARAMS;
                dma_dram_addr <= param_base + pf_addr;
                dma_buf_off <= pf_woff[AB-1:0];
                dma_nbytes <= pf_bytes;
                pf_busy <= 1'b1;
            end
        end
    endtask
    // the compute is done: store (or end the row) once the prefetch is in too
    task finish_compute;
        begin
            if (pf_busy) begin
                state <= S_PF_WAIT;
            end else begin
                dma_step <= D_STORE;
                state <= flags[FL_STORE] ? S_DMA_GO : S_LEND;
            end
        end
    endtask
    always @(posedge clk) begin
        dma_start <= 1'b0;
        cyc <= cyc + 1;
        if (pf_busy && dma_done) pf_busy <= 1'b0;
        // the last result enters the requantisers: OS the last fold's last drain row, WS the
        // last fold's last partial sum (both lanes' pipelines: rq_valid, rq_valid_q, wr_valid, the write)
        out_tok <= {out_tok[2:0], WS ? (in_gemm && fold_done && last_fold) : (d_busy && d_last && d_end)};
        if (rst) begin
            state <= S_IDLE;
            d_busy <= 1'b0;
            out_tok <= 4'd0;
            pf_busy <= 1'b0;
            fold_open <= 1'b0;
        end else begin
            if (os_next) fold_open <= 1'b1;
            else if (fold_done) fold_open <= 1'b0;
            // OS drain runs beside the folds
            if (fold_done && !WS) begin
                bank <= (DUAL != 0) ? (BANK_ROWS*C*32)'({results_hi, results}) : (BANK_ROWS*C*32)'(results);
                d_busy <= 1'b1;
                d_row <= 0;
                d_pix <= 0;
                d_hi <= 1'b0;
                d_m0 <= q_m0;
                d_ch <= q_ch;
                d_addr <= wr_off + q_obase + q_ch;
                d_addr0 <= wr_off + q_obase + q_ch + C;
                d_crow <= q_tile;
                d_last <= q_last;
            end else if (d_busy) begin
                bank <= bank >> (C * 32);
                d_row <= d_row + 1;
                if (d_pix + 1 == R) begin   // the second half (dual): channels + C, from the fold's first pixel
                    d_pix <= 0;
                    d_hi <= 1'b1;
                    d_ch <= d_ch + C;
                    d_addr <= d_addr0;
                end else begin
                    d_pix <= d_pix + 1;
                    d_addr <= d_addr + out_c;
                end
                if (d_end) d_busy <= 1'b0;
            end
            case (state)
                S_IDLE, S_DONE: if (start) begin
                    lidx <= 0;
                    cidx <= 0;
                    cyc <= 1;
                    dma_step <= D_IN0;
                    state <= S_DMA_GO;
                end
                S_DMA_GO: if (compute_go) begin   // nothing to load (input on chip, parameters prefetched)
                    start_compute;
                end else begin   // the row's next transfer that moves bytes (go_step), no cycle for the others
                    dma_start <= 1'b1;
                    dma_to_dram <= (go_step == D_STORE);
                    dma_step <= go_step;
                    case (go_step)
                        D_IN0: begin   // KEEP1: the first input goes where the walker reads it, beside the kept one
                            dma_dram_addr <= act_base + `FLD(F_IN0_ADDR); dma_nbytes <= `FLD(F_IN_BYTES);
                            dma_buf_off <= flags[FL_KEEP1] ? base0[AB-1:0] : {AB{1'b0}};
                        end
                        D_IN1: begin dma_dram_addr <= act_base + `FLD(F_IN1_ADDR); dma_buf_off <= in1_off[AB-1:0]; dma_nbytes <= `FLD(F_IN_BYTES); end
                        D_PARAMS: begin dma_dram_addr <= param_base + `FLD(F_PARAM_ADDR); dma_buf_off <= w_off[AB-1:0]; dma_nbytes <= `FLD(F_PARAM_BYTES); end
                        default: begin dma_dram_addr <= act_base + `FLD(F_OUT_ADDR); dma_buf_off <= out_off; dma_nbytes <= `FLD(F_OUT_BYTES); end
                    endcase
                    state <= S_DMA_WAIT;
                end
                S_DMA_WAIT: if (dma_done) begin
                    if (dma_step == D_STORE) begin
                        state <= S_LEND;
                    end else if (compute_go) begin   // the operands are in
                        start_compute;
                    end else begin
                        dma_step <= dma_step + 3'd1;
                        state <= S_DMA_GO;
                    end
                end
                S_GEMM: if (os_hold) begin
                    fc <= fc + 1;
                end else begin
                    tc <= tc + 1;
                    fc <= os_next ? 32'd0 : fc + 1;
                    if (os_next) begin
                        q_m0 <= m0; q_ch <= ch_base; q_obase <= obase; q_nf <= nf; q_last <= last_fold;
                    end
                    if (!WS) begin
                        wra <= wra + nv;
                    end else if (tc < R) wra <= wra - nv;
                    if (WS && tc >= R) pixw <= pix_next(pixw);
                    if (!WS && tc < K) kw_s <= k_next(kw_s);
                    if (WS ? fold_done : os_next) begin
                        tc <= 0;
                        pixw <= pix_init(base0);
                        kw_s <= k_init(goff_next);
                        if (last_fold) state <= S_GEMM_TAIL;
                        if (WS) begin
                            if (kf + 1 < kfolds) begin
                                kf <= kf + 1; k0 <= k0 + R; kst0 <= k_next(row_ks[R-1]);
                                wk <= wk + times_const(nv, R); wra <= wk + times_const(nv, 2 * R - 1);
                            end else begin
                                kf <= 0; k0 <= 0; kst0 <= k_init(g);
                                if (nf + 1 < nfolds) begin
                                    nf <= nf + 1; n0 <= n0 + C; wbase <= wbase + ck;
                                    nv <= nv_of(n0 + C); wk <= wbase + ck; wra <= wbase + ck + times_const(nv_of(n0 + C), R - 1);
                                end else begin
                                    nf <= 0; n0 <= 0; g <= g + 1; wbase_g <= wbase_g + K;
                                    wbase <= wbase_g + K; kst0 <= k_init(g + 1);
                                    nv <= nv_of(0); wk <= wbase_g + K; wra <= wbase_g + K + times_const(nv_of(0), R - 1);
                                    gmod <= (gmod + 1 == C) ? 32'd0 : gmod + 1;
                                    if (gmod + 1 == C) gdiv <= gdiv + 1;
                                end
                            end
                        end else begin
                            if (nf + 1 < nfolds) begin
                                nf <= nf + 1; n0 <= n0 + cw; wbase <= wbase + ck;
                                nv <= nv_of(n0 + cw); wra <= wbase + ck;
                            end else begin
                                nf <= 0; n0 <= 0; wbase <= wbase_g; nv <= nv_of(0); wra <= wbase_g;
                                if (mf + 1 < mfolds) begin
                                    mf <= mf + 1; m0 <= m0 + R; obase <= obase + out_step_fold;
                                    pix0 <= pix_next(row_ps[R-1]);
                                end else begin
                                    mf <= 0; m0 <= 0; obase <= 0; pix0 <= pix_init(base0);
                                    g <= g + 1; wbase_g <= wbase_g + K; wbase <= wbase_g + K;
                                    wra <= wbase_g + K;
                                end
                            end
                        end
                    end
                end
                S_GEMM_TAIL: if (out_tok[3]) finish_compute;
                S_VEC: begin
                    if (rcount + 1 < red) begin
                        rcount <= rcount + 1;
                        if (vkw + 1 < win_w) begin
                            vkw <= vkw + 1; roff <= roff + in_c;
                        end else begin
                            vkw <= 0; vkh <= vkh + 1; roff <= rrow + row_stride; rrow <= rrow + row_stride;
                        end
                    end else begin
                        rcount <= 0; vkw <= 0; vkh <= 0; roff <= 0; rrow <= 0;
                        if (c0 + C < out_c) begin
                            c0 <= c0 + C; c0row <= c0row + 1;
                        end else begin
                            c0 <= 0; c0row <= 0; vpix <= pix_next(vpix); vobase <= vobase + out_c;
                        end
                        v <= v + 1;
                        if (v + 1 == vgroups) state <= S_VEC_TAIL;
                    end
                end
                S_VEC_TAIL: if (!rq_busy) finish_compute;
                S_PF_WAIT: if (!pf_busy) finish_compute;
                S_LEND: begin
                    if (flags[FL_END]) begin   // the layer's last row: its counter spans all its rows
                        cycles[cidx*32 +: 32] <= cyc;
                        cyc <= 1;
                        cidx <= (lidx + 1 < NE) ? cidx + 8'd1 : 8'd0;
                    end
                    dma_step <= D_IN0;
                    if (lidx + 1 < NE) begin
                        lidx <= lidx + 1;
                        state <= S_DMA_GO;
                    end else if (start) begin   // the next frame, back to back
                        lidx <= 0;
                        state <= S_DMA_GO;
                    end else begin
                        state <= S_DONE;
                    end
                end
                default: state <= S_IDLE;
            endcase
        end
    end
    `undef FLD
    `undef FLD16
endmodule
