// AXI4 burst engine: copies nbytes between DRAM (byte address dram_addr) and an on-chip buffer
// (byte offset buf_off) in INCR bursts of full DB-byte beats: BURST_BEATS beats, fewer for the
// transfer's tail and where a 4 KB boundary comes first (no burst crosses one). Up to N_OUT
// bursts are outstanding (address sent, last R beat / B response not yet back), so that the DRAM's
// latency hides behind the data of the bursts before (docs/verilog.md "DMA").
// Reads: ARs go out one a cycle while fewer than N_OUT are outstanding; R beats (RREADY always
// high) go to the buffer (buf_wr_*) in order. Writes: AWs go out the same way; the W beats come
// from the buffer (its read data one cycle after its address: a registered, block-RAM read) through
// a two-entry prefetch, back to back, WLAST on each burst's last beat. WVALID depends on neither
// AWVALID nor AWREADY (AXI4 A3.3.1): W beats of burst j may go once the B response of burst
// j - N_OUT came back two cycles earlier, which also bounds the W data a slave must hold.
// The transfer ends (done) with its last R beat or B response, all bursts always issued.
// Guards: 0 bytes issue no burst (done the next cycle); a dram_addr that is not a multiple of DB
// issues none either and ends in an error (kind 3). A response other than OKAY (RRESP on any beat,
// BRESP) makes the transfer end with err high with done; err_kind (1 read, 2 write, 3 misaligned),
// err_resp and err_addr (the failing burst's address) hold the first error until the next start.
module axi_dma #(parameter DB = 8, parameter BURST_BEATS = 8, parameter AB = 16, parameter N_OUT = 8) (
    input  wire              clk,
    input  wire              rst,
    input  wire              start,
    input  wire              to_dram,
    input  wire [31:0]       dram_addr,
    input  wire [AB-1:0]     buf_off,
    input  wire [31:0]       nbytes,
    output reg               done,
    output reg               err,
    output reg  [1:0]        err_kind,
    output reg  [1:0]        err_resp,
    output reg  [31:0]       err_addr,
    output wire              idle,
    // buffer side
    output wire              buf_wr_en,
    output wire [AB-1:0]     buf_addr,
    output wire [DB*8-1:0]   buf_wr_data,
    input  wire [DB*8-1:0]   buf_rd_data,
    // AXI4 master
    output reg  [31:0]       m_axi_araddr,
    output reg  [7:0]        m_axi_arlen,
    output reg               m_axi_arvalid,
    input  wire              m_axi_arready,
    input  wire [DB*8-1:0]   m_axi_rdata,
    input  wire [1:0]        m_axi_rresp,
    input  wire              m_axi_rlast,
    input  wire              m_axi_rvalid,
    output wire              m_axi_rready,
    output reg  [31:0]       m_axi_awaddr,
    output reg  [7:0]        m_axi_awlen,
    output reg               m_axi_awvalid,
    input  wire              m_axi_awready,
    output wire [DB*8-1:0]   m_axi_wdata,
    output wire [DB-1:0]     m_axi_wstrb,
    output wire              m_axi_wlast,
    output wire              m_axi_wvalid,
    input  wire              m_axi_wready,
    input  wire [1:0]        m_axi_bresp,
    input  wire              m_axi_bvalid,
    output wire              m_axi_bready
);
    localparam LB = $clog2(DB);
    localparam NB = $clog2(N_OUT + 1);
    // bytes of the burst that starts at addr with `left` bytes still to move: BURST_BEATS beats,
    // fewer at the tail or before a 4 KB boundary
    function automatic [12:0] burst_bytes(input [11:0] addr, input [31:0] left);
        reg [31:0] beats_left;
        reg [12:0] beats_4k, beats;
        begin
            beats_left = (left + DB - 1) >> LB;
            beats_4k = (13'h1000 - {1'b0, addr}) >> LB;
            beats = (beats_left < BURST_BEATS) ? beats_left[12:0] : 13'(BURST_BEATS);
            if (beats_4k < beats) beats = beats_4k;
            burst_bytes = beats << LB;
        end
    endfunction

    reg busy, to_dram_q, fail;
    // three walks over the same burst sequence: the addresses issued (AR / AW), the W beats sent,
    // the bursts completed (last R beat / B); each is (DRAM address, bytes left from it)
    reg [31:0] ia, il, wa, wl, ca, cl;
    wire [12:0] i_bytes = burst_bytes(ia[11:0], il), w_bytes = burst_bytes(wa[11:0], wl), c_bytes = burst_bytes(ca[11:0], cl);
    reg [NB-1:0] nout;      // bursts whose address is out (or on the bus) and not yet completed
    reg [7:0] wbeat;        // the W beat within its burst
    reg [NB-1:0] wsent;     // W bursts sent beyond those completed (two cycles ago): the W window
    reg [AB-1:0] roff;      // buffer offset of the next R beat

    wire rd = busy && !to_dram_q, wr = busy && to_dram_q;
    wire ar_fire = m_axi_arvalid && m_axi_arready, aw_fire = m_axi_awvalid && m_axi_awready;
    wire r_fire = m_axi_rvalid && m_axi_rready, b_fire = m_axi_bvalid && m_axi_bready;
    wire c_fire = (r_fire && m_axi_rlast) || b_fire;       // a burst completed
    wire bad = (r_fire && m_axi_rresp != 2'd0) || (b_fire && m_axi_bresp != 2'd0);
    wire slot = to_dram_q ? (!m_axi_awvalid || aw_fire) : (!m_axi_arvalid || ar_fire);
    wire issue = busy && il != 32'd0 && slot && (nout - NB'(c_fire) < NB'(N_OUT));
    wire last_c = c_fire && cl <= {19'd0, c_bytes};        // the transfer's last burst completed
    assign idle = !busy;
    assign m_axi_rready = rd;
    assign m_axi_bready = wr;
    assign buf_wr_en = r_fire;
    assign buf_wr_data = m_axi_rdata;
    wire misaligned = (dram_addr[LB-1:0] != {LB{1'b0}});

    // ---- W path: fetch beat after beat from the buffer (data one cycle later), two entries ahead
    reg [AB-1:0] foff;      // buffer offset of the next beat to fetch
    reg [31:0] fleft;       // beats still to fetch
    reg pend;               // a fetch went out last cycle: its data is on buf_rd_data now
    reg [DB*8-1:0] wq, sk;  // the W beat on the bus, the one behind it
    reg wq_v, sk_v;
    reg b_q;                // a B response came back last cycle
    assign m_axi_wvalid = wr && wq_v && (wsent < NB'(N_OUT));
    assign m_axi_wdata = wq;
    assign m_axi_wlast = ({5'd0, wbeat} + 13'd1) == (w_bytes >> LB);
    wire w_fire = m_axi_wvalid && m_axi_wready;
    genvar b;
    generate for (b = 0; b < DB; b = b + 1) begin : g_strb
        assign m_axi_wstrb[b] = ({24'd0, wbeat} << LB) + b < wl;
    end endgenerate
    wire [1:0] held = {1'b0, wq_v} + {1'b0, sk_v} + {1'b0, pend};
    wire fetch = wr && (fleft != 32'd0) && (held - {1'b0, w_fire} <= 2'd1);
    assign buf_addr = to_dram_q ? foff : roff;
    always @(posedge clk) begin
        pend <= fetch;
        if (fetch) begin
            foff <= foff + DB[AB-1:0];
            fleft <= fleft - 32'd1;
        end
        if (w_fire) begin
            if (sk_v) begin
                wq <= sk;
                sk <= buf_rd_data;
                sk_v <= pend;
            end else begin
                wq <= buf_rd_data;
                wq_v <= pend;
            end
        end else if (pend) begin
            if (wq_v) begin
                sk <= buf_rd_data;
                sk_v <= 1'b1;
            end else begin
                wq <= buf_rd_data;
                wq_v <= 1'b1;
            end
        end
        if (rst || (idle && start)) begin
            pend <= 1'b0;
            wq_v <= 1'b0;
            sk_v <= 1'b0;
            foff <= buf_off;
            fleft <= (nbytes + DB - 1) >> LB;
        end
    end

    // ---- the bursts
    always @(posedge clk) begin
        done <= 1'b0;
        err <= 1'b0;
        b_q <= b_fire;
        if (ar_fire) m_axi_arvalid <= 1'b0;
        if (aw_fire) m_axi_awvalid <= 1'b0;
        if (issue) begin                      // the next burst's address, one a cycle
            if (to_dram_q) begin
                m_axi_awaddr <= ia;
                m_axi_awlen <= 8'((i_bytes >> LB) - 13'd1);
                m_axi_awvalid <= 1'b1;
            end else begin
                m_axi_araddr <= ia;
                m_axi_arlen <= 8'((i_bytes >> LB) - 13'd1);
                m_axi_arvalid <= 1'b1;
            end
            ia <= ia + {19'd0, i_bytes};
            il <= (il > {19'd0, i_bytes}) ? il - {19'd0, i_bytes} : 32'd0;
        end
        nout <= nout + NB'(issue) - NB'(c_fire);
        wsent <= wsent + NB'(w_fire && m_axi_wlast) - NB'(b_q);
        if (w_fire) begin
            wbeat <= m_axi_wlast ? 8'd0 : wbeat + 8'd1;
            if (m_axi_wlast) begin
                wa <= wa + {19'd0, w_bytes};
                wl <= (wl > {19'd0, w_bytes}) ? wl - {19'd0, w_bytes} : 32'd0;
            end
        end
        if (r_fire) roff <= roff + DB[AB-1:0];
        if (c_fire) begin
            ca <= ca + {19'd0, c_bytes};
            cl <= (cl > {19'd0, c_bytes}) ? cl - {19'd0, c_bytes} : 32'd0;
        end
        if (bad && !fail) begin               // the transfer's first error
            fail <= 1'b1;
            err_kind <= b_fire ? 2'd2 : 2'd1;
            err_resp <= b_fire ? m_axi_bresp : m_axi_rresp;
            err_addr <= ca;
        end
        if (last_c) begin
            busy <= 1'b0;
            done <= 1'b1;
            err <= fail || bad;
        end
        if (idle && start) begin
            ia <= dram_addr;
            wa <= dram_addr;
            ca <= dram_addr;
            il <= nbytes;
            wl <= nbytes;
            cl <= nbytes;
            roff <= buf_off;
            wbeat <= 8'd0;
            fail <= 1'b0;
            to_dram_q <= to_dram;
            err_kind <= 2'd0;
            if (misaligned || nbytes == 32'd0) begin
                done <= 1'b1;
                err <= misaligned;
                if (misaligned) begin
                    err_kind <= 2'd3;
                    err_resp <= 2'd0;
                    err_addr <= dram_addr;
                end
            end else begin
                busy <= 1'b1;
            end
        end
        if (rst) begin
            busy <= 1'b0;
            to_dram_q <= 1'b0;
            m_axi_arvalid <= 1'b0;
            m_axi_awvalid <= 1'b0;
            nout <= '0;
            wsent <= '0;
            b_q <= 1'b0;
            done <= 1'b0;
        end
    end
endmodule
