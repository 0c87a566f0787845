/* Bare-metal driver of a codesign accelerator: see accel_driver.h and docs/driver.md. */
#include <string.h>

#include "accel_driver.h"
#include "accel_layout.h"
#include "accel_regs.h"

static uint32_t rd(const accel_t *acc, uint32_t offset) { return acc->regs[offset / 4u]; }
static void wr(const accel_t *acc, uint32_t offset, uint32_t value) { acc->regs[offset / 4u] = value; }

void accel_init(accel_t *acc, uintptr_t regs_base) { acc->regs = (volatile uint32_t *)regs_base; }

int accel_check_design(const accel_t *acc) {
    if (rd(acc, ACCEL_REG_DESIGN_ID) != ACCEL_DESIGN_ID || rd(acc, ACCEL_REG_LAYER_COUNT) != ACCEL_LAYERS)
        return ACCEL_ERR_DESIGN;
    return ACCEL_OK;
}

void accel_load(uint8_t *param_dram, const uint8_t *params, uint8_t *act_dram, const uint8_t *images, uint32_t frames) {
    uint32_t f;
    memcpy(param_dram, params, ACCEL_PARAM_BYTES);
    ACCEL_FLUSH(param_dram, ACCEL_PARAM_BYTES);
    for (f = 0; f < frames; f++)
        memcpy(act_dram + (size_t)f * ACCEL_FRAME_BYTES + ACCEL_INPUT_OFFSET, images + (size_t)f * ACCEL_INPUT_BYTES,
               ACCEL_INPUT_BYTES);
    ACCEL_FLUSH(act_dram, (size_t)frames * ACCEL_FRAME_BYTES);
}

int accel_start(const accel_t *acc, uintptr_t param_dram, uintptr_t act_dram, uint32_t frames, int irq) {
    if (frames == 0u || (param_dram | act_dram) % ACCEL_AXI_BYTES != 0u || (uint64_t)act_dram > 0xFFFFFFFFu
        || (uint64_t)param_dram > 0xFFFFFFFFu)
        return ACCEL_ERR_ARGS;
    if (rd(acc, ACCEL_REG_STATUS) & ACCEL_STATUS_BUSY_MASK)
        return ACCEL_ERR_ARGS;
    wr(acc, ACCEL_REG_IRQ_STATUS, ACCEL_IRQ_STATUS_DONE_MASK | ACCEL_IRQ_STATUS_ERROR_MASK);
    wr(acc, ACCEL_REG_IRQ_ENABLE, irq ? (ACCEL_IRQ_ENABLE_DONE_MASK | ACCEL_IRQ_ENABLE_ERROR_MASK) : 0u);
    wr(acc, ACCEL_REG_PARAM_BASE, (uint32_t)param_dram);
    wr(acc, ACCEL_REG_ACT_BASE, (uint32_t)act_dram);
    wr(acc, ACCEL_REG_FRAME_STRIDE, ACCEL_FRAME_BYTES);
    wr(acc, ACCEL_REG_FRAMES, frames);
    wr(acc, ACCEL_REG_CONTROL, ACCEL_CONTROL_START_MASK);
    return ACCEL_OK;
}

int accel_wait(const accel_t *acc, uint32_t max_polls, accel_error_t *err) {
    uint32_t i, status = 0u, st;
    for (i = 0; i < max_polls; i++) {
        status = rd(acc, ACCEL_REG_STATUS);
        if (status & (ACCEL_STATUS_DONE_MASK | ACCEL_STATUS_ERROR_MASK))
            break;
    }
    if (status & ACCEL_STATUS_ERROR_MASK) {
        st = rd(acc, ACCEL_REG_ERR_STATUS);
        if (err) {
            err->kind = (st & ACCEL_ERR_STATUS_KIND_MASK) >> ACCEL_ERR_STATUS_KIND_SHIFT;
            err->resp = (st & ACCEL_ERR_STATUS_RESP_MASK) >> ACCEL_ERR_STATUS_RESP_SHIFT;
            err->chunk = (st & ACCEL_ERR_STATUS_CHUNK_MASK) >> ACCEL_ERR_STATUS_CHUNK_SHIFT;
            err->address = rd(acc, ACCEL_REG_ERR_ADDR);
        }
        return ACCEL_ERR_AXI;
    }
    return (status & ACCEL_STATUS_DONE_MASK) ? ACCEL_OK : ACCEL_ERR_TIMEOUT;
}

uint32_t accel_irq_ack(const accel_t *acc) {
    uint32_t pending = rd(acc, ACCEL_REG_IRQ_STATUS);
    wr(acc, ACCEL_REG_IRQ_STATUS, pending);
    return pending;
}

const uint8_t *accel_output(const uint8_t *act_dram, uint32_t frame) {
    ACCEL_INVALIDATE(act_dram + (size_t)frame * ACCEL_FRAME_BYTES + ACCEL_OUTPUT_OFFSET, ACCEL_OUTPUT_BYTES);
    return act_dram + (size_t)frame * ACCEL_FRAME_BYTES + ACCEL_OUTPUT_OFFSET;
}
