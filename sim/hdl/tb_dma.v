// axi_dma alone with the AXI4 signals it ties off inside accel_top (one ID, INCR bursts of
// full-width beats), so that cocotbext-axi's AxiRam can serve it (tests/test_dma.py, sim/tb_dma.py).
module tb_dma #(parameter DB = 8, parameter BURST_BEATS = 8, parameter AB = 16, parameter N_OUT = 8) (
    input  wire              clk,
    input  wire              rst,
    input  wire              start,
    input  wire              to_dram,
    input  wire [31:0]       dram_addr,
    input  wire [AB-1:0]     buf_off,
    input  wire [31:0]       nbytes,
    output wire              done,
    output wire              err,
    output wire [1:0]        err_kind,
    output wire [1:0]        err_resp,
    output wire [31:0]       err_addr,
    output wire              idle,
    output wire              buf_wr_en,
    output wire [AB-1:0]     buf_addr,
    output wire [DB*8-1:0]   buf_wr_data,
    input  wire [DB*8-1:0]   buf_rd_data,
    output wire [0:0]        m_axi_arid,
    output wire [31:0]       m_axi_araddr,
    output wire [7:0]        m_axi_arlen,
    output wire [2:0]        m_axi_arsize,
    output wire [1:0]        m_axi_arburst,
    output wire              m_axi_arvalid,
    input  wire              m_axi_arready,
    input  wire [0:0]        m_axi_rid,
    input  wire [DB*8-1:0]   m_axi_rdata,
    input  wire [1:0]        m_axi_rresp,
    input  wire              m_axi_rlast,
    input  wire              m_axi_rvalid,
    output wire              m_axi_rready,
    output wire [0:0]        m_axi_awid,
    output wire [31:0]       m_axi_awaddr,
    output wire [7:0]        m_axi_awlen,
    output wire [2:0]        m_axi_awsize,
    output wire [1:0]        m_axi_awburst,
    output wire              m_axi_awvalid,
    input  wire              m_axi_awready,
    output wire [DB*8-1:0]   m_axi_wdata,
    output wire [DB-1:0]     m_axi_wstrb,
    output wire              m_axi_wlast,
    output wire              m_axi_wvalid,
    input  wire              m_axi_wready,
    input  wire [0:0]        m_axi_bid,
    input  wire [1:0]        m_axi_bresp,
    input  wire              m_axi_bvalid,
    output wire              m_axi_bready
);
    assign m_axi_arid = 1'b0;
    assign m_axi_awid = 1'b0;
    assign m_axi_arsize = 3'($clog2(DB));
    assign m_axi_awsize = 3'($clog2(DB));
    assign m_axi_arburst = 2'b01;
    assign m_axi_awburst = 2'b01;
    wire _unused = &{1'b0, m_axi_rid, m_axi_bid};
    axi_dma #(.DB(DB), .BURST_BEATS(BURST_BEATS), .AB(AB), .N_OUT(N_OUT)) u_dma (
        .clk(clk), .rst(rst), .start(start), .to_dram(to_dram), .dram_addr(dram_addr), .buf_off(buf_off),
        .nbytes(nbytes), .done(done), .err(err), .err_kind(err_kind), .err_resp(err_resp), .err_addr(err_addr),
        .idle(idle), .buf_wr_en(buf_wr_en), .buf_addr(buf_addr), .buf_wr_data(buf_wr_data), .buf_rd_data(buf_rd_data),
        .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen), .m_axi_arvalid(m_axi_arvalid),
        .m_axi_arready(m_axi_arready), .m_axi_rdata(m_axi_rdata), .m_axi_rresp(m_axi_rresp), .m_axi_rlast(m_axi_rlast),
        .m_axi_rvalid(m_axi_rvalid), .m_axi_rready(m_axi_rready), .m_axi_awaddr(m_axi_awaddr), .m_axi_awlen(m_axi_awlen),
        .m_axi_awvalid(m_axi_awvalid), .m_axi_awready(m_axi_awready), .m_axi_wdata(m_axi_wdata), .m_axi_wstrb(m_axi_wstrb),
        .m_axi_wlast(m_axi_wlast), .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready), .m_axi_bresp(m_axi_bresp),
        .m_axi_bvalid(m_axi_bvalid), .m_axi_bready(m_axi_bready));
endmodule
