// AXI4 burst engine: copies nbytes between DRAM (byte address dram_addr, ALIGN-aligned) and an
// on-chip buffer (byte offset buf_off), one burst of up to BURST_BEATS beats at a time.
// Reads hand each beat to the buffer (wr_*); writes take each beat from the buffer (rd_*), whose
// read data come one cycle after the address (a block RAM's registered read): a two-entry
// prefetch (wq, sk) fetches ahead so that W beats go out back to back.
module axi_dma #(parameter DB = 8, parameter BURST_BEATS = 8, parameter AB = 16) (
    input  wire              clk,
    input  wire              rst,
    input  wire              start,
    input  wire              to_dram,
    input  wire [31:0]       dram_addr,
    input  wire [AB-1:0]     buf_off,
    input  wire [31:0]       nbytes,
    output reg               done,
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
    input  wire              m_axi_bvalid,
    output wire              m_axi_bready
);
    localparam BURST_BYTES = DB * BURST_BEATS;
    localparam S_IDLE = 3'd0, S_AR = 3'd1, S_R = 3'd2, S_AW = 3'd3, S_W = 3'd4, S_B = 3'd5;
    reg [2:0] state;
    reg [31:0] left;        // bytes still to move, from the current burst on
    reg [31:0] addr;
    reg [AB-1:0] off;
    reg [7:0] beat;
    wire [31:0] burst_beats_left = (left + DB - 1) / DB;
    wire [7:0] this_len = (burst_beats_left >= BURST_BEATS) ? BURST_BEATS - 1 : burst_beats_left[7:0] - 8'd1;
    wire [31:0] beat_byte = {24'd0, beat} * DB;
    assign m_axi_rready = (state == S_R);
    assign buf_wr_en = (state == S_R) && m_axi_rvalid;
    assign buf_wr_data = m_axi_rdata;
    assign m_axi_wlast = (beat == m_axi_awlen);
    genvar b;
    generate for (b = 0; b < DB; b = b + 1) begin : g_strb
        assign m_axi_wstrb[b] = (beat_byte + b) < left;
    end endgenerate
    assign m_axi_bready = (state == S_B);
    wire burst_end_r = (state == S_R) && m_axi_rvalid && m_axi_rlast;
    wire burst_end_b = (state == S_B) && m_axi_bvalid;
    wire last_burst = left <= BURST_BYTES;

    // ---- W path: fetch beat after beat from the buffer (data one cycle later), two entries ahead
    reg to_dram_q;
    reg [AB-1:0] foff;      // buffer offset of the next beat to fetch
    reg [31:0] fleft;       // beats still to fetch
    reg pend;               // a fetch went out last cycle: its data is on buf_rd_data now
    reg [DB*8-1:0] wq, sk;  // the W beat on the bus, the one behind it
    reg wq_v, sk_v;
    wire idle = (state == S_IDLE);
    assign m_axi_wvalid = (state == S_W) && wq_v;
    assign m_axi_wdata = wq;
    wire w_fire = m_axi_wvalid && m_axi_wready;
    wire [1:0] held = {1'b0, wq_v} + {1'b0, sk_v} + {1'b0, pend};
    wire fetch = !idle && to_dram_q && (fleft != 32'd0) && (held - {1'b0, w_fire} <= 2'd1);
    assign buf_addr = to_dram_q ? foff : off + beat_byte[AB-1:0];
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
            fleft <= (nbytes + DB - 1) / DB;
        end
    end
    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            state <= S_IDLE;
            m_axi_arvalid <= 1'b0;
            m_axi_awvalid <= 1'b0;
            to_dram_q <= 1'b0;
        end else begin
            case (state)
                S_IDLE: if (start) begin
                    left <= nbytes;
                    addr <= dram_addr;
                    off <= buf_off;
                    to_dram_q <= to_dram;
                    state <= to_dram ? S_AW : S_AR;
                end
                S_AR: begin
                    m_axi_araddr <= addr;
                    m_axi_arlen <= this_len;
                    m_axi_arvalid <= 1'b1;
                    beat <= 8'd0;
                    if (m_axi_arvalid && m_axi_arready) begin
                        m_axi_arvalid <= 1'b0;
                        state <= S_R;
                    end
                end
                S_AW: begin
                    m_axi_awaddr <= addr;
                    m_axi_awlen <= this_len;
                    m_axi_awvalid <= 1'b1;
                    beat <= 8'd0;
                    if (m_axi_awvalid && m_axi_awready) begin
                        m_axi_awvalid <= 1'b0;
                        state <= S_W;
                    end
                end
                S_R: if (m_axi_rvalid) beat <= beat + 8'd1;
                S_W: if (w_fire) begin
                    beat <= beat + 8'd1;
                    if (m_axi_wlast) state <= S_B;
                end
                default: ;
            endcase
            if (burst_end_r || burst_end_b) begin
                addr <= addr + BURST_BYTES;
                off <= off + BURST_BYTES[AB-1:0];
                left <= last_burst ? 32'd0 : left - BURST_BYTES;
                if (last_burst) begin
                    state <= S_IDLE;
                    done <= 1'b1;
                end else begin
                    state <= burst_end_r ? S_AR : S_AW;
                end
            end
        end
    end
endmodule
