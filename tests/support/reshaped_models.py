"""Real .tflite models whose output has another shape, made from the committed ones.

One more operator is appended to a committed model: a RESHAPE (the same scores
as `[1, 1, N]` or `[1, 1, 1, N]`) or a 2x2 MAX_POOL (a FOMO heat map on a
coarser grid). The model is rewritten with the TFLite flatbuffer schema that
ai-edge-litert ships, so the interpreter runs every one of them for real.
"""

from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

MODELS = Path(__file__).resolve().parents[1] / "models"


def reshaped(model: str, shape: tuple[int, ...]) -> bytes:
    """tests/models/MODEL.tflite with its output reshaped to SHAPE (same scores, same order)."""
    options = schema.ReshapeOptionsT()
    options.newShape = list(shape)
    return _append(
        model, schema.BuiltinOperator.RESHAPE, schema.BuiltinOptions.ReshapeOptions, options, shape
    )


def pooled(model: str) -> bytes:
    """tests/models/MODEL.tflite (a FOMO heat map) with a 2x2 max pool: half the grid."""
    options = schema.Pool2DOptionsT()
    options.padding = schema.Padding.VALID
    options.strideW = options.strideH = options.filterWidth = options.filterHeight = 2
    graph = _load(model).subgraphs[0]
    _, rows, columns, channels = graph.tensors[graph.outputs[0]].shape
    return _append(
        model,
        schema.BuiltinOperator.MAX_POOL_2D,
        schema.BuiltinOptions.Pool2DOptions,
        options,
        (1, rows // 2, columns // 2, channels),
    )


def _load(model: str) -> "schema.ModelT":
    return schema.ModelT.InitFromPackedBuf((MODELS / f"{model}.tflite").read_bytes(), 0)


def _append(model: str, code: int, options_type: int, options: object, shape: tuple) -> bytes:
    tree = _load(model)
    graph = tree.subgraphs[0]
    source = graph.tensors[graph.outputs[0]]
    output = schema.TensorT()
    output.shape, output.type, output.name = list(shape), source.type, b"reshaped_output"
    output.quantization = source.quantization
    tree.buffers.append(schema.BufferT())
    output.buffer = len(tree.buffers) - 1
    graph.tensors.append(output)
    operator = schema.OperatorT()
    operator.opcodeIndex = _opcode(tree, code)
    operator.inputs, operator.outputs = [graph.outputs[0]], [len(graph.tensors) - 1]
    operator.builtinOptionsType, operator.builtinOptions = options_type, options
    graph.operators.append(operator)
    graph.outputs = [len(graph.tensors) - 1]
    builder = flatbuffers.Builder(1024)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _opcode(tree: "schema.ModelT", code: int) -> int:
    for index, known in enumerate(tree.operatorCodes):
        if max(known.builtinCode, known.deprecatedBuiltinCode) == code:
            return index
    entry = schema.OperatorCodeT()
    entry.builtinCode = entry.deprecatedBuiltinCode = code
    entry.version = 1
    tree.operatorCodes.append(entry)
    return len(tree.operatorCodes) - 1
