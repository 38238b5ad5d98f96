"""GPU readiness of the traced steps, from TensorFlow's kernel registry (`selfgnn.gpu_check`).

No GPU is needed: the CUDA build of TensorFlow registers its GPU kernels on any machine.
"""
import pytest
import tensorflow as tf
from tensorflow.python.framework import kernels

from hardgnn import params as hard_params
from hardgnn.model import HardGNN
from selfgnn import gpu_check
from tests.tiny_trainer import tiny_trainer

pytestmark = pytest.mark.skipif(not tf.test.is_built_with_cuda(),
                                reason="a CPU-only TensorFlow build registers no GPU kernels")

F32 = tf.TensorSpec([None, None], tf.float32)


def gpu_dtypes(op, attr):
    """The dtypes of `attr` that some GPU kernel of `op` accepts, from the registry."""
    return {tf.dtypes.as_dtype(t).name for k in kernels.get_registered_kernels_for_op(op).kernel
            if k.device_type == "GPU" for c in k.constraint if c.name == attr
            for t in c.allowed_values.list.type}


def test_float32_matmul_has_a_gpu_kernel():
    fn = tf.function(lambda a, b: tf.matmul(a, b), input_signature=[F32, F32])
    checks = gpu_check.check_ops(fn.get_concrete_function())
    assert checks["MatMul", (("T", "float32"),)].gpu
    assert gpu_check.without_gpu_kernel(checks) == []
    assert gpu_check.forbidden_ops(fn.get_concrete_function()) == []
    line, = [l for l in gpu_check.format_report(checks) if l.startswith("MatMul")]
    assert "T=float32" in line and line.split("  [")[0].endswith("GPU kernel")


def test_py_function_and_numpy_function_are_reported_inside_nested_functions():
    @tf.function
    def inner(x):
        y = tf.py_function(lambda v: v * 2, [x], tf.float32)
        return tf.numpy_function(lambda v: v + 1, [y], tf.float32)

    outer = tf.function(lambda x: inner(x) + 1.0, input_signature=[tf.TensorSpec([3])])
    fn = outer.get_concrete_function()
    found = gpu_check.forbidden_ops(fn)
    assert [f.split(" ")[-1] for f in found] == ["(EagerPyFunc)", "(PyFunc)"]
    assert all(f.startswith("__inference_inner") for f in found)  # in the library function
    checks = gpu_check.check_ops(fn)
    # EagerPyFunc has a DEFAULT kernel (it runs Python on the host whatever the device):
    # the registry alone would pass it, hence the separate forbidden list.
    assert checks["EagerPyFunc", (("Tin", "float32"), ("Tout", "float32"))].gpu
    assert not checks["PyFunc", (("Tin", "float32"), ("Tout", "float32"))].gpu
    assert checks["StatefulPartitionedCall", (("Tin", "float32"), ("Tout", "float32"))].gpu


def test_gather_nd_is_judged_per_dtype_inside_a_while_body():
    # The registry: GatherNd has GPU kernels for float32 params, none for bool (the
    # dtype HardGNN's dns sampler gathers).
    assert "float32" in gpu_dtypes("GatherNd", "Tparams")
    assert "bool" not in gpu_dtypes("GatherNd", "Tparams")

    @tf.function(input_signature=[F32, tf.TensorSpec([None, 2], tf.int32)])
    def fn(x, index):
        def body(i, acc):
            return i + 1, acc + tf.gather_nd(x, index) * tf.cast(tf.gather_nd(x > 0, index),
                                                                  tf.float32)
        return tf.while_loop(lambda i, _: i < 3, body, (0, tf.zeros_like(index[:, 0], tf.float32)))

    checks = gpu_check.check_ops(fn.get_concrete_function())
    float_key = ("GatherNd", (("Tparams", "float32"), ("Tindices", "int32")))
    bool_key = ("GatherNd", (("Tparams", "bool"), ("Tindices", "int32")))
    assert checks[float_key].gpu and not checks[bool_key].gpu
    assert gpu_check.without_gpu_kernel(checks) == [bool_key]
    assert all(w.startswith("while_body") for w in checks[bool_key].where)
    report = gpu_check.format_report(checks, only_missing=True)
    assert len(report) == 1 and "no GPU kernel: runs on the host" in report[0]
    assert "Tparams=bool Tindices=int32" in report[0]


