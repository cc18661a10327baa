// The focal losses as ONNX models, written at bench time (nothing binary is shipped): the graph a
// Node user would hand to onnxruntime-node, in plain ONNX ops on float32, with the gradient written
// out analytically as more ops (ONNX Runtime's Node package has no autodiff). The formulas are those
// of docs/NUMERICS.md in their textbook form, not the package's stable forms: the cross-check only
// needs them to agree on the bench's data (logits ~ Normal(0, 3²), no saturation).
//
// Encoded with protobufjs from the subset of onnx.proto that these graphs use (field numbers as in
// the ONNX IR specification).
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  int32 type = 20;
}
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  repeated int32 int32_data = 5;
  repeated int64 int64_data = 7;
  string name = 8;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}
message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const ModelProto = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto');

/** ONNX IR version 8 with the default-domain operator set 17: ReduceMean still takes `axes` as an attribute. */
const IR_VERSION = 8;
const OPSET = 17;
/** TensorProto.DataType */
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
/** AttributeProto.AttributeType */
const ATTRIBUTE_INT = 2;

/** A graph under construction: every op has one output, named after its position. */
class Graph {
  nodes = [];
  initializers = [];

  /** A scalar (or 1-D, for an array) constant; `type` is 'float', 'int32' or 'int64'. */
  constant(value, type = 'float') {
    const name = `c${this.initializers.length}`;
    const values = Array.isArray(value) ? value : [value];
    const tensor = { name, dims: Array.isArray(value) ? [values.length] : [] };
    if (type === 'float') Object.assign(tensor, { data_type: FLOAT, float_data: values });
    else if (type === 'int32') Object.assign(tensor, { data_type: INT32, int32_data: values });
    else Object.assign(tensor, { data_type: INT64, int64_data: values });
    this.initializers.push(tensor);
    return name;
  }

  /** Appends `opType(inputs)` with integer attributes `{ name: value }`; returns its output's name. */
  op(opType, inputs, attributes = {}, output = `v${this.nodes.length}`) {
    const attribute = Object.entries(attributes).map(([name, i]) => ({ name, type: ATTRIBUTE_INT, i }));
    this.nodes.push({ op_type: opType, name: output, input: inputs, output: [output], attribute });
    return output;
  }
}

const tensorType = (elemType, dims) => ({
  tensor_type: {
    elem_type: elemType,
    shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
  },
});

function encode(graph, name, inputs, outputs) {
  const model = {
    ir_version: IR_VERSION,
    producer_name: 'focal-loss bench',
    opset_import: [{ domain: '', version: OPSET }],
    graph: {
      name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: inputs.map(([n, type, dims]) => ({ name: n, type: tensorType(type, dims) })),
      output: outputs.map(([n, type, dims]) => ({ name: n, type: tensorType(type, dims) })),
    },
  };
  const message = ModelProto.fromObject(model);
  return ModelProto.encode(message).finish();
}

/**
 * The sigmoid focal loss (mean) of logits `x` [N] and float targets `t` [N], and with `gradient`
 * its gradient `grad` [N]:
 *   p = sigmoid(x), q = sigmoid(-x), ce = softplus(x) - x*t, m = t*q + (1 - t)*p,
 *   a = alpha*t + (1 - alpha)*(1 - t), loss = mean(a * m^gamma * ce),
 *   grad = a * m^gamma * [(p - t) + gamma*(1 - 2t)*(p*q/m)*ce] / N.
 */
