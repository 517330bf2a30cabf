using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using Simd.Kernels;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Onnx;

/// <summary>
/// A trained network as an ONNX model: the graph takes <c>images</c>, float32 [N, 1, 28, 28] scaled to 0..1 (N free),
/// and gives <c>probabilities</c>, float32 [N, classes], the softmax of the book's predict(x). Each of the book's layers
/// becomes standard operators (opset <see cref="Opset"/>), its parameters initializers in float32:
/// <list type="bullet">
/// <item>Affine: Flatten (axis 1: the book's x.reshape(N, -1), [C, H, W] in order) when its input is images, then Gemm
/// with the book's W [n_in, n_out] as B and b as C;</item>
/// <item>Convolution: Conv (W [FN, C, FH, FW], b, strides, pads); Pooling: MaxPool (no padding, as the book's nets);</item>
/// <item>Relu, Sigmoid; the book's Dropout at inference: Mul by 1 − ratio;</item>
/// <item>BatchNormalization in inference form with the running mean and variance and the book's ε = 10e-7, over each
/// feature as the book normalizes (images are flattened first and shaped back after: the book's statistics are per
/// value of C·H·W, not per channel).</item>
/// </list>
/// </summary>
public static class OnnxExport
{
    /// <summary>ai.onnx opset of the graph: every operator used has had its current form since (BatchNormalization 15, Softmax 13).</summary>
    public const long Opset = 17;

    /// <summary>ONNX IR version 8: the IR of ONNX 1.12, the release that brought opset 17.</summary>
    public const long IrVersion = 8;

    public const string InputName = "images";
    public const string OutputName = "probabilities";

    /// <summary>The batch dimension's name: any number of images.</summary>
    public const string BatchDimension = "N";

    /// <summary>The model as ONNX's protobuf bytes.</summary>
    /// <param name="network">The trained network, in float32 (a double network is converted before: <see cref="MultiLayerNet{T}"/> of float).</param>
    /// <param name="image">The shape of one input image ([1, 28, 28] for MNIST): a fully connected network flattens it first.</param>
    /// <param name="metadata">Key-value pairs stored in the model (the stack, the source file, ...).</param>
    /// <param name="producerVersion">simd's version.</param>
    public static byte[] Serialize(MultiLayerNet<float> network, TensorShape image, IReadOnlyList<KeyValuePair<string, string>> metadata, string producerVersion) =>
        Build(network, image, metadata, producerVersion).ToByteArray();

    internal static ModelProto Build(MultiLayerNet<float> network, TensorShape image, IReadOnlyList<KeyValuePair<string, string>> metadata, string producerVersion)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(metadata);
        LayerStack stack = network.Stack;
        if (stack.Input.Length != image.Length)
        {
            throw new ArgumentException($"the network takes {stack.Input.Length} values an image, not {image.Length} ({image})", nameof(image));
        }

        var graph = new GraphBuilder(network);
        graph.Input(image);
        int weightLayer = -1, normalization = 0;
        for (int i = 0; i < stack.Layers.Count; i++)
        {
            LayerSpec layer = stack.Layers[i];
            TensorShape input = stack.InputOf(i);
            switch (layer.Kind)
            {
                case LayerKind.Affine:
                    graph.Affine(++weightLayer);
                    break;
                case LayerKind.Convolution:
                    graph.Convolution(++weightLayer, layer);
                    break;
                case LayerKind.Pooling:
                    graph.Pooling(layer);
                    break;
                case LayerKind.Relu:
                    graph.Unary("Relu");
                    break;
                case LayerKind.Sigmoid:
                    graph.Unary("Sigmoid");
                    break;
                case LayerKind.Dropout:
                    graph.Scale(1 - layer.Ratio, $"dropout{i + 1}_scale");
                    break;
                case LayerKind.BatchNormalization:
                    graph.BatchNormalization(weightLayer, normalization++, input);
                    break;
                default:
                    throw new NotSupportedException($"layer {i + 1} ({layer.Token}) has no ONNX form here");
            }
        }

