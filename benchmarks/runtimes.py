"""The same 784-50-100-10 sigmoid net in PyTorch and ONNX Runtime, for side-by-side inference benchmarks.

Each maker returns None when its package is missing (pip install -r requirements-bench.txt), so a benchmark
times what is installed and says what it left out. Every runner maps its input to predicted digits (n,).
"""
import numpy as np


def torch_runners(params, threads):
    """{'torch': batch(x_float, batch_size), 'torch one': one(x_float)} on the same weights, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    W = [torch.from_numpy(np.ascontiguousarray(params[f"W{i}"])) for i in (1, 2, 3)]
    b = [torch.from_numpy(np.ascontiguousarray(params[f"b{i}"])) for i in (1, 2, 3)]

    def batch(x, batch_size):
        xt = torch.from_numpy(x)
        out = torch.empty(len(x), dtype=torch.int64)
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                h = torch.sigmoid(torch.addmm(b[0], xt[i:i + batch_size], W[0]))
                h = torch.sigmoid(torch.addmm(b[1], h, W[1]))
                out[i:i + batch_size] = torch.addmm(b[2], h, W[2]).argmax(dim=1)
        return out.numpy()

    def one(x):
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            for i in range(len(x)):
                h = torch.sigmoid(torch.addmm(b[0], xt[i:i + 1], W[0]))
                h = torch.sigmoid(torch.addmm(b[1], h, W[1]))
                torch.addmm(b[2], h, W[2]).argmax(dim=1)
    return {"torch": batch, "torch one": one}


def onnx_model(params, *, uint8_input):
    """The net as an ONNX graph: MatMul, Add, Sigmoid twice, then MatMul, Add, ArgMax. With uint8_input, a Cast to float
    comes first and W1 is divided by 255, the engine's own job (pixels in); without it, the input is already x / 255."""
    from onnx import TensorProto, helper, numpy_helper

    W1 = params["W1"] / np.float32(255) if uint8_input else params["W1"]
    weights = {**params, "W1": W1.astype(np.float32)}
    nodes = [helper.make_node("Cast", ["pixels"], ["x"], to=TensorProto.FLOAT)] if uint8_input else []
    for i, src in ((1, "x"), (2, "z1"), (3, "z2")):
        nodes += [helper.make_node("MatMul", [src, f"W{i}"], [f"m{i}"]), helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        if i < 3:
            nodes.append(helper.make_node("Sigmoid", [f"a{i}"], [f"z{i}"]))
    nodes.append(helper.make_node("ArgMax", ["a3"], ["digit"], axis=1, keepdims=0))
    name, kind = ("pixels", TensorProto.UINT8) if uint8_input else ("x", TensorProto.FLOAT)
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info(name, kind, ["n", 784])],
                              [helper.make_tensor_value_info("digit", TensorProto.INT64, ["n"])],
                              [numpy_helper.from_array(np.ascontiguousarray(v, np.float32), k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString(), name


def onnx_runners(params, threads):
    """{'onnxruntime': batch(x_float, bs), 'onnxruntime u8': batch(x_uint8, bs), 'onnxruntime one': one(x_float)}, or None."""
    try:
        import onnx  # noqa: F401  (builds the graph)
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    def session(uint8_input):
        model, name = onnx_model(params, uint8_input=uint8_input)
        s = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

        def batch(x, batch_size):
            out = np.empty(len(x), np.int64)
            for i in range(0, len(x), batch_size):
                out[i:i + batch_size] = s.run(None, {name: x[i:i + batch_size]})[0]
            return out
        return s, name, batch

    s, name, batch = session(False)

    def one(x):
        for i in range(len(x)):
            s.run(None, {name: x[i:i + 1]})
    return {"onnxruntime": batch, "onnxruntime u8": session(True)[2], "onnxruntime one": one}


def versions():
    """'torch X, onnxruntime Y' for what is installed."""
    found = []
    for name in ("torch", "onnxruntime"):
        try:
            found.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            found.append(f"{name} not installed")
    return ", ".join(found)