export function sigmoidModel({ gamma, alpha, gradient }) {
  const g = new Graph();
  const one = g.constant(1);
  const p = g.op('Sigmoid', ['x']);
  const q = g.op('Sigmoid', [g.op('Neg', ['x'])]);
  const ce = g.op('Sub', [g.op('Softplus', ['x']), g.op('Mul', ['x', 't'])]);
  const oneMinusT = g.op('Sub', [one, 't']);
  const m = g.op('Add', [g.op('Mul', ['t', q]), g.op('Mul', [oneMinusT, p])]);
  const a = g.op('Add', [g.constant(1 - alpha), g.op('Mul', [g.constant(2 * alpha - 1), 't'])]);
  const weight = g.op('Mul', [a, g.op('Pow', [m, g.constant(gamma)])]);
  g.op('ReduceMean', [g.op('Mul', [weight, ce])], { keepdims: 0 }, 'loss');
  const outputs = [['loss', FLOAT, []]];
  if (gradient) {
    const scale = g.op('Reciprocal', [g.op('Cast', [g.op('Size', ['x'])], { to: FLOAT })]);
    const pqOverM = g.op('Div', [g.op('Mul', [p, q]), m]);
    const focusing = g.op('Mul', [g.op('Mul', [g.constant(gamma), g.op('Sub', [oneMinusT, 't'])]), pqOverM]);
    const inner = g.op('Add', [g.op('Sub', [p, 't']), g.op('Mul', [focusing, ce])]);
    g.op('Mul', [g.op('Mul', [weight, inner]), scale], {}, 'grad');
    outputs.push(['grad', FLOAT, ['N']]);
  }
  return encode(
    g,
    'sigmoid_focal_loss',
    [
      ['x', FLOAT, ['N']],
      ['t', FLOAT, ['N']],
    ],
    outputs,
  );
}

/**
 * The softmax focal loss (mean, no alpha) of logits `z` [R, classes] and int32 labels `y` [R], and
 * with `gradient` its gradient `grad` [R, classes]:
 *   log p = logsoftmax(z), log p_t = log p[y], u = (1 - p_t)^gamma, loss = mean(-u * log p_t),
 *   grad = c * (p - onehot(y)) / R with c = u - gamma * (1 - p_t)^(gamma - 1) * p_t * log p_t
 * (the two cases of docs/NUMERICS.md in one: dL/dz_k = c*p_k for k != y, c*(p_y - 1) for k = y).
 */
export function softmaxModel({ gamma, classes, gradient }) {
  const g = new Graph();
  const one = g.constant(1);
  const logp = g.op('LogSoftmax', ['z'], { axis: 1 });
  const logpt = g.op('GatherElements', [logp, g.op('Unsqueeze', ['y', g.constant([1], 'int64')])], { axis: 1 });
  const pt = g.op('Exp', [logpt]);
  const rest = g.op('Sub', [one, pt]);
  const u = g.op('Pow', [rest, g.constant(gamma)]);
  g.op('ReduceMean', [g.op('Neg', [g.op('Mul', [u, logpt])])], { keepdims: 0 }, 'loss');
  const outputs = [['loss', FLOAT, []]];
  if (gradient) {
    const rows = g.op('Gather', [g.op('Shape', ['z']), g.constant(0, 'int64')], { axis: 0 });
    const scale = g.op('Reciprocal', [g.op('Cast', [rows], { to: FLOAT })]);
    // (1 - p_t)^(gamma - 1) is infinite at p_t = 1 for gamma < 1: keep the base positive there.
    const base = gamma < 1 ? g.op('Max', [rest, g.constant(1e-30)]) : rest;
    const power = g.op('Pow', [base, g.constant(gamma - 1)]);
    const focusing = g.op('Mul', [g.op('Mul', [g.constant(gamma), power]), g.op('Mul', [pt, logpt])]);
    const c = g.op('Mul', [g.op('Sub', [u, focusing]), scale]);
    const onehot = g.op('OneHot', ['y', g.constant(classes, 'int32'), g.constant([0, 1])], { axis: -1 });
    g.op('Mul', [c, g.op('Sub', [g.op('Exp', [logp]), onehot])], {}, 'grad');
    outputs.push(['grad', FLOAT, ['R', classes]]);
  }
  return encode(
    g,
    'softmax_focal_loss',
    [
      ['z', FLOAT, ['R', classes]],
      ['y', INT32, ['R']],
    ],
    outputs,
  );
}
