// A byte-addressed on-chip buffer (a chunk's activation or weight buffer). Combinational reads:
// NR single-byte ports and NWR ports of RB consecutive bytes; an address at or past BYTES reads
// 0. Writes, in this order within a cycle: one port of WB consecutive bytes (the DMA), then NW
// single-byte ports (the requantiser lanes). The storage is its own module so that synthesis
// can map it, or set it aside when counting the engine's logic (codesign.backend.yosys).
module byte_ram #(
    parameter BYTES = 4096, parameter NR = 1, parameter NWR = 1, parameter RB = 8, parameter WB = 8,
    parameter NW = 1
) (
    input  wire                 clk,
    input  wire [NR*32-1:0]     rd_addr,
    output wire [NR*8-1:0]      rd_data,
    input  wire [NWR*32-1:0]    wide_rd_addr,
    output wire [NWR*RB*8-1:0]  wide_rd_data,
    input  wire                 wide_wr_en,
    /* verilator lint_off UNUSEDSIGNAL */  // write addresses wrap at the buffer size
    input  wire [31:0]          wide_wr_addr,
    input  wire [NW*32-1:0]     wr_addr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [WB*8-1:0]      wide_wr_data,
    input  wire [NW-1:0]        wr_en,
    input  wire [NW*8-1:0]      wr_data
);
    localparam AW = $clog2(BYTES);
    reg [7:0] mem [0:BYTES-1];
    function [7:0] at(input [31:0] a);
        at = (a < BYTES) ? mem[a[AW-1:0]] : 8'd0;
    endfunction
    genvar i, j;
    generate
        for (i = 0; i < NR; i = i + 1) begin : g_rd
            assign rd_data[i*8 +: 8] = at(rd_addr[i*32 +: 32]);
        end
        for (i = 0; i < NWR; i = i + 1) begin : g_wide_rd
            for (j = 0; j < RB; j = j + 1) begin : g_byte
                assign wide_rd_data[(i*RB + j)*8 +: 8] = at(wide_rd_addr[i*32 +: 32] + 32'(j));
            end
        end
    endgenerate
    integer b, l;
    always @(posedge clk) begin
        if (wide_wr_en)
            for (b = 0; b < WB; b = b + 1) mem[wide_wr_addr[AW-1:0] + AW'(b)] <= wide_wr_data[b*8 +: 8];
        for (l = 0; l < NW; l = l + 1)
            if (wr_en[l]) mem[wr_addr[l*32 +: AW]] <= wr_data[l*8 +: 8];
    end
endmodule
