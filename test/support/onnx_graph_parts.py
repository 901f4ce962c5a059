"""Parts of the tiny ONNX graphs the test fixtures are made of (packages/unclip/test/fixtures/
make_tiny_models.py, packages/model-pack/test/fixtures/make_tiny_pack.py): build tools for
committed fixture files, run with Debian's python3-onnx."""
from onnx import helper


def value_infos(*specs):
    """The graph inputs or outputs (name, element type, shape) as ONNX value infos, in order."""
    return [helper.make_tensor_value_info(name, elem_type, shape) for name, elem_type, shape in specs]


def scaled_mean(source, short, axes, k, out):
    """k * mean of `source` over `axes`, broadcast per batch row: <short>_mean -> <short>4 -> out."""
    return [helper.make_node("ReduceMean", [source], [short + "_mean"], axes=axes, keepdims=1),
            helper.make_node("Reshape", [short + "_mean", "shape_b111"], [short + "4"]),
            helper.make_node("Mul", [short + "4", k], [out])]


def sum_of(terms, out):
    """terms[0] + terms[1] + ... as a chain of Adds, the partial sums named by their terms (ab, abc, ...)."""
    nodes, total = [], terms[0]
    for i, term in enumerate(terms[1:], start=1):
        name = out if i == len(terms) - 1 else total + term
        nodes.append(helper.make_node("Add", [total, term], [name]))
        total = name
    return nodes


def scaled_timestep(shape, reshaped, out, cast_to=None):
    """k_time * timestep, one value per batch row reshaped by `shape` (cast first when the graph's
    timestep is not float)."""
    nodes, source = [], "timestep"
    if cast_to is not None:
        nodes.append(helper.make_node("Cast", ["timestep"], ["t_float"], to=cast_to))
        source = "t_float"
    return nodes + [helper.make_node("Reshape", [source, shape], [reshaped]), helper.make_node("Mul", [reshaped, "k_time"], [out])]
