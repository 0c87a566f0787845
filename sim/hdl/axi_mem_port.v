// One AXI4 slave port of the simulated DRAM (sim/hdl/tb_top.v.j2 gives every chunk's master one;
// the memory array itself lives in tb_top and is shared by all ports, as the Zynq HP ports share
// the DDR). Up to DEPTH read and DEPTH write bursts outstanding, served in order (one ID), INCR
// bursts of full-width beats only (tb_top stops on any other); a write burst ends at WLAST (AWLEN
// unused). Timing, all set at run time:
//   rd_lat     cycles from a burst's AR handshake to its first R beat (>= 1)
//   wr_lat     cycles from a burst's last W beat to its BVALID (>= 1)
//   beat_gap   at most one R beat, and one W beat, every beat_gap cycles (>= 1: the bandwidth cap;
//              it spans bursts, as a DRAM's bandwidth does)
//   stall_pct  each cycle, each of AR, R, AW, W, B is closed with this probability (seeded)
// W beats are accepted for a burst whose AW was accepted in an earlier cycle (a slave may wait for
// AW before WREADY; the master must not wait for AWREADY before WVALID, and axi_dma does not).
// Every event is the latest of the events it waits for plus a constant, so a stalled handshake
// delays every later event by at most one cycle: stalls counts the cycles a closed channel
// withheld a handshake the master was ready for and this port was otherwise ready to make, the
// bound docs/verilog.md states (the master's cycles lie between the stall-free ones and those
// plus stalls).
module axi_mem_port #(parameter DB = 8, parameter WA = 20, parameter DEPTH = 16) (
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
    localparam SHIFT = $clog2(DB);
    localparam QB = $clog2(DEPTH);
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

    reg [31:0] now;         // the cycle count: each queued burst holds the cycle it is due
    always @(posedge clk) now <= rst ? 32'd0 : now + 32'd1;

    // ---------------------------------------------------------------- reads: a queue of bursts
    reg [WA-1:0] rq_addr [0:DEPTH-1];
    reg [7:0] rq_len [0:DEPTH-1];
    reg [31:0] rq_due [0:DEPTH-1];
    reg [QB:0] rq_n;
    reg [QB-1:0] rq_head, rq_tail;
    reg [7:0] rbeat;        // the head burst's beat
    reg [15:0] rgap;        // cycles since the last R beat, saturating at beat_gap
    wire ar_fire = arvalid && arready;
    wire r_due = (rq_n != '0) && (now >= rq_due[rq_head]) && (rgap >= beat_gap);
    wire r_fire = rvalid && rready;
    assign arready = (rq_n != (QB+1)'(DEPTH)) && open_ar;
    assign rvalid = r_due && open_r;
    assign rlast = (rbeat == rq_len[rq_head]);
    assign rdata = mem_rd_data;
    assign mem_rd_addr = rq_addr[rq_head] + WA'(rbeat);
    always @(posedge clk) begin
        if (ar_fire) begin
            rq_addr[rq_tail] <= araddr[WA+SHIFT-1:SHIFT];
            rq_len[rq_tail] <= arlen;
            rq_due[rq_tail] <= now + {16'd0, rd_lat};
            rq_tail <= rq_tail + 1'b1;
        end
        if (r_fire) begin
            rbeat <= rlast ? 8'd0 : rbeat + 8'd1;
            if (rlast) rq_head <= rq_head + 1'b1;
        end
        rq_n <= rq_n + (QB+1)'(ar_fire) - (QB+1)'(r_fire && rlast);
        rgap <= r_fire ? 16'd1 : (rgap < beat_gap ? rgap + 16'd1 : rgap);
        if (rst) begin
            rq_n <= '0;
            rq_head <= '0;
            rq_tail <= '0;
            rbeat <= 8'd0;
            rgap <= 16'hffff;
        end
    end

    // ---------------------------------------------------------------- writes
    // a queue of accepted AW addresses (W beats go to the head's), a queue of pending B due cycles
    reg [WA-1:0] aq_addr [0:DEPTH-1];
    reg [QB:0] aq_n, bq_n;
    reg [QB-1:0] aq_head, aq_tail, bq_head, bq_tail;
    reg [31:0] bq_due [0:DEPTH-1];
    reg [7:0] wbeat;
    reg [15:0] wgap;
    wire aw_fire = awvalid && awready;
    wire w_can = (aq_n != '0) && (wgap >= beat_gap) && (bq_n != (QB+1)'(DEPTH));
    wire w_fire = wvalid && wready;
    wire b_due = (bq_n != '0) && (now >= bq_due[bq_head]);
    wire b_fire = bvalid && bready;
    assign awready = (aq_n != (QB+1)'(DEPTH)) && open_aw;
    assign wready = w_can && open_w;
    assign bvalid = b_due && open_b;
    assign mem_wr_en = w_fire;
    assign mem_wr_addr = aq_addr[aq_head] + WA'(wbeat);
    assign mem_wr_data = wdata;
    assign mem_wr_strb = wstrb;
    always @(posedge clk) begin
        if (aw_fire) begin
            aq_addr[aq_tail] <= awaddr[WA+SHIFT-1:SHIFT];
            aq_tail <= aq_tail + 1'b1;
        end
        if (w_fire) begin
            wbeat <= wlast ? 8'd0 : wbeat + 8'd1;
            if (wlast) begin
                aq_head <= aq_head + 1'b1;
                bq_due[bq_tail] <= now + {16'd0, wr_lat};
                bq_tail <= bq_tail + 1'b1;
            end
        end
        if (b_fire) bq_head <= bq_head + 1'b1;
        aq_n <= aq_n + (QB+1)'(aw_fire) - (QB+1)'(w_fire && wlast);
        bq_n <= bq_n + (QB+1)'(w_fire && wlast) - (QB+1)'(b_fire);
        wgap <= w_fire ? 16'd1 : (wgap < beat_gap ? wgap + 16'd1 : wgap);
        if (rst) begin
            aq_n <= '0;
            bq_n <= '0;
            aq_head <= '0;
            aq_tail <= '0;
            bq_head <= '0;
            bq_tail <= '0;
            wbeat <= 8'd0;
            wgap <= 16'hffff;
        end
    end

    // ---------------------------------------------------------------- stall count
    wire stall_now = (arvalid && !arready && rq_n != (QB+1)'(DEPTH)) || (r_due && rready && !open_r)
                   || (awvalid && !awready && aq_n != (QB+1)'(DEPTH)) || (wvalid && w_can && !open_w)
                   || (bready && b_due && !open_b);
    always @(posedge clk)
        if (rst) stalls <= 32'd0;
        else if (stall_now) stalls <= stalls + 32'd1;
endmodule
