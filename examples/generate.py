"""Writes the example DesignPoints in this folder (run: python examples/generate.py)."""

from pathlib import Path

from codesign.cost import evaluate
from codesign.design import Accelerator, Chunk, Dataset, DesignPoint, Layer, save_design

HERE = Path(__file__).parent


def tiny_mbconv(bits: list[tuple[int, int]]) -> list[Layer]:
    """A stem, one MBConv block with its residual, pooling and a classifier on 16x16x1 digits."""
    (w0, a0), (w1, a1), (w2, a2), (w3, a3), (_, a4), (_, a5), (_, a6), (w7, a7) = bits
    return [
        Layer(name="stem", kind="conv", inputs=[-1], in_shape=(16, 16, 1), out_shape=(8, 8, 8), kernel=3,
              stride=2, padding=1, relu=True, w_bits=w0, a_bits=a0, block="stem"),
        Layer(name="b1_expand", kind="conv", inputs=[0], in_shape=(8, 8, 8), out_shape=(8, 8, 16), relu=True,
              w_bits=w1, a_bits=a1, block="mb_k3_e2"),
        Layer(name="b1_dw", kind="dwconv", inputs=[1], in_shape=(8, 8, 16), out_shape=(8, 8, 16), kernel=3,
              padding=1, relu=True, w_bits=w2, a_bits=a2, block="mb_k3_e2"),
        Layer(name="b1_project", kind="conv", inputs=[2], in_shape=(8, 8, 16), out_shape=(8, 8, 8),
              w_bits=w3, a_bits=a3, block="mb_k3_e2"),
        Layer(name="b1_add", kind="add", inputs=[0, 3], in_shape=(8, 8, 8), out_shape=(8, 8, 8), a_bits=a4,
              block="mb_k3_e2"),
        Layer(name="pool", kind="maxpool", inputs=[4], in_shape=(8, 8, 8), out_shape=(4, 4, 8), kernel=2,
              stride=2, a_bits=a5, block="head"),
        Layer(name="gap", kind="avgpool", inputs=[5], in_shape=(4, 4, 8), out_shape=(1, 1, 8), a_bits=a6,
              block="head"),
        Layer(name="fc", kind="fc", inputs=[6], in_shape=(1, 1, 8), out_shape=(1, 1, 10), w_bits=w7, a_bits=a7,
              block="head"),
    ]


def write(name: str, layers: list[Layer], chunks: list[Chunk]) -> None:
    design = DesignPoint(name=name, dataset=Dataset(name="digits", input_shape=(16, 16, 1), num_classes=10),
                         layers=layers, accelerator=Accelerator(target="zc706", clock_mhz=200.0, chunks=chunks))
    design = design.model_copy(update={"predicted": evaluate(design).predicted()})
    save_design(design, HERE / f"{name}.json")


def main() -> None:
    write("single_chunk_os_int8", tiny_mbconv([(8, 8)] * 8),
          [Chunk(first_layer=0, last_layer=7, rows=8, cols=8, dataflow="os", mult_bits=8,
                 act_buf_kib=16, wgt_buf_kib=8)])
    write("two_chunk_mixed", tiny_mbconv([(8, 8), (6, 6), (4, 6), (4, 8), (8, 8), (8, 8), (8, 8), (6, 8)]),
          [Chunk(first_layer=0, last_layer=2, rows=4, cols=8, dataflow="os", mult_bits=8,
                 act_buf_kib=16, wgt_buf_kib=4),
           Chunk(first_layer=3, last_layer=7, rows=8, cols=4, dataflow="ws", mult_bits=8,
                 act_buf_kib=8, wgt_buf_kib=4)])


if __name__ == "__main__":
    main()
