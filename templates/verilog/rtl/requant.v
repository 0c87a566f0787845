// One requantisation lane: y = clamp((acc * mult + round) >>> shift), round half up.
// Two register stages; the result byte comes out with its address two cycles after the input.
module requant #(parameter AB = 16) (
    input  wire               clk,
    input  wire               in_valid,
    input  wire signed [31:0] acc,
    input  wire [15:0]        mult,
    input  wire [5:0]         shift,
    input  wire signed [9:0]  lo,
    input  wire signed [9:0]  hi,
    input  wire [AB-1:0]      in_addr,
    output reg                out_valid,
    output reg  [7:0]         out_byte,
    output reg  [AB-1:0]      out_addr
);
    reg signed [48:0] prod;
    reg [5:0] shift_q;
    reg signed [9:0] lo_q, hi_q;
    reg valid_q;
    reg [AB-1:0] addr_q;
    wire signed [48:0] rounding = (shift == 6'd0) ? 49'sd0 : (49'sd1 <<< (shift - 6'd1));
    wire signed [48:0] shifted = prod >>> shift_q;
    wire signed [48:0] lo49 = {{39{lo_q[9]}}, lo_q};
    wire signed [48:0] hi49 = {{39{hi_q[9]}}, hi_q};
    wire signed [48:0] clamped = (shifted < lo49) ? lo49 : ((shifted > hi49) ? hi49 : shifted);
    wire _unused_high = &{1'b0, clamped[48:8]};
    always @(posedge clk) begin
        prod <= acc * $signed({1'b0, mult}) + rounding;
        shift_q <= shift;
        lo_q <= lo;
        hi_q <= hi;
        valid_q <= in_valid;
        addr_q <= in_addr;
        out_valid <= valid_q;
        out_byte <= clamped[7:0];
        out_addr <= addr_q;
    end
endmodule
