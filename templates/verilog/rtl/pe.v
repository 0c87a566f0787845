// One processing element of the systolic array.
// OS (WS=0): a flows right, b flows down, the accumulator stays; flags travel with a.
// WS (WS=1): the weight stays (loaded by shifting down the column), a flows right,
//            partial sums flow down.
// Weights of at most LUT_MULT_BITS bits (the chunk's MB) are multiplied by shift-and-add in LUTs
// (no DSP48); b is WW bits wide (MB, or 8 for two 4-bit weights).
// DUAL (OS only): with `dual` high, b holds two 4-bit weights of two output channels (w0 in its
// low nibble, w1 in its high one) and the PE does two MACs a cycle, into result (w0) and
// result_hi (w1). A DSP48 computes both in one multiply, a * (w1 2^13 + w0): |a w0| < 2^12, so
// the low 13 bits of the product are a w0 exactly and the rest a w1 (plus the low part's borrow).
// DW (OS only): with `dw` high the PE multiplies its own activation a_dw (a depthwise layer: its
// channel's), not the one flowing along the row; the row's flags still flow with a_in.
module pe #(parameter AW = 9, parameter WW = 8, parameter MB = 8, parameter WS = 0, parameter LUT_MULT_BITS = 4,
            parameter DUAL = 0, parameter DW = 0) (
    input  wire                 clk,
    input  wire                 dual,
    input  wire                 dw,
    input  wire signed [AW-1:0] a_dw,
    input  wire signed [AW-1:0] a_in,
    input  wire                 a_valid_in,
    input  wire                 a_first_in,
    input  wire                 a_last_in,
    input  wire signed [WW-1:0] b_in,
    input  wire                 w_load,
    input  wire signed [31:0]   psum_in,
    output reg  signed [AW-1:0] a_out,
    output reg                  a_valid_out,
    output reg                  a_first_out,
    output reg                  a_last_out,
    output reg  signed [WW-1:0] b_out,
    output reg  signed [31:0]   result,
    output wire signed [31:0]   result_hi
);
    // LB: bits of one shift-and-add multiplied weight (the chunk multiplies MB <= LUT_MULT_BITS bits)
    localparam LB = (DUAL != 0) ? 4 : WW;
    wire signed [WW-1:0] mul_b = (WS != 0) ? b_out : b_in;
    wire signed [AW-1:0] mul_a;
    generate if (DW != 0) begin : g_dw
        assign mul_a = dw ? a_dw : a_in;
    end else begin : g_row_a
        assign mul_a = a_in;
        wire _unused_dw = &{1'b0, dw, a_dw};
    end endgenerate
    wire signed [31:0] product32, product_hi32;
    genvar m;
    generate if (MB <= LUT_MULT_BITS) begin : g_lut
        for (m = 0; m < ((DUAL != 0) ? 2 : 1); m = m + 1) begin : g_m
            wire [LB-1:0] wb = mul_b[m*LB +: LB];
            reg signed [AW+LB-1:0] sum;
            integer i;
            always @* begin
                sum = 0;
                for (i = 0; i < LB - 1; i = i + 1)
                    if (wb[i]) sum = sum + ($signed({{LB{mul_a[AW-1]}}, mul_a}) <<< i);
                if (wb[LB-1]) sum = sum - ($signed({{LB{mul_a[AW-1]}}, mul_a}) <<< (LB - 1));
            end
            if (m == 0) begin : g_lo
                assign product32 = 32'(sum);
            end else begin : g_hi
                assign product_hi32 = 32'(sum);
            end
        end
        if (DUAL == 0) begin : g_one
            assign product_hi32 = 32'sd0;
        end
        wire _unused_lut = &{1'b0, dual};
    end else if (DUAL != 0) begin : g_dsp_dual
        // one multiply: a * b, or a * (w1 2^13 + w0) in dual mode
        wire signed [3:0] w0 = mul_b[3:0];
        wire signed [3:0] w1 = mul_b[7:4];
        wire signed [17:0] b18 = dual ? (18'(w1) <<< 13) + 18'(w0) : 18'(mul_b);
        wire signed [AW+17:0] p = mul_a * b18;
        wire signed [AW+4:0] hi = p[AW+17:13] + {{(AW+4){1'b0}}, p[12]};
        assign product32 = dual ? 32'($signed(p[12:0])) : 32'(p);
        assign product_hi32 = 32'(hi);
    end else begin : g_dsp
        wire signed [AW+WW-1:0] p = mul_a * mul_b;
        assign product32 = 32'(p);
        assign product_hi32 = 32'sd0;
        wire _unused_dsp = &{1'b0, dual};
    end endgenerate
    always @(posedge clk) begin
        a_out <= a_in;
        a_valid_out <= a_valid_in;
        a_first_out <= a_first_in;
        a_last_out <= a_last_in;
    end
    generate if (WS == 0) begin : g_os
        reg signed [31:0] acc;
        always @(posedge clk) begin
            b_out <= b_in;
            if (a_valid_in) acc <= (a_first_in ? 32'sd0 : acc) + product32;
            if (a_valid_in && a_last_in) result <= (a_first_in ? 32'sd0 : acc) + product32;
        end
        if (DUAL != 0) begin : g_hi
            reg signed [31:0] acc_hi, res_hi;
            always @(posedge clk) begin
                if (a_valid_in) acc_hi <= (a_first_in ? 32'sd0 : acc_hi) + product_hi32;
                if (a_valid_in && a_last_in) res_hi <= (a_first_in ? 32'sd0 : acc_hi) + product_hi32;
            end
            assign result_hi = res_hi;
        end else begin : g_no_hi
            assign result_hi = 32'sd0;
            wire _unused_hi = &{1'b0, product_hi32, dual};
        end
        wire _unused_os = &{1'b0, w_load, psum_in};
    end else begin : g_ws
        always @(posedge clk) begin
            if (w_load) b_out <= b_in;
            result <= psum_in + product32;
        end
        assign result_hi = 32'sd0;
        wire _unused_ws = &{1'b0, a_first_in, a_last_in, product_hi32, dual};
    end endgenerate
endmodule
