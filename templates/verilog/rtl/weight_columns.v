// The weight side of a chunk's array: the weight buffer (byte_ram, written by the parameter DMA)
// and the C column operand paths. In cycle t the buffer reads row kk0 of the fold (C bytes at
// wra, the register that steps by nv a cycle); column j uses its byte j cycles later (a delay
// line), with its flags and N index from its own registered stage (no chain through the columns).
// Packed weights (wpack): wra counts weights, the buffer is read at wra / 2, and column j takes
// nibble j of the bytes read (nibble j + 1 when the row starts at an odd weight), sign-extended;
// with two MACs per PE (dual) also nibble C + j (+ 1), its second channel, into the high nibble.
// A depthwise layer on OS reads a row of taps like any other layer (its PEs read their own
// activations); on WS only column 0 takes weights, and w0 marks the cycles that shift weights
// down the columns.
module weight_columns #(
    parameter C = 4, parameter WW = 8, parameter NB = 8, parameter WGT_BYTES = 4096, parameter AB = 20,
    parameter HAS_PACK = 1, parameter DUAL = 0
) (
    input  wire              clk,
    input  wire [AB-1:0]     wr_addr,    // the parameter DMA's write
    input  wire [NB-1:0]     wr_mask,
    input  wire [NB*8-1:0]   wr_data,
    input  wire [31:0]       wra,        // the fold row's first weight (byte, or nibble when wpack)
    input  wire              wpack,
    input  wire              dual,
    input  wire [31:0]       n0,         // column 0's output channel
    input  wire              v0,         // column 0's operand is valid
    input  wire              w0,         // WS: column 0 shifts its weights down
    input  wire [31:0]       N,
    input  wire              dw_ws,
    output wire [C*WW-1:0]   b_cols,
    output reg  [C-1:0]      w_load
);
    // ---- the buffer and the unpacking of its C bytes into the columns' bytes (wgt_q)
    wire [AB:0] wra_w = wra[AB:0];
    wire _unused_wra = &{1'b0, wra[31:AB+1]};
    wire [C*8-1:0] wgt_raw, wgt_q;
    reg pack_q, odd_q, dual_q;
    always @(posedge clk) {pack_q, odd_q, dual_q} <= {wpack, wpack && wra_w[0], dual};
    byte_ram #(.BYTES(WGT_BYTES), .NB(NB), .RB(C), .AB(AB)) u_wgt (
        .clk(clk), .wr_addr(wr_addr), .wr_mask(wr_mask), .wr_data(wr_data),
        .rd_addr(wpack ? wra_w[AB:1] : wra_w[AB-1:0]), .rd_data(wgt_raw));
    genvar gj;
    generate if (HAS_PACK != 0) begin : g_pack
        for (gj = 0; gj < C; gj = gj + 1) begin : g_unpack
            wire [3:0] nib_even = wgt_raw[(gj / 2) * 8 + (gj % 2) * 4 +: 4];
            wire [3:0] nib_odd = wgt_raw[((gj + 1) / 2) * 8 + ((gj + 1) % 2) * 4 +: 4];
            wire [3:0] nib = odd_q ? nib_odd : nib_even;
            localparam integer HI_E = C + gj, HI_O = (C + gj + 1 < 2 * C) ? C + gj + 1 : C + gj;
            wire [3:0] hi_even = wgt_raw[(HI_E / 2) * 8 + (HI_E % 2) * 4 +: 4];
            wire [3:0] hi_odd = wgt_raw[(HI_O / 2) * 8 + (HI_O % 2) * 4 +: 4];
            wire [3:0] nib_hi = (DUAL != 0 && dual_q) ? (odd_q ? hi_odd : hi_even) : {4{nib[3]}};
            assign wgt_q[gj*8 +: 8] = pack_q ? {nib_hi, nib} : wgt_raw[gj*8 +: 8];
        end
    end else begin : g_no_pack
        assign wgt_q = wgt_raw;
        wire _unused_pack = &{1'b0, pack_q, odd_q, dual_q};
    end endgenerate

    // ---- the column stages and operand registers
    wire [31:0] col_n [0:C-1] /* verilator split_var */;
    wire [C-1:0] col_v, col_w;
    wire [31:0] n_hi = N - C;
    assign col_n[0] = n0;
    assign col_v[0] = v0;
    assign col_w[0] = w0;
    generate for (gj = 0; gj < C; gj = gj + 1) begin : g_cols
        if (gj > 0) begin : g_stage
            reg [31:0] n_r;
            reg v_r, w_r;
            always @(posedge clk) begin
                n_r <= col_n[gj-1] + 1;
                {v_r, w_r} <= {col_v[gj-1], col_w[gj-1]};
            end
            assign col_n[gj] = n_r;
            assign {col_v[gj], col_w[gj]} = {v_r, w_r};
        end
        wire ok = col_v[gj] && (dw_ws ? (gj == 0) : (col_n[gj] < N));
        wire ok_hi = col_v[gj] && dual && (N > C) && (col_n[gj] < n_hi);   // dual: channel n0 + C + j
        // the weight byte: the buffer's output, delayed gj cycles (dual: two nibbles, each masked)
        wire [7:0] b_q;
        delay_line #(.W(8), .D(gj)) u_wdl (.clk(clk), .in(wgt_q[gj*8 +: 8]), .out(b_q));
        reg ok_q, ok_hi_q, dual_c, w_p;
        always @(posedge clk) begin
            {ok_q, ok_hi_q, dual_c} <= {ok, ok_hi, dual};
            w_p <= col_w[gj];
            w_load[gj] <= w_p;
        end
        wire [7:0] wb = ok_q ? b_q : 8'd0;
        wire [15:0] w16 = dual_c ? {8'd0, ok_hi_q ? b_q[7:4] : 4'd0, wb[3:0]} : {{8{wb[7]}}, wb};
        reg [WW-1:0] b_r;   // the operand register, so that the PE's multiplier starts at a flip-flop
        always @(posedge clk) b_r <= w16[WW-1:0];
        assign b_cols[gj*WW +: WW] = b_r;
        wire _unused_w = &{1'b0, w16[15:WW]};
    end endgenerate
endmodule
