"""The recipes' one ONNX export (onnx_export.py) keeps the batch axis dynamic and the opset
asked for: on this torch for real, and on a torch whose export takes `dynamo=` (2.5+, dynamo
by default from 2.9) by checking that dynamo=False is passed. Run from models/recipes:
nice -n 19 python3 -m unittest discover -s tests -p 'test_onnx_export.py' -v"""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import onnx
import torch

RECIPES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPES))

import onnx_export  # noqa: E402


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.nn.functional.normalize(self.proj(x), dim=-1)


def dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


class ExportOnThisTorch(unittest.TestCase):
    def test_batch_axis_stays_dynamic_and_opset_is_the_one_asked_for(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "tiny.onnx"
            onnx_export.export_torchscript(Tiny().eval(), (torch.randn(2, 4),), path, input_names=["x"],
                                           output_names=["embedding"],
                                           dynamic_axes={"x": {0: "batch"}, "embedding": {0: "batch"}},
                                           opset_version=14)
            model = onnx.load(str(path))
        onnx.checker.check_model(model)
        self.assertEqual(dims(model.graph.input[0]), ["batch", 4])
        self.assertEqual(dims(model.graph.output[0])[0], "batch")
        self.assertEqual([o.version for o in model.opset_import if o.domain in ("", "ai.onnx")], [14])


class DynamoKeyword(unittest.TestCase):
    def run_export(self, fake_export):
        with mock.patch.object(torch.onnx, "export", fake_export):
            onnx_export.export_torchscript(Tiny(), (torch.randn(1, 4),), "unused.onnx", input_names=["x"],
                                           output_names=["y"], dynamic_axes={"x": {0: "batch"}}, opset_version=17)

    def test_a_torch_with_dynamo_gets_dynamo_false(self):
        calls = []

        def export_2x(model, args, f, *, input_names=None, output_names=None, dynamic_axes=None,
                      opset_version=None, do_constant_folding=True, dynamo=True):
            calls.append({"dynamo": dynamo, "opset_version": opset_version, "dynamic_axes": dynamic_axes})

        self.run_export(export_2x)
        self.assertEqual(calls, [{"dynamo": False, "opset_version": 17, "dynamic_axes": {"x": {0: "batch"}}}])

    def test_a_torch_without_dynamo_is_not_given_the_keyword(self):
        calls = []

        def export_113(model, args, f, *, input_names=None, output_names=None, dynamic_axes=None,
                       opset_version=None, do_constant_folding=True):
            calls.append(opset_version)

        self.run_export(export_113)  # a TypeError here would mean dynamo= was passed
        self.assertEqual(calls, [17])

    def test_this_torch_is_detected_by_its_signature(self):
        major, minor = (int(p) for p in torch.__version__.split(".")[:2])
        self.assertEqual(onnx_export.accepts_dynamo_keyword(), (major, minor) >= (2, 5))


if __name__ == "__main__":
    unittest.main()
