"""fp16_graphs.py on small graphs with the float32 regions a float16 graph keeps (an attention
block's scores and softmax; a sinusoidal timestep embedding; a written-out LayerNorm's
statistics): which nodes are found,
the repair of the converter's Casts, and (with onnxruntime's Python package, else skipped) the
converted graph against the float32 one. Run from models/recipes:
nice -n 19 python3 -m unittest discover -s tests -p 'test_fp16_graphs.py' -v"""
from __future__ import annotations

import importlib.util
import sys
import unittest
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RECIPES = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RECIPES))

import fp16_graphs  # noqa: E402

HAS_ORT = importlib.util.find_spec("onnxruntime") is not None
D = 8
TOKENS = 4
# large t times a frequency of 1: float16 holds 999.7 as 999.5, so sin and cos move by ~0.2
FREQS = np.array([[1.0, 0.1, 0.01, 0.001]], dtype=np.float32)


def weight(name, rows, cols, seed):
    return numpy_helper.from_array(np.random.default_rng(seed).normal(0, 0.5, (rows, cols)).astype(np.float32), name)


def attention_and_timestep_graph() -> onnx.ModelProto:
    """x [B,4,8] + embed(timestep [B]) -> one attention head -> out [B,4,8]."""
    nodes = [
        helper.make_node("Constant", [], ["freqs"], name="freqs_const", value=numpy_helper.from_array(FREQS)),
        helper.make_node("Unsqueeze", ["timestep", "axis1"], ["t1"], name="t_unsqueeze"),
        helper.make_node("Mul", ["t1", "freqs"], ["arg"], name="t_mul"),
        helper.make_node("Sin", ["arg"], ["sin"], name="t_sin"),
        helper.make_node("Cos", ["arg"], ["cos"], name="t_cos"),
        helper.make_node("Concat", ["sin", "cos"], ["temb"], name="t_concat", axis=1),
        helper.make_node("MatMul", ["temb", "w_t"], ["tproj"], name="t_linear"),
        helper.make_node("Unsqueeze", ["tproj", "axis1"], ["tproj3"], name="t_unsqueeze3"),
        helper.make_node("Add", ["x", "tproj3"], ["h"], name="h_add"),
        helper.make_node("MatMul", ["h", "w_q"], ["q"], name="to_q"),
        helper.make_node("MatMul", ["h", "w_k"], ["k"], name="to_k"),
        helper.make_node("MatMul", ["h", "w_v"], ["v"], name="to_v"),
        helper.make_node("Transpose", ["k"], ["kT"], name="k_transpose", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kT"], ["scores"], name="qk"),
        helper.make_node("Mul", ["scores", "scale"], ["scaled"], name="qk_scale"),
        helper.make_node("Add", ["scaled", "mask"], ["masked"], name="qk_mask"),
        helper.make_node("Softmax", ["masked"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v"], ["attended"], name="pv"),
        helper.make_node("MatMul", ["attended", "w_o"], ["out"], name="to_out"),
    ]
    mask = np.triu(np.full((TOKENS, TOKENS), -1e4, dtype=np.float32), 1)
    initializers = [weight("w_t", D, D, 1), weight("w_q", D, D, 2), weight("w_k", D, D, 3), weight("w_v", D, D, 4),
                    weight("w_o", D, D, 5), numpy_helper.from_array(np.array(D ** -0.5, dtype=np.float32), "scale"),
                    numpy_helper.from_array(mask, "mask"), numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
    graph = helper.make_graph(
        nodes, "attention_and_timestep",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", TOKENS, D]),
         helper.make_tensor_value_info("timestep", TensorProto.FLOAT, ["B"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["B", TOKENS, D])], initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


class FindsTheFloat32Regions(unittest.TestCase):
    def setUp(self):
        self.graph = attention_and_timestep_graph().graph

    def test_attention_scores_back_from_the_softmax_to_the_qk_product(self):
        self.assertEqual(set(fp16_graphs.attention_score_nodes(self.graph)), {"softmax", "qk_mask", "qk_scale", "qk"})

    def test_timestep_embedding_up_to_the_first_product_with_a_weight(self):
        self.assertEqual(set(fp16_graphs.timestep_embedding_nodes(self.graph, "timestep")),
                         {"t_unsqueeze", "t_mul", "t_sin", "t_cos", "t_concat"})

    def test_both_regions_and_the_constant_that_only_they_read(self):
        keep = fp16_graphs.float32_nodes(self.graph, "timestep")
        self.assertEqual(set(keep), {"softmax", "qk_mask", "qk_scale", "qk", "t_unsqueeze", "t_mul", "t_sin", "t_cos",
                                     "t_concat", "freqs_const"})
        self.assertEqual(len(keep), len(set(keep)))
        self.assertNotIn("freqs_const", fp16_graphs.float32_nodes(self.graph))  # no timestep: its users are float16

    def test_a_written_out_layer_norm_keeps_its_statistics_not_its_affine(self):
        node = helper.make_node
        graph = helper.make_graph(
            [node("ReduceMean", ["x"], ["mean"], name="mean", axes=[-1]),
             node("Sub", ["x", "mean"], ["d"], name="sub"),
             node("Pow", ["d", "two"], ["d2"], name="pow"),
             node("ReduceMean", ["d2"], ["var"], name="var", axes=[-1]),
             node("Add", ["var", "eps"], ["var_eps"], name="add_eps"),
             node("Sqrt", ["var_eps"], ["std"], name="sqrt"),
             node("Div", ["d", "std"], ["normed"], name="div"),
             node("Mul", ["normed", "gamma"], ["scaled"], name="gamma_mul"),
             node("Add", ["scaled", "beta"], ["y"], name="beta_add"),
             node("Pow", ["x", "two"], ["x2"], name="square_of_x")],  # a square of something else: not a LayerNorm
            "ln", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, D])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, D]), helper.make_tensor_value_info("x2", TensorProto.FLOAT, [2, D])],
            [numpy_helper.from_array(np.array(2, dtype=np.float32), "two"), numpy_helper.from_array(np.array(1e-6, dtype=np.float32), "eps"),
             numpy_helper.from_array(np.ones(D, dtype=np.float32), "gamma"), numpy_helper.from_array(np.zeros(D, dtype=np.float32), "beta")])
        self.assertEqual(fp16_graphs.layer_norm_statistics_nodes(graph), ["mean", "sub", "pow", "var", "add_eps", "sqrt", "div"])
        self.assertEqual(set(fp16_graphs.float32_nodes(graph)), {"mean", "sub", "pow", "var", "add_eps", "sqrt", "div"})
        self.assertEqual(fp16_graphs.layer_norm_statistics_nodes(self.graph), [])

    def test_unnamed_nodes_get_unique_names(self):
        graph = attention_and_timestep_graph().graph
        graph.node[3].name = ""
        graph.node[4].name = ""
        fp16_graphs.name_unnamed_nodes(graph)
        names = [n.name for n in graph.node]
        self.assertTrue(all(names))
        self.assertEqual(len(names), len(set(names)))


