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
    // byte j of an access at address a lies in bank (a + j) mod NB, word a / NB, or the next word
    // for the banks below a mod NB: one incrementer per port, not an adder per bank
    wire [LB-1:0] wlo = wr_addr[LB-1:0], rlo = rd_addr[LB-1:0];
    wire [WA-1:0] whi = wr_addr[LB +: WA], rhi = rd_addr[LB +: WA];
    wire [WA-1:0] whi1 = whi + 1'b1, rhi1 = rhi + 1'b1;
    // the write's bytes and mask rotated left by wlo (bank b takes byte (b - wlo) mod NB), the
    // read's rotated right by rot: barrel shifters, log2(NB) stages
    wire [2*NB*8-1:0] wd2 = {wr_data, wr_data} << {wlo, 3'b000};
    wire [2*NB-1:0] wm2 = {wr_mask, wr_mask} << wlo;
    wire [NB*8-1:0] wd = wd2[NB*8 +: NB*8];
    wire [NB-1:0] wm = wm2[NB +: NB];
    wire [NB*8-1:0] q_all;
    reg [LB-1:0] rot;   // rd_addr mod NB of the read in flight: bank of rd_data's byte 0
    always @(posedge clk) rot <= rlo;
    wire [2*NB*8-1:0] q2 = {q_all, q_all} >> {rot, 3'b000};
    assign rd_data = q2[RB*8-1:0];
    genvar b;
    generate
        for (b = 0; b < NB; b = b + 1) begin : g_bank
            // banks below the access's first byte hold its bytes of the next word
            wire w_next, r_next;
            if (b == NB - 1) begin : g_top
                assign w_next = 1'b0;
                assign r_next = 1'b0;
            end else begin : g_low
                assign w_next = LB'(b) < wlo;
                assign r_next = (RB > 1) && (LB'(b) < rlo);
            end
            wire [WA-1:0] wa = w_next ? whi1 : whi;
            wire [WA-1:0] ra = r_next ? rhi1 : rhi;
            (* ram_style = "block" *) reg [7:0] mem [0:DEPTH-1];
            reg [7:0] q;
            always @(posedge clk) begin
                if (wm[b]) mem[wa] <= wd[b*8 +: 8];
                q <= mem[ra];
            end
            assign q_all[b*8 +: 8] = q;
        end
    endgenerate
    wire _unused_hi = &{1'b0, wd2[NB*8-1:0], wm2[NB-1:0], q2[2*NB*8-1:RB*8]};
    wire _unused = &{1'b0, wr_addr, rd_addr};   // what lies past the buffer: addresses wrap
endmodule
