// A chunk's activation buffer: one copy per reader that needs its own address each cycle (array
// row i reads copy i; copy 0 also serves the vector lanes' first input and the DMA's store, copy 1
// the add's second input, never in the same phase as the rows), every copy a byte_ram with NB
// banks. One write port, broadcast to every copy: the DMA's load, or the requantiser lanes'
// C bytes of one output pixel. Reads are registered (data one cycle after the address). Each
// copy's read is RBR bytes wide for its row (RBR = C where depthwise layers run on the array: a
// byte per column), RB0 (RB1) for copy 0's (1's) other readers.
module act_buffer #(parameter BYTES = 4096, parameter NB = 8, parameter COPIES = 1, parameter RB0 = 8,
                    parameter RB1 = 1, parameter RBR = 1, parameter AB = 16) (
    input  wire                clk,
    input  wire [AB-1:0]       wr_addr,
    input  wire [NB-1:0]       wr_mask,
    input  wire [NB*8-1:0]     wr_data,
    input  wire [COPIES*AB-1:0] rd_addr,
    output wire [COPIES*RBR*8-1:0] rd_row, // the first RBR bytes of every copy's read
    output wire [RB0*8-1:0]    rd0,        // copy 0's whole read
    output wire [RB1*8-1:0]    rd1         // copy 1's (0 with one copy)
);
    genvar i;
    generate for (i = 0; i < COPIES; i = i + 1) begin : g_copy
        localparam RBX = (i == 0) ? RB0 : ((i == 1) ? RB1 : 1);
        localparam RB = (RBX > RBR) ? RBX : RBR;
        wire [RB*8-1:0] q;
        byte_ram #(.BYTES(BYTES), .NB(NB), .RB(RB), .AB(AB)) u_ram (
            .clk(clk), .wr_addr(wr_addr), .wr_mask(wr_mask), .wr_data(wr_data),
            .rd_addr(rd_addr[i*AB +: AB]), .rd_data(q));
        assign rd_row[i*RBR*8 +: RBR*8] = q[RBR*8-1:0];
        if (i == 0) begin : g_rd0
            assign rd0 = q[RB0*8-1:0];
        end
        if (i == 1) begin : g_rd1
            assign rd1 = q[RB1*8-1:0];
        end
    end endgenerate
    generate if (COPIES < 2) begin : g_no_rd1
        assign rd1 = {RB1*8{1'b0}};
    end endgenerate
endmodule
