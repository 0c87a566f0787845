// A byte-banked block-RAM buffer: NB one-byte banks (NB a power of two; byte a lives in bank
// a mod NB, word a / NB), so that a write of up to NB consecutive bytes at any address takes one
// cycle (wr_mask[j]: byte j of wr_data goes to wr_addr + j), and so does a read of RB <= NB
// consecutive bytes. Each bank is a simple dual-port memory with a registered read: rd_data holds
// the bytes at the rd_addr of the previous cycle. That is what synthesis maps to block RAM
// (RAMB18E1/RAMB36E1 under synth_xilinx, DP16KD under synth_ecp5); `ram_style` keeps it there even
// when a bank is small. Addresses wrap at BYTES.
module byte_ram #(parameter BYTES = 4096, parameter NB = 8, parameter RB = 1, parameter AB = 16) (
    input  wire             clk,
    input  wire [AB-1:0]    wr_addr,
    input  wire [NB-1:0]    wr_mask,
    input  wire [NB*8-1:0]  wr_data,
    input  wire [AB-1:0]    rd_addr,
    output wire [RB*8-1:0]  rd_data
);
    localparam LB = $clog2(NB);
    localparam DEPTH = BYTES / NB;
    localparam WA = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    wire [NB*8-1:0] q_all;
    reg [LB-1:0] rot;   // rd_addr mod NB of the read in flight: bank of rd_data's byte 0
    always @(posedge clk) rot <= rd_addr[LB-1:0];
    genvar b, j;
    generate
        for (b = 0; b < NB; b = b + 1) begin : g_bank
            wire [LB-1:0] wj = LB'(b) - wr_addr[LB-1:0];   // the byte of the write that lands here
            wire [LB-1:0] rj = LB'(b) - rd_addr[LB-1:0];   // the byte of the read served from here
            wire [AB-1:0] wa = wr_addr + AB'(wj);
            wire [AB-1:0] ra = rd_addr + AB'(rj);
            wire _unused = &{1'b0, wa, ra};   // the bank bits and what lies past the buffer (wraps)
            (* ram_style = "block" *) reg [7:0] mem [0:DEPTH-1];
            reg [7:0] q;
            always @(posedge clk) begin
                if (wr_mask[wj]) mem[wa[LB +: WA]] <= wr_data[wj*8 +: 8];
                q <= mem[ra[LB +: WA]];
            end
            assign q_all[b*8 +: 8] = q;
        end
        for (j = 0; j < RB; j = j + 1) begin : g_out
            wire [LB-1:0] at = rot + LB'(j);
            assign rd_data[j*8 +: 8] = q_all[at*8 +: 8];
        end
    endgenerate
endmodule
