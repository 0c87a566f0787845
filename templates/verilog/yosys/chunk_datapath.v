// The arithmetic of one chunk for Yosys resource counts: its R x C systolic array and its C
// requantiser lanes, with every operand a port (so nothing is optimised away).
module chunk_datapath #(parameter R = 2, parameter C = 2, parameter MB = 8, parameter WS = 0,
                        parameter LUT_MULT_BITS = 4) (
    input  wire                  clk,
    input  wire [R*(MB+1)-1:0]   a_rows,
    input  wire [C*MB-1:0]       b_cols,
    input  wire                  a_valid,
    input  wire                  a_first,
    input  wire                  a_last,
    input  wire                  w_load,
    input  wire [C*32-1:0]       acc,
    input  wire [C*16-1:0]       mult,
    input  wire [C*6-1:0]        shift,
    output wire [R*C*32-1:0]     results,
    output wire                  fold_done,
    output wire [C-1:0]          valid_bottom,
    output wire [C-1:0]          out_valid,
    output wire [C*8-1:0]        out_bytes,
    output wire [C*16-1:0]       out_addrs
);
    systolic_array #(.R(R), .C(C), .AW(MB + 1), .WW(MB), .WS(WS), .LUT_MULT_BITS(LUT_MULT_BITS)) u_array (
        .clk(clk), .a_rows(a_rows), .a_valid(a_valid), .a_first(a_first), .a_last(a_last), .b_cols(b_cols),
        .w_load(w_load), .results(results), .fold_done(fold_done), .valid_bottom(valid_bottom));
    genvar j;
    generate for (j = 0; j < C; j = j + 1) begin : g_lane
        requant #(.AB(16)) u_rq (
            .clk(clk), .in_valid(a_valid), .acc(acc[j*32 +: 32]), .mult(mult[j*16 +: 16]), .shift(shift[j*6 +: 6]),
            .lo(-10'sd128), .hi(10'sd127), .in_addr(mult[j*16 +: 16]), .out_valid(out_valid[j]),
            .out_byte(out_bytes[j*8 +: 8]), .out_addr(out_addrs[j*16 +: 16]));
    end endgenerate
endmodule
