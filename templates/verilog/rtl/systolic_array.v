// R x C systolic array. The operands arrive already skewed (the engine's walker pipelines read
// row i's operands i cycles late and column j's j cycles late), each with its own flags, so
// PE(i,j) sees an operand pair issued at cycle t at t+i+j. OS: results[i][j] is the PE's last
// fold result. WS: results[R-1][j] (bottom row) carry the column's partial sum; valid_bottom[j]
// marks them; w_load[j] shifts column j's weights down one row.
module systolic_array #(parameter R = 4, parameter C = 4, parameter AW = 9, parameter WW = 8, parameter MB = 8,
                        parameter WS = 0, parameter LUT_MULT_BITS = 4, parameter DUAL = 0, parameter DW = 0) (
    input  wire                clk,
    input  wire                dual,        // the layer does two MACs per PE (pe.v)
    input  wire                dw,          // DW: every PE multiplies its own activation (a_direct)
    input  wire [R*C*AW-1:0]   a_direct,    // PE (i, j)'s, already skewed like a_rows
    input  wire [R*AW-1:0]     a_rows,
    input  wire [R-1:0]        a_valid,
    input  wire [R-1:0]        a_first,
    input  wire [R-1:0]        a_last,
    input  wire [C*WW-1:0]     b_cols,
    input  wire [C-1:0]        w_load,
    output wire [R*C*32-1:0]   results,
    output wire [R*C*32-1:0]   results_hi,  // DUAL: the second channel's results
    output wire                fold_done,
    output wire [C-1:0]        valid_bottom
);
    wire signed [AW-1:0] a_w [0:R-1][0:C];
    wire v_w [0:R-1][0:C];
    wire f_w [0:R-1][0:C];
    wire l_w [0:R-1][0:C];
    wire signed [WW-1:0] b_w [0:R][0:C-1];
    wire signed [31:0] p_w [0:R][0:C-1];
    wire signed [31:0] hi_w [0:R-1][0:C-1];
    genvar i, j;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_row
            assign a_w[i][0] = a_rows[i*AW +: AW];
            assign v_w[i][0] = a_valid[i];
            assign f_w[i][0] = a_first[i];
            assign l_w[i][0] = a_last[i];
            for (j = 0; j < C; j = j + 1) begin : g_col
                if (i == 0) begin : g_top
                    assign b_w[0][j] = b_cols[j*WW +: WW];
                    assign p_w[0][j] = 32'sd0;
                end
                pe #(.AW(AW), .WW(WW), .MB(MB), .WS(WS), .LUT_MULT_BITS(LUT_MULT_BITS), .DUAL(DUAL), .DW(DW)) u_pe (
                    .clk(clk), .dual(dual), .dw(dw), .a_dw(a_direct[(i*C+j)*AW +: AW]), .a_in(a_w[i][j]), .a_valid_in(v_w[i][j]), .a_first_in(f_w[i][j]),
                    .a_last_in(l_w[i][j]), .b_in(b_w[i][j]), .w_load(w_load[j]), .psum_in(p_w[i][j]),
                    .a_out(a_w[i][j+1]), .a_valid_out(v_w[i][j+1]), .a_first_out(f_w[i][j+1]),
                    .a_last_out(l_w[i][j+1]), .b_out(b_w[i+1][j]), .result(p_w[i+1][j]),
                    .result_hi(hi_w[i][j]));
                assign results[(i*C+j)*32 +: 32] = p_w[i+1][j];
                assign results_hi[(i*C+j)*32 +: 32] = hi_w[i][j];
            end
        end
        for (j = 0; j < C; j = j + 1) begin : g_bottom
            assign valid_bottom[j] = v_w[R-1][j+1];
        end
    endgenerate
    assign fold_done = v_w[R-1][C] & l_w[R-1][C];
endmodule