        graph.Output(network.Shape.OutputSize);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "simd",
            ProducerVersion = producerVersion,
            Domain = "simd",
            ModelVersion = 1,
            DocString = $"{stack.Input} {stack}: the book's predict(x) then softmax (Deep Learning from Scratch), exported by simd",
            Graph = graph.Graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach ((string key, string value) in metadata)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }

        return model;
    }

    /// <summary>The graph as it grows: the name of the tensor the next node takes, and whether it is still images.</summary>
    private sealed class GraphBuilder(MultiLayerNet<float> network)
    {
        private string _current = InputName;
        private bool _images = true;
        private int _nodes;

        public GraphProto Graph { get; } = new() { Name = "simd" };

        public void Input(TensorShape image) =>
            Graph.Input.Add(Value(InputName, [null, image.Channels, image.Height, image.Width]));

        public void Output(int classes)
        {
            Add("Softmax", [_current], OutputName, Int("axis", 1));
            Graph.Output.Add(Value(OutputName, [null, classes]));
        }

        public void Affine(int layer)
        {
            Flatten();
            Next("Gemm", [_current, Parameter($"W{layer + 1}"), Parameter($"b{layer + 1}")]);
        }

        public void Convolution(int layer, LayerSpec spec) =>
            Next("Conv", [_current, Parameter($"W{layer + 1}"), Parameter($"b{layer + 1}")], Ints("kernel_shape", spec.Kernel, spec.Kernel),
                Ints("strides", spec.Stride, spec.Stride), Ints("pads", spec.Pad, spec.Pad, spec.Pad, spec.Pad));

        public void Pooling(LayerSpec spec) =>
            Next("MaxPool", [_current], Ints("kernel_shape", spec.Kernel, spec.Kernel), Ints("strides", spec.Stride, spec.Stride));

        public void Unary(string op) => Next(op, [_current]);

        /// <summary>x · factor (the book's Dropout at inference), the factor rounded to float32 as simd's float network holds it.</summary>
        public void Scale(double factor, string name) =>
            Next("Mul", [_current, Initializer(name, [(float)factor], [])]);

        /// <summary>
        /// γ·(x − running mean) / √(running var + ε) + β over every feature; images go through Flatten and back (the
        /// book's statistics are per value of C·H·W, ONNX's per channel: as [N, C·H·W] the channels are the features).
        /// </summary>
        public void BatchNormalization(int layer, int normalization, TensorShape input)
        {
            bool images = _images;
            Flatten();
            int features = network.Shape.BatchNormLength(layer);
            string n = (layer + 1).ToString(CultureInfo.InvariantCulture);
            string scale = Parameter("gamma" + n), bias = Parameter("beta" + n);
            string mean = Initializer("running_mean" + n, network.Workspace.RunningMean(normalization), [features]);
            string variance = Initializer("running_var" + n, network.Workspace.RunningVariance(normalization), [features]);
            Next("BatchNormalization", [_current, scale, bias, mean, variance], Float("epsilon", (float)BatchNorm.Epsilon));
            if (images)
            {
                string target = Initializer($"batchnorm{n}_shape", [-1, input.Channels, input.Height, input.Width]);
                Next("Reshape", [_current, target]);
                _images = true;
            }
        }

        /// <summary>Images to rows [N, C·H·W] (nothing when they are rows already).</summary>
        private void Flatten()
        {
            if (_images)
            {
                Next("Flatten", [_current], Int("axis", 1));
                _images = false;
            }
        }

        private void Next(string op, string[] inputs, params AttributeProto[] attributes)
        {
            string output = $"{op.ToLowerInvariant()}{_nodes + 1}_out";
            Add(op, inputs, output, attributes);
            _current = output;
        }

        private void Add(string op, string[] inputs, string output, params AttributeProto[] attributes)
        {
            _nodes++;
            var node = new NodeProto { OpType = op, Name = $"{op}_{_nodes}" };
            node.Input.Add(inputs);
            node.Output.Add(output);
            node.Attribute.Add(attributes);
            Graph.Node.Add(node);
        }

        /// <summary>A parameter tensor by its book name (W1, b1, gamma1, ...), with the shape the model files give it: W [n_in, n_out] or [FN, C, FH, FW].</summary>
        private string Parameter(string name)
        {
            ParameterTensor tensor = network.Shape.Tensors.First(t => t.Name == name);
            return Initializer(name, network.Parameters.Slice(tensor.Offset, tensor.Length), [.. tensor.Dimensions]);
        }

        private string Initializer(string name, ReadOnlySpan<float> values, long[] dimensions)
        {
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            tensor.Dims.Add(dimensions);
            tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values)); // little-endian, as ONNX's raw_data is
            Graph.Initializer.Add(tensor);
            return name;
        }

        private string Initializer(string name, long[] values)
        {
            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            tensor.Dims.Add(values.Length);
            tensor.Int64Data.Add(values);
            Graph.Initializer.Add(tensor);
            return name;
        }

        private static ValueInfoProto Value(string name, int?[] dimensions)
        {
            var shape = new TensorShapeProto();
            foreach (int? dimension in dimensions)
            {
                shape.Dim.Add(dimension is { } size ? new TensorShapeProto.Types.Dimension { DimValue = size } : new TensorShapeProto.Types.Dimension { DimParam = BatchDimension });
            }

            return new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
            };
        }

        private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

        private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

        private static AttributeProto Ints(string name, params long[] values)
        {
            var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
            attribute.Ints.Add(values);
            return attribute;
        }
    }
}
