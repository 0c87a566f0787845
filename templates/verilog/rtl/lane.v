// One of a chunk's C output lanes (lane J: output channel base + J): a value from one of three
// sources enters its requantiser a cycle after it is chosen: an OS fold's result from the drain
// bank's row, a WS fold's partial sum from the array's bottom row (summed over K folds in acc_mem),
// or a pool/add result of the vector lane (average, maximum, or the add's two scaled inputs).
module lane #(
    parameter J = 0, parameter WS = 0, parameter ACC_DEPTH = 64, parameter AB = 20, parameter HAS_ADD = 1
) (
    input  wire               clk,
    // OS drain: the bank's row value, its pixel inside the GEMM (row_ok), channel tile and address
    input  wire               d_busy,
    input  wire               d_row_ok,
    input  wire [31:0]        d_ch,
    input  wire [31:0]        d_addr,
    input  wire [31:0]        d_acc,
    input  wire [31:0]        N,
    // WS: the column's partial sum (valid_bottom), the K fold (first, last), the fold's channel,
    // the fold's start (restart: lane_addr0 = its output address of channel J's column 0)
    input  wire               in_gemm,
    input  wire               valid_bottom,
    input  wire [31:0]        psum,
    input  wire               kf_first,
    input  wire               kf_last,
    input  wire               ch_ok,
    input  wire               restart,
    input  wire [31:0]        lane_addr0,
    input  wire [31:0]        out_c,
    // vector lane: the walker's step two cycles ago (s2_*) and its operand bytes now
    input  wire               vec_busy,    // a step in the lane's two-cycle pipeline
    input  wire               s2_v,
    input  wire               s2_first,
    input  wire               s2_last,
    input  wire               s2_in,
    input  wire [31:0]        s2_c0,
    input  wire [31:0]        v_addr0,     // wr_off + the step's output pixel base
    input  wire [7:0]         x_byte,
    input  wire [7:0]         y_byte,
    input  wire               in_signed,
    input  wire               in1_signed,
    input  wire               is_avg,
    input  wire               is_max,
    input  wire signed [15:0] add_m0,
    input  wire signed [15:0] add_m1,
    // the requantiser: the lane's record {bias, mult, shift}, read for the value entering it
    input  wire [63:0]        rec_in,
    input  wire [9:0]         out_lo,
    input  wire [9:0]         out_hi,
    output wire               pending,     // a value is inside the lane
    output wire               wr_valid,
    output wire [7:0]         wr_byte,
    output wire [AB-1:0]      wr_addr
);
    localparam ACC_AW = $clog2(ACC_DEPTH);
    reg rq_valid, rq_valid_q;
    reg [31:0] rq_acc, rq_addr;
    reg [31:0] acc_mem [0:ACC_DEPTH-1];   // WS: partial sums across K folds
    reg [31:0] lane_p, lane_addr;
    reg signed [31:0] vacc;   // signed: the maximum compares it
    assign pending = vec_busy | rq_valid | rq_valid_q | wr_valid;
    // ---- OS drain
    wire d_valid = d_busy && d_row_ok && (d_ch + J < N);
    // ---- WS
    wire [ACC_AW-1:0] acc_idx = lane_p[ACC_AW-1:0];
    wire [31:0] ws_total = kf_first ? psum : acc_mem[acc_idx] + psum;
    wire ws_out = in_gemm && valid_bottom && kf_last && ch_ok;
    // ---- vector: the operand registers hold the bytes as 9-bit integers (every byte value fits:
    // [-128, 255]), so that neither the buffer's output nor the table's signedness fields reach
    // the multipliers
    wire [31:0] e_c = s2_c0 + J;
    reg signed [8:0] x9, y9;
    always @(posedge clk) begin
        x9 <= {in_signed & x_byte[7], x_byte};
        y9 <= {in1_signed & y_byte[7], y_byte};
    end
    wire signed [31:0] x = {{23{x9[8]}}, x9};
    wire signed [24:0] x_m0 = x9 * add_m0, y_m1 = y9 * add_m1;
    wire signed [31:0] v_next =
        is_avg ? (s2_first ? 32'sd0 : vacc) + x :
        is_max ? (s2_first ? (s2_in ? x : -32'sd2147483647) : ((s2_in && x > vacc) ? x : vacc)) :
        (HAS_ADD != 0) ? 32'(x_m0) + 32'(y_m1) : 32'sd0;
    wire v_emit = s2_v && s2_last && (e_c < out_c);
    always @(posedge clk) begin
        if (s2_v) vacc <= v_next;
        if (in_gemm && WS && valid_bottom) begin
            if (!kf_last) acc_mem[acc_idx] <= ws_total;
            lane_p <= lane_p + 1;
            lane_addr <= lane_addr + out_c;
        end
        if (restart) begin
            lane_p <= 0;
            lane_addr <= lane_addr0 + J;
        end
        rq_valid_q <= rq_valid;
        rq_valid <= WS ? (ws_out || v_emit) : (d_valid || v_emit);
        if (s2_v) begin
            rq_acc <= v_next;
            rq_addr <= v_addr0 + e_c;
        end else if (WS) begin
            rq_acc <= ws_total;
            rq_addr <= lane_addr;
        end else begin
            rq_acc <= d_acc;
            rq_addr <= d_addr + J;
        end
    end
    // ---- the requantiser: the record of the lane's channel, registered in the cycle its value
    // enters rq_acc
    reg [63:0] rec;
    always @(posedge clk) rec <= rec_in;
    wire [31:0] bias = rec[31:0];
    wire [15:0] mult = rec[47:32];
    wire [7:0] shift = rec[55:48];
    wire _unused = &{1'b0, rec[63:56], shift[7:6], rq_addr[31:AB], lane_p[31:ACC_AW]};
    requant #(.AB(AB)) u_rq (
        .clk(clk), .in_valid(rq_valid), .acc(rq_acc + bias), .mult(mult), .shift(shift[5:0]),
        .lo(out_lo), .hi(out_hi), .in_addr(rq_addr[AB-1:0]),
        .out_valid(wr_valid), .out_byte(wr_byte), .out_addr(wr_addr));
endmodule
