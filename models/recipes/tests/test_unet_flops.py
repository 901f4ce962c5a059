"""unet_flops.py's count on small modules whose FLOPs are worked out by hand, and its MatMul
graph. Run from models/recipes: python3 -m unittest discover -s tests -p 'test_unet_flops.py' -v"""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

import onnx
import torch
from torch import nn

RECIPES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPES))

from unet_flops import count_flops, write_matmul  # noqa: E402


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)  # 3 x 4 x 4 outputs, 2 x 3 x 3 multiply-adds each
        self.strided = nn.Conv2d(3, 5, 1, stride=2)  # 5 x 2 x 2 outputs, 3 each
        self.linear = nn.Linear(6, 7)  # 7 outputs, 6 each
        self.attention = nn.MultiheadAttention(8, 2, kdim=4, vdim=4, batch_first=True)

    def forward(self, image: torch.Tensor, vector: torch.Tensor, tokens: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        self.attention(tokens, context, context, need_weights=False)
        return self.strided(self.conv(image)).sum() + self.linear(vector).sum()


class CountFlopsTest(unittest.TestCase):
    def test_counts_two_flops_per_multiply_add_by_kind(self) -> None:
        flops = count_flops(Small(), torch.zeros(1, 2, 4, 4), torch.zeros(1, 6), torch.zeros(1, 3, 8), torch.zeros(1, 5, 4))
        self.assertEqual(flops["conv"], 2 * (3 * 16 * 2 * 9 + 5 * 4 * 3))
        self.assertEqual(flops["linear"], 2 * 7 * 6)
        # 3 queries of width 8 over 5 context tokens of width 4: q, k, v projections, QK^T, AV, out
        self.assertEqual(flops["attention"], 2 * (3 * 8 * 8 + 5 * 4 * 8 + 5 * 4 * 8 + 2 * 3 * 5 * 8 + 3 * 8 * 8))

    def test_counts_every_row_of_a_batch(self) -> None:
        one = count_flops(Small(), torch.zeros(1, 2, 4, 4), torch.zeros(1, 6), torch.zeros(1, 3, 8), torch.zeros(1, 5, 4))
        three = count_flops(Small(), torch.zeros(3, 2, 4, 4), torch.zeros(3, 6), torch.zeros(3, 3, 8), torch.zeros(3, 5, 4))
        self.assertEqual({k: 3 * v for k, v in one.items()}, three)

    def test_matmul_graph_has_a_dynamic_row_count_and_a_square_weight(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "matmul.onnx"
            write_matmul(path, 16)
            model = onnx.load(str(path))
            onnx.checker.check_model(model)
            self.assertEqual([n.op_type for n in model.graph.node], ["MatMul"])
            self.assertEqual(list(model.graph.initializer[0].dims), [16, 16])
            dims = model.graph.input[0].type.tensor_type.shape.dim
            self.assertEqual((dims[0].dim_param, dims[1].dim_value), ("m", 16))


if __name__ == "__main__":
    unittest.main()
