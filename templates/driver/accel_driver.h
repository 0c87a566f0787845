/* Bare-metal driver of a codesign accelerator (docs/driver.md): the same steps as the Python
 * driver (driver/accel.py). Register offsets from accel_regs.h (generated from
 * codesign/driver/regmap.toml), the design's DRAM layout from accel_layout.h. */
#ifndef ACCEL_DRIVER_H
#define ACCEL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* Cache maintenance around DMA buffers: define these to the platform's calls before including
 * (Xilinx standalone: Xil_DCacheFlushRange / Xil_DCacheInvalidateRange); no-ops by default. */
#ifndef ACCEL_FLUSH
#define ACCEL_FLUSH(ptr, len) ((void)(ptr), (void)(len))
#endif
#ifndef ACCEL_INVALIDATE
#define ACCEL_INVALIDATE(ptr, len) ((void)(ptr), (void)(len))
#endif

typedef struct {
    volatile uint32_t *regs;  /* the core's AXI4-Lite window */
} accel_t;

typedef struct {
    uint32_t kind;     /* 1 read response, 2 write response, 3 misaligned DRAM address */
    uint32_t resp;     /* RRESP/BRESP: 2 SLVERR, 3 DECERR */
    uint32_t chunk;    /* the chunk whose DMA saw it */
    uint32_t address;  /* DRAM address of the failing burst */
} accel_error_t;

enum { ACCEL_OK = 0, ACCEL_ERR_AXI = -1, ACCEL_ERR_TIMEOUT = -2, ACCEL_ERR_DESIGN = -3, ACCEL_ERR_ARGS = -4 };

void accel_init(accel_t *acc, uintptr_t regs_base);
/* ACCEL_OK when the core is the design of accel_layout.h */
int accel_check_design(const accel_t *acc);
/* Copy the parameters (ACCEL_PARAM_BYTES, e.g. driver/params.bin) to the DRAM at param_dram and the
 * frames' input images (ACCEL_INPUT_BYTES each) into activation regions ACCEL_FRAME_BYTES apart
 * at act_dram; both addresses must be multiples of ACCEL_AXI_BYTES and reachable by the core at
 * the same numeric address (bare metal: physical = virtual). */
void accel_load(uint8_t *param_dram, const uint8_t *params, uint8_t *act_dram, const uint8_t *images, uint32_t frames);
/* Start a run of `frames` frames (the interrupt enabled when irq is non-zero). */
int accel_start(const accel_t *acc, uintptr_t param_dram, uintptr_t act_dram, uint32_t frames, int irq);
/* Poll STATUS up to max_polls times: ACCEL_OK when done, ACCEL_ERR_AXI (err filled) or ACCEL_ERR_TIMEOUT. */
int accel_wait(const accel_t *acc, uint32_t max_polls, accel_error_t *err);
/* The interrupt handler's part: acknowledge the interrupt; returns IRQ_STATUS before clearing. */
uint32_t accel_irq_ack(const accel_t *acc);
/* Frame f's output tensor (ACCEL_OUTPUT_BYTES) after the run. */
const uint8_t *accel_output(const uint8_t *act_dram, uint32_t frame);

#endif
