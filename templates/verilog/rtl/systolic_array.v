// R x C systolic array with its input skew registers. Row i's operands enter i cycles late,
// column j's (OS) j cycles late, so PE(i,j) sees the operands fed at cycle t at t+1+i+j.
// OS: results[i][j] is the PE's last fold result. WS: results[R-1][j] (bottom row) carry the
// column's partial sum; valid_bottom[j] marks them.
module systolic_array #(parameter R = 4, parameter C = 4, parameter AW = 9, parameter WW = 8,
                        parameter WS = 0, parameter LUT_MULT_BITS = 4) (
    input  wire                clk,
    input  wire [R*AW-1:0]     a_rows,
    input  wire                a_valid,
    input  wire                a_first,
    input  wire                a_last,
    input  wire [C*WW-1:0]     b_cols,
    input  wire                w_load,
    output wire [R*C*32-1:0]   results,
    output wire                fold_done,
    output wire [C-1:0]        valid_bottom
);
    // skewed row inputs
    wire [AW-1:0] a_skew [0:R-1];
    wire [R-1:0] v_skew, f_skew, l_skew;
    wire [WW-1:0] b_skew [0:C-1];
    genvar i, j;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_row_skew
            reg [AW+2:0] line [0:i];
            integer s;
            always @(posedge clk) begin
                line[0] <= {a_rows[i*AW +: AW], a_valid, a_first, a_last};
                for (s = 1; s <= i; s = s + 1) line[s] <= line[s-1];
            end
            assign {a_skew[i], v_skew[i], f_skew[i], l_skew[i]} = line[i];
        end
        for (j = 0; j < C; j = j + 1) begin : g_col_skew
            if (WS != 0) begin : g_ws_b
                reg [WW-1:0] b_reg;
                always @(posedge clk) b_reg <= b_cols[j*WW +: WW];
                assign b_skew[j] = b_reg;
            end else begin : g_os_b
                reg [WW-1:0] line [0:j];
                integer s;
                always @(posedge clk) begin
                    line[0] <= b_cols[j*WW +: WW];
                    for (s = 1; s <= j; s = s + 1) line[s] <= line[s-1];
                end
                assign b_skew[j] = line[j];
            end
        end
    endgenerate
    // the mesh
    wire signed [AW-1:0] a_w [0:R-1][0:C];
    wire v_w [0:R-1][0:C];
    wire f_w [0:R-1][0:C];
    wire l_w [0:R-1][0:C];
    wire signed [WW-1:0] b_w [0:R][0:C-1];
    wire signed [31:0] p_w [0:R][0:C-1];
    reg w_load_q;
    always @(posedge clk) w_load_q <= w_load;
    generate
        for (i = 0; i < R; i = i + 1) begin : g_row
            assign a_w[i][0] = a_skew[i];
            assign v_w[i][0] = v_skew[i];
            assign f_w[i][0] = f_skew[i];
            assign l_w[i][0] = l_skew[i];
            for (j = 0; j < C; j = j + 1) begin : g_col
                if (i == 0) begin : g_top
                    assign b_w[0][j] = b_skew[j];
                    assign p_w[0][j] = 32'sd0;
                end
                pe #(.AW(AW), .WW(WW), .WS(WS), .LUT_MULT_BITS(LUT_MULT_BITS)) u_pe (
                    .clk(clk), .a_in(a_w[i][j]), .a_valid_in(v_w[i][j]), .a_first_in(f_w[i][j]),
                    .a_last_in(l_w[i][j]), .b_in(b_w[i][j]), .w_load(w_load_q), .psum_in(p_w[i][j]),
                    .a_out(a_w[i][j+1]), .a_valid_out(v_w[i][j+1]), .a_first_out(f_w[i][j+1]),
                    .a_last_out(l_w[i][j+1]), .b_out(b_w[i+1][j]), .result(p_w[i+1][j]));
                assign results[(i*C+j)*32 +: 32] = p_w[i+1][j];
            end
        end
        for (j = 0; j < C; j = j + 1) begin : g_bottom
            if (j == C - 1) begin : g_last
                assign valid_bottom[j] = v_w[R-1][j+1];
            end else begin : g_mid
                assign valid_bottom[j] = v_w[R-1][j+1];
            end
        end
    endgenerate
    assign fold_done = v_w[R-1][C] & l_w[R-1][C];
endmodule
