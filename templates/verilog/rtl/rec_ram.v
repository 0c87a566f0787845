// The requantiser records {bias, mult, shift} of a layer: one block-RAM bank per lane (bank j holds
// the records of channels j, C + j, 2C + j, ...), so that the C lanes read the C consecutive
// channels c0 .. c0 + C - 1 of a group (c0 a multiple of C) in one cycle, each from its own bank,
// at word c0 / C. Written by the parameter DMA in channel order, RPB records a beat (a 64-bit beat:
// one, a 128-bit beat: two), the beat's first record to bank wr_bank of row wr_row, the next ones
// to the following banks (wrapping to bank 0 of the next row). Reads are registered; out holds the
// records read at rd_row in the previous cycle.
module rec_ram #(parameter C = 4, parameter DEPTH = 2, parameter RPB = 1) (
    input  wire              clk,
    input  wire              wr_en,
    input  wire [31:0]       wr_bank,
    input  wire [31:0]       wr_row,
    input  wire [RPB*64-1:0] wr_data,
    input  wire [31:0]       rd_row,
    output wire [C*64-1:0]   out
);
    localparam WA = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    /* verilator lint_off UNUSEDSIGNAL */   // rows wrap at DEPTH, a power of two
    wire [31:0] wr_row_w = wr_row, rd_row_w = rd_row;
    /* verilator lint_on UNUSEDSIGNAL */
    genvar j;
    integer r;
    generate for (j = 0; j < C; j = j + 1) begin : g_bank
        (* ram_style = "block" *) reg [63:0] mem [0:DEPTH-1];
        reg [63:0] q;
        always @(posedge clk) begin
            for (r = 0; r < RPB; r = r + 1)   // record r of the beat: bank wr_bank + r, past C the next row
                if (wr_en && (wr_bank + r == j || wr_bank + r == j + C))
                    mem[WA'(wr_row_w + ((wr_bank + r >= C) ? 1 : 0))] <= wr_data[r*64 +: 64];
            q <= mem[rd_row_w[WA-1:0]];
        end
        assign out[j*64 +: 64] = q;
    end endgenerate
endmodule
