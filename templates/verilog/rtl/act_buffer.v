// A chunk's activation buffer: one copy per reader that needs its own address each cycle (array
// row i reads copy i; copy 0 also serves the vector lanes' first input and the DMA's store, copy 1
// the add's second input, never in the same phase as the rows), every copy a byte_ram with NB
// banks. One write port, broadcast to every copy: the DMA's load, or the requantiser lanes'
// C bytes of one output pixel. Reads are registered (data one cycle after the address).
module act_buffer #(parameter BYTES = 4096, parameter NB = 8, parameter COPIES = 1, parameter RB0 = 8,
                    parameter RB1 = 1, parameter AB = 16) (
    input  wire                clk,
    input  wire [AB-1:0]       wr_addr,
    input  wire [NB-1:0]       wr_mask,
    input  wire [NB*8-1:0]     wr_data,
    input  wire [COPIES*AB-1:0] rd_addr,
    output wire [COPIES*8-1:0] rd_byte,    // byte 0 of every copy's read
    output wire [RB0*8-1:0]    rd0,        // copy 0's whole read
    output wire [RB1*8-1:0]    rd1         // copy 1's (0 with one copy)
);
    genvar i;
    generate for (i = 0; i < COPIES; i = i + 1) begin : g_copy
        localparam RB = (i == 0) ? RB0 : ((i == 1) ? RB1 : 1);
        wire [RB*8-1:0] q;
        byte_ram #(.BYTES(BYTES), .NB(NB), .RB(RB), .AB(AB)) u_ram (
            .clk(clk), .wr_addr(wr_addr), .wr_mask(wr_mask), .wr_data(wr_data),
            .rd_addr(rd_addr[i*AB +: AB]), .rd_data(q));
        assign rd_byte[i*8 +: 8] = q[7:0];
        if (i == 0) begin : g_rd0
            assign rd0 = q;
        end
        if (i == 1) begin : g_rd1
            assign rd1 = q;
        end
    end endgenerate
    generate if (COPIES < 2) begin : g_no_rd1
        assign rd1 = {RB1*8{1'b0}};
    end endgenerate
endmodule
