// One AXI4 slave port of the simulated DRAM (sim/hdl/tb_top.v.j2 gives every chunk's master one;
// the memory array itself lives in tb_top and is shared by all ports, as the Zynq HP ports share
// the DDR). One read and one write burst at a time (the DMA never issues more), INCR bursts of
// full-width beats only (tb_top stops on any other); a write burst ends at WLAST (AWLEN unused).
// Timing, all set at run time:
//   rd_lat     cycles from the AR handshake to the first R beat (>= 1)
//   wr_lat     cycles from the last W beat to BVALID (>= 1)
//   beat_gap   at most one data beat every beat_gap cycles within a burst (>= 1: the bandwidth cap)
//   stall_pct  each cycle, each of AR, R, AW, W, B is closed with this probability (seeded)
// stalls counts the cycles a closed channel withheld a handshake the master was ready for: each
// delays the master by at most one cycle, the bound docs/verilog.md states.
module axi_mem_port #(parameter DB = 8, parameter WA = 20) (
    input  wire            clk,
    input  wire            rst,
    input  wire [15:0]     rd_lat,
    input  wire [15:0]     wr_lat,
    input  wire [15:0]     beat_gap,
    input  wire [6:0]      stall_pct,
    input  wire [31:0]     seed,
    output reg  [31:0]     stalls,
    // memory side: a combinational read word, one write per cycle with byte enables
    output wire [WA-1:0]   mem_rd_addr,
    input  wire [DB*8-1:0] mem_rd_data,
    output wire            mem_wr_en,
    output wire [WA-1:0]   mem_wr_addr,
    output wire [DB*8-1:0] mem_wr_data,
    output wire [DB-1:0]   mem_wr_strb,
    // AXI4 slave
    input  wire [31:0]     araddr,
    input  wire [7:0]      arlen,
    input  wire            arvalid,
    output wire            arready,
    output wire [DB*8-1:0] rdata,
    output wire            rlast,
    output wire            rvalid,
    input  wire            rready,
    input  wire [31:0]     awaddr,
    input  wire            awvalid,
    output wire            awready,
    input  wire [DB*8-1:0] wdata,
    input  wire [DB-1:0]   wstrb,
    input  wire            wlast,
    input  wire            wvalid,
    output wire            wready,
    output wire            bvalid,
    input  wire            bready
);
    localparam IDLE = 2'd0, WAIT = 2'd1, DATA = 2'd2, RESP = 2'd3;
    localparam SHIFT = $clog2(DB);
    wire _unused = &{1'b0, araddr, awaddr};   // the word address bits are used; the rest are not

    // one xorshift32 per channel; a channel is open in a cycle when its draw clears stall_pct
    reg [31:0] rng [0:4];
    wire [4:0] open;
    genvar g;
    generate for (g = 0; g < 5; g = g + 1) begin : g_rng
        wire [31:0] x1 = rng[g] ^ (rng[g] << 13);
        wire [31:0] x2 = x1 ^ (x1 >> 17);
        wire [31:0] x3 = x2 ^ (x2 << 5);
        always @(posedge clk)
            if (rst) rng[g] <= seed ^ (32'h9e3779b9 * (g + 1)) | 32'd1;
            else rng[g] <= x3;
        assign open[g] = (rng[g] % 32'd100) >= {25'd0, stall_pct};
    end endgenerate
    wire open_ar = open[0], open_r = open[1], open_aw = open[2], open_w = open[3], open_b = open[4];

    // ---------------------------------------------------------------- reads
    reg [1:0] rs;
    reg [WA-1:0] raddr;
    reg [7:0] rleft;
    reg [15:0] rwait, rgap;
    wire r_due = (rs == DATA) && (rgap >= beat_gap);
    assign arready = (rs == IDLE) && open_ar;
    assign rvalid = r_due && open_r;
    assign rlast = (rleft == 8'd0);
    assign rdata = mem_rd_data;
    assign mem_rd_addr = raddr;
    always @(posedge clk) begin
        if (rst) begin
            rs <= IDLE;
        end else case (rs)
            IDLE: if (arvalid && arready) begin
                raddr <= araddr[WA+SHIFT-1:SHIFT];
                rleft <= arlen;
                rwait <= rd_lat - 16'd1;
                rgap <= beat_gap;          // a burst's first beat waits only for the latency
                rs <= (rd_lat <= 16'd1) ? DATA : WAIT;
            end
            WAIT: begin
                rwait <= rwait - 16'd1;
                if (rwait == 16'd1) rs <= DATA;
            end
            DATA: if (rvalid && rready) begin
                raddr <= raddr + 1'b1;
                rleft <= rleft - 8'd1;
                rgap <= 16'd1;
                if (rlast) rs <= IDLE;
            end else if (rgap < beat_gap) begin
                rgap <= rgap + 16'd1;
            end
            default: rs <= IDLE;
        endcase
    end

    // ---------------------------------------------------------------- writes
    reg [1:0] ws;
    reg [WA-1:0] waddr;
    reg [15:0] wwait, wgap;
    assign awready = (ws == IDLE) && open_aw;
    assign wready = (ws == DATA) && (wgap >= beat_gap) && open_w;
    assign bvalid = (ws == RESP) && open_b;
    assign mem_wr_en = wvalid && wready;
    assign mem_wr_addr = waddr;
    assign mem_wr_data = wdata;
    assign mem_wr_strb = wstrb;
    always @(posedge clk) begin
        if (rst) begin
            ws <= IDLE;
        end else case (ws)
            IDLE: if (awvalid && awready) begin
                waddr <= awaddr[WA+SHIFT-1:SHIFT];
                wgap <= beat_gap;
                ws <= DATA;
            end
            DATA: if (wvalid && wready) begin
                waddr <= waddr + 1'b1;
                wgap <= 16'd1;
                wwait <= wr_lat - 16'd1;
                if (wlast) ws <= (wr_lat <= 16'd1) ? RESP : WAIT;
            end else if (wgap < beat_gap) begin
                wgap <= wgap + 16'd1;
            end
            WAIT: begin
                wwait <= wwait - 16'd1;
                if (wwait == 16'd1) ws <= RESP;
            end
            RESP: if (bvalid && bready) ws <= IDLE;
        endcase
    end

    // ---------------------------------------------------------------- stall count
    wire stall_now = (arvalid && rs == IDLE && !open_ar) || (r_due && rready && !open_r)
                   || (awvalid && ws == IDLE && !open_aw) || (wvalid && ws == DATA && wgap >= beat_gap && !open_w)
                   || (bready && ws == RESP && !open_b);
    always @(posedge clk)
        if (rst) stalls <= 32'd0;
        else if (stall_now) stalls <= stalls + 32'd1;
endmodule
