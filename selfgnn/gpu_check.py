"""GPU readiness of a traced step, checked on any machine from TensorFlow's kernel registry.

`check_ops` walks every node of a traced function: its graph and the bodies of all
the functions in the graph's library (nested tf.functions, while/cond branches,
gradient functions). Per (op type, dtype attrs) it says whether a GPU kernel is
registered whose constraints accept the node's attrs: a `GPU` kernel, else a
`DEFAULT` one (for every device), TensorFlow's own lookup order. A tf.function
soft-places a node without one on the CPU (its inputs go to the host and back), or
may fail to place it when it reads a resource living on the GPU.
`forbidden_ops` lists py_function / numpy_function nodes: Python on the host, under
the GIL (EagerPyFunc has a DEFAULT kernel, so the registry alone would pass it).

Rule for ops that need no kernel: a node whose op type names a library function is
a direct call and is not looked up (its body is walked). All others are, including
PartitionedCall, While, If, Placeholder, NoOp and ReadVariableOp (DEFAULT kernels).

Limits: the graph as traced, before Grappler (fusion, constant folding, lowering of
While/If) and placement; a kernel's presence says nothing of its speed. A GPU kernel
may keep arguments in host memory (`OpCheck.host_memory`: int32 arithmetic, shapes,
TopKV2's k): a device-computed value fed to one is copied to the host (a sync), no
fallback. Needs the CUDA build of TensorFlow (a CPU-only one registers no GPU kernels).
"""
import dataclasses
import functools

import tensorflow as tf
from tensorflow.python.framework import kernels, op_def_registry

FORBIDDEN_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
GPU_DEVICE_TYPES = ("GPU", "DEFAULT")  # TensorFlow's lookup order for a GPU node


@dataclasses.dataclass
class OpCheck:
    """One (op type, dtype attrs) of a traced function and its GPU kernel."""
    op: str
    dtypes: tuple          # ((attr name, dtype name or distinct names joined by ','), ...)
    gpu: bool              # a GPU (or DEFAULT) kernel accepts every such node
    host_memory: tuple     # arguments that kernel keeps in host memory
    where: list = dataclasses.field(default_factory=list)  # "function/node" names


def walk(fn_or_graph):
    """(library function names, [(function name or '', NodeDef)]) of a traced function.

    `fn_or_graph`: a ConcreteFunction, a tf.Graph, or a GraphDef."""
    graph = getattr(fn_or_graph, "graph", fn_or_graph)
    graph_def = graph.as_graph_def() if hasattr(graph, "as_graph_def") else graph
    functions = {f.signature.name for f in graph_def.library.function}
    nodes = [("", node) for node in graph_def.node]
    for f in graph_def.library.function:
        nodes += [(f.signature.name, node) for node in f.node_def]
    return functions, nodes


@functools.lru_cache(maxsize=None)
def _kernel_defs(op):
    return tuple(kernels.get_registered_kernels_for_op(op).kernel)


def _items(value):
    """The values of an AttrValue, as a list (one for a scalar attr)."""
    kind = value.WhichOneof("value")
    if kind == "list":
        lst = value.list
        return [*lst.type, *lst.s, *lst.i, *lst.b, *lst.f]
    return [getattr(value, kind)] if kind else []


def _attrs(node):
    """The node's attrs, with the op's defaults for those the NodeDef leaves out."""
    op_def = op_def_registry.get(node.op)
    attrs = {a.name: a.default_value for a in (op_def.attr if op_def else ())
             if a.HasField("default_value")}
    attrs.update(node.attr)
    return attrs, op_def


def _dtype_key(attrs, op_def):
    """((attr, dtype), ...) of the op's type attrs; a list(type) attr: its distinct dtypes."""
    types = [a for a in (op_def.attr if op_def else ()) if a.type in ("type", "list(type)")]
    return tuple((a.name, ",".join(sorted({tf.dtypes.as_dtype(t).name
                                           for t in _items(attrs[a.name])})))
                 for a in types if a.name in attrs)


def _accepts(kernel_def, attrs):
    label = attrs["_kernel"].s.decode() if "_kernel" in attrs else ""
    if kernel_def.label != label:
        return False
    for c in kernel_def.constraint:
        allowed = _items(c.allowed_values)
        if c.name not in attrs or any(v not in allowed for v in _items(attrs[c.name])):
            return False
    return True


def gpu_kernel(op, attrs):
    """The KernelDef TensorFlow would pick for `op` with `attrs` on a GPU, or None."""
    for device in GPU_DEVICE_TYPES:
        found = [k for k in _kernel_defs(op) if k.device_type == device and _accepts(k, attrs)]
        if found:
            return max(found, key=lambda k: k.priority)
    return None


def check_ops(fn_or_graph):
    """{(op, dtypes): OpCheck} over every node of the function and of its library."""
    functions, nodes = walk(fn_or_graph)
    checks = {}
    for where, node in nodes:
        if node.op in functions:  # a direct call of a library function: its body is walked
            continue
        attrs, op_def = _attrs(node)
        kernel = gpu_kernel(node.op, attrs)
        key = (node.op, _dtype_key(attrs, op_def))
        host = tuple(kernel.host_memory_arg) if kernel is not None else ()
        entry = checks.setdefault(key, OpCheck(node.op, key[1], kernel is not None, host))
        entry.gpu = entry.gpu and kernel is not None
        entry.where.append(f"{where}/{node.name}" if where else node.name)
    return checks


def without_gpu_kernel(checks):
    """Sorted (op, dtypes) keys of `checks` that have no GPU kernel."""
    return sorted(key for key, entry in checks.items() if not entry.gpu)


def forbidden_ops(fn_or_graph):
    """Sorted "function/node (op)" of every py_function / numpy_function node."""
    _, nodes = walk(fn_or_graph)
    return sorted(f"{where}/{node.name} ({node.op})" if where else f"{node.name} ({node.op})"
                  for where, node in nodes if node.op in FORBIDDEN_OPS)


def format_dtypes(dtypes):
    return " ".join(f"{name}={value}" for name, value in dtypes) or "-"


def format_report(checks, only_missing=False, max_where=2):
    """Text lines, one per (op, dtypes): op, dtypes, verdict, host-memory args, where."""
    lines = []
    for key in sorted(checks):
        entry = checks[key]
        if only_missing and entry.gpu:
            continue
        verdict = "GPU kernel" if entry.gpu else "no GPU kernel: runs on the host"
        if entry.gpu and entry.host_memory:
            verdict += f" (host memory: {', '.join(entry.host_memory)})"
        where = ", ".join(entry.where[:max_where])
        more = f" +{len(entry.where) - max_where}" if len(entry.where) > max_where else ""
        lines.append(f"{entry.op:<28} {format_dtypes(entry.dtypes):<40} {verdict}"
                     f"  [{where}{more}]")
    return lines