class JoinsFloat32Regions(unittest.TestCase):
    def test_round_trip_through_float16_between_float32_nodes_is_read_from_the_source(self):
        # what the converter writes for two blocked nodes A -> B, B used twice: A's float32 output
        # renamed, a Cast to float16 under the old name, a Cast back per blocked user (same name twice)
        to16 = helper.make_node("Cast", ["a_cast_to_fp16"], ["a"], name="a_to16", to=TensorProto.FLOAT16)
        back = [helper.make_node("Cast", ["a"], ["a_cast_to_fp32"], name="a_to32", to=TensorProto.FLOAT) for _ in range(2)]
        graph = helper.make_graph(
            [helper.make_node("Relu", ["x"], ["a_cast_to_fp16"], name="A"), to16, *back,
             helper.make_node("Softmax", ["a_cast_to_fp32"], ["b"], name="B"),
             helper.make_node("Softmax", ["a_cast_to_fp32"], ["c"], name="C"),
             helper.make_node("Cast", ["a"], ["d"], name="D_to32", to=TensorProto.FLOAT)],
            "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in ("b", "c", "d")],
            value_info=[helper.make_tensor_value_info("a_cast_to_fp16", TensorProto.FLOAT, [2]),
                        helper.make_tensor_value_info("a", TensorProto.FLOAT16, [2])])
        fp16_graphs.join_float32_regions(graph)
        by_name = {n.name: n for n in graph.node}
        self.assertEqual(list(by_name["B"].input), ["a_cast_to_fp16"])
        self.assertEqual(list(by_name["C"].input), ["a_cast_to_fp16"])
        self.assertNotIn("a_to32", by_name)  # duplicates and the now unused Casts are gone
        # a graph output is never re-pointed, so the Cast to float16 it reads stays
        self.assertEqual([n.name for n in graph.node], ["A", "a_to16", "B", "C", "D_to32"])

    def test_a_cast_from_a_non_float_source_is_left_alone(self):
        graph = helper.make_graph(
            [helper.make_node("Cast", ["i"], ["h"], name="to16", to=TensorProto.FLOAT16),
             helper.make_node("Cast", ["h"], ["f"], name="to32", to=TensorProto.FLOAT),
             helper.make_node("Relu", ["f"], ["y"], name="R")],
            "g", [helper.make_tensor_value_info("i", TensorProto.INT64, [2])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
        fp16_graphs.join_float32_regions(graph)
        self.assertEqual([n.name for n in graph.node], ["to16", "to32", "R"])


class GraphPrecisions(unittest.TestCase):
    def test_fp32_graphs_override_the_precision_and_unknown_names_are_refused(self):
        self.assertEqual(fp16_graphs.graph_precisions("fp16", "vae"), {"text_encoder": "fp16", "unet": "fp16", "vae": "fp32"})
        self.assertEqual(fp16_graphs.graph_precisions("fp16", ""), {"text_encoder": "fp16", "unet": "fp16", "vae": "fp16"})
        with self.assertRaises(SystemExit):
            fp16_graphs.graph_precisions("fp16", "vae,decoder")


@unittest.skipUnless(HAS_ORT, "onnxruntime's Python package (its float16 converter) is not installed")
class ConvertsWithOnnxRuntime(unittest.TestCase):
    @staticmethod
    def run_graph(model: onnx.ModelProto, feeds: dict) -> np.ndarray:
        import onnxruntime as ort

        return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]

    def setUp(self):
        rng = np.random.default_rng(0)
        self.feeds = {"x": rng.normal(0, 1, (2, TOKENS, D)).astype(np.float32),
                      "timestep": np.array([999.7, 480.3], dtype=np.float32)}
        self.fp32 = attention_and_timestep_graph()
        self.reference = self.run_graph(self.fp32, self.feeds)

    def converted(self, keep: list[str]) -> onnx.ModelProto:
        return fp16_graphs.to_fp16_compute(attention_and_timestep_graph(), keep)

    def test_float32_io_float16_weights_float32_regions(self):
        model = self.converted(fp16_graphs.float32_nodes(self.fp32.graph, "timestep"))
        self.assertEqual([i.type.tensor_type.elem_type for i in model.graph.input], [TensorProto.FLOAT] * 2)
        self.assertEqual(model.graph.output[0].type.tensor_type.elem_type, TensorProto.FLOAT)
        weights = {t.name: t.data_type for t in model.graph.initializer}
        self.assertEqual(weights["w_q"], TensorProto.FLOAT16)
        self.assertEqual(weights["mask"], TensorProto.FLOAT)  # read by the float32 mask Add only
        onnx.checker.check_model(model)
        typed = onnx.shape_inference.infer_shapes(model).graph
        types = {v.name: v.type.tensor_type.elem_type for v in list(typed.value_info) + list(typed.output)}
        nodes = {n.name: n for n in typed.node}
        for name in ("qk", "qk_scale", "qk_mask", "softmax", "t_mul", "t_sin", "t_concat"):
            self.assertEqual(types[nodes[name].output[0]], TensorProto.FLOAT, name)
        for name in ("to_q", "pv", "to_out", "t_linear"):
            self.assertEqual(types[nodes[name].output[0]], TensorProto.FLOAT16, name)
        self.assertEqual(types[nodes["t_mul"].input[0]], TensorProto.FLOAT)  # t itself never rounded to float16

    def test_close_to_float32_and_closer_than_without_the_float32_regions(self):
        kept = self.run_graph(self.converted(fp16_graphs.float32_nodes(self.fp32.graph, "timestep")), self.feeds)
        plain = self.run_graph(self.converted([]), self.feeds)
        scale = np.abs(self.reference).max()
        kept_error = np.abs(kept - self.reference).max() / scale
        plain_error = np.abs(plain - self.reference).max() / scale
        self.assertLess(kept_error, 1e-2)
        self.assertGreater(plain_error, 5 * kept_error)  # t = 999.7 rounded to 999.5 before sin / cos


if __name__ == "__main__":
    unittest.main()
