// One processing element of the systolic array.
// OS (WS=0): a flows right, b flows down, the accumulator stays; flags travel with a.
// WS (WS=1): the weight stays (loaded by shifting down the column), a flows right,
//            partial sums flow down.
// Weights of at most LUT_MULT_BITS bits are multiplied by shift-and-add in LUTs (no DSP48).
module pe #(parameter AW = 9, parameter WW = 8, parameter WS = 0, parameter LUT_MULT_BITS = 4) (
    input  wire                 clk,
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
    output reg  signed [31:0]   result
);
    wire signed [WW-1:0] mul_b = (WS != 0) ? b_out : b_in;
    wire signed [AW+WW-1:0] product;
    generate if (WW <= LUT_MULT_BITS) begin : g_lut_mult
        reg signed [AW+WW-1:0] sum;
        integer i;
        always @* begin
            sum = 0;
            for (i = 0; i < WW - 1; i = i + 1)
                if (mul_b[i]) sum = sum + ($signed({{WW{a_in[AW-1]}}, a_in}) <<< i);
            if (mul_b[WW-1]) sum = sum - ($signed({{WW{a_in[AW-1]}}, a_in}) <<< (WW - 1));
        end
        assign product = sum;
    end else begin : g_dsp_mult
        assign product = a_in * mul_b;
    end endgenerate
    wire signed [31:0] product32 = {{(32-AW-WW){product[AW+WW-1]}}, product};
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
        wire _unused_os = &{1'b0, w_load, psum_in};
    end else begin : g_ws
        always @(posedge clk) begin
            if (w_load) b_out <= b_in;
            result <= psum_in + product32;
        end
        wire _unused_ws = &{1'b0, a_first_in, a_last_in};
    end endgenerate
endmodule
