// W bits delayed D cycles (D = 0: a wire). Plain registers without reset, so that synthesis may
// pack them into shift-register LUTs.
module delay_line #(parameter W = 8, parameter D = 1) (
    input  wire         clk,
    input  wire [W-1:0] in,
    output wire [W-1:0] out
);
    generate if (D == 0) begin : g_wire
        assign out = in;
        wire _unused_clk = clk;
    end else begin : g_regs
        reg [W-1:0] st [0:D-1];
        integer k;
        always @(posedge clk) begin
            st[0] <= in;
            for (k = 1; k < D; k = k + 1) st[k] <= st[k-1];
        end
        assign out = st[D-1];
    end endgenerate
endmodule