def test_int32_arithmetic_has_a_gpu_kernel_with_host_memory():
    fn = tf.function(lambda a, b: a + b, input_signature=[tf.TensorSpec([None], tf.int32)] * 2)
    checks = gpu_check.check_ops(fn.get_concrete_function())
    add = checks["AddV2", (("T", "int32"),)]
    assert add.gpu and add.host_memory == ("x", "y", "z")
    assert any("GPU kernel (host memory: x, y, z)" in l for l in gpu_check.format_report(checks))


def test_a_direct_call_of_a_library_function_is_walked_not_looked_up():
    graph_def = tf.compat.v1.GraphDef()
    f = graph_def.library.function.add()
    f.signature.name = "my_fn"
    node = f.node_def.add(name="s", op="StringFormat")     # CPU only
    node.attr["T"].list.type.append(tf.string.as_datatype_enum)
    graph_def.node.add(name="call", op="my_fn")             # op type = a library function
    checks = gpu_check.check_ops(graph_def)
    assert [k[0] for k in checks] == ["StringFormat"]
    assert checks["StringFormat", (("T", "string"),)].where == ["my_fn/s"]
    assert gpu_check.without_gpu_kernel(checks) == [("StringFormat", (("T", "string"),))]


# --- the real steps ---------------------------------------------------------------------

# Every op of every traced step has a GPU kernel. Three HardGNN ops had none and were
# rewritten (same values, tested in test_hardgnn_model): HardGNN.seen's ragged gather of
# the users' items (RaggedGather, CPU only) is spelt out with tf.repeat and tf.gather;
# negatives.uniform_unseen gathers a float copy of the bool mask (GatherNd has no bool
# GPU kernel); HardGNN.mine reads the int32 PPR band before gathering (ResourceGather
# has no int32 GPU kernel, tensorflow#31696).


def make_trainer(data_dir, out_dir, case):
    if case.startswith("selfgnn"):  # selfgnn_paper: --sequence_branch paper
        branch = "paper" if case == "selfgnn_paper" else "original"
        return tiny_trainer(data_dir, out_dir, sequence_branch=branch)
    return tiny_trainer(data_dir, out_dir, HardGNN, preset=hard_params.preset_params, hard_k=3,
                        cl_weight=0.1, neg_mode=case)


@pytest.mark.parametrize("case", [
    "selfgnn", "hard",
    pytest.param("selfgnn_paper", marks=pytest.mark.slow),
    pytest.param("random", marks=pytest.mark.slow),
    pytest.param("dns", marks=pytest.mark.slow),
    pytest.param("mix", marks=pytest.mark.slow),
    pytest.param("ppr", marks=pytest.mark.slow)])
def test_every_op_of_the_traced_steps_has_a_gpu_kernel(tiny_data_dir, tmp_path, case):
    t = make_trainer(tiny_data_dir, tmp_path, case)
    steps = {"train_step": t.train_step.get_concrete_function(),
             "eval_nodes": t.evaluator.eval_nodes.get_concrete_function(),
             "test_scores": t.evaluator.test_scores.get_concrete_function()}
    for name, fn in steps.items():
        assert gpu_check.forbidden_ops(fn) == [], name
        checks = gpu_check.check_ops(fn)
        assert len(checks) > 20, name  # the walk saw the step, not only its call op
        assert gpu_check.without_gpu_kernel(checks) == [], "\n".join(
            [name] + gpu_check.format_report(checks, only_missing=True))
