using System.Numerics;

namespace Simd.Training.Layers;

/// <summary>
/// A stack compiled into the engine's layers: conv → ReLU → max pooling fused where the convolution takes one channel and the pooling's window is its stride
/// (<see cref="PooledConvolutionLayer{T}"/>), each layer given the buffer node it reads and writes (in-place layers share
/// their input's), whether it must give an input gradient (only when a layer before it has parameters: the first layer
/// computes none), and what the workspace must hold for it.
/// </summary>
public sealed class LayerPlan<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private LayerPlan(LayerStack stack, Layer<T>[] layers, WorkspaceNeeds needs)
    {
        Stack = stack;
        Layers = layers;
        Needs = needs;
    }

    public LayerStack Stack { get; }

    /// <summary>The layers in order (a fused convolution is one).</summary>
    public IReadOnlyList<Layer<T>> Layers { get; }

    public WorkspaceNeeds Needs { get; }

    public static LayerPlan<T> Build(LayerStack stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        NetworkShape shape = stack.Shape;
        var layers = new List<Layer<T>>();
        int weightLayer = -1, normalizations = 0;
        IReadOnlyList<LayerSpec> specs = stack.Layers;
        for (int i = 0; i < specs.Count; i++)
        {
            LayerSpec spec = specs[i];
            TensorShape input = stack.InputOf(i), output = stack.OutputOf(i);
            switch (spec.Kind)
            {
                case LayerKind.Affine:
                    weightLayer++;
                    layers.Add(new AffineLayer<T>(spec, input, shape.WeightOffset(weightLayer), shape.BiasOffset(weightLayer)));
                    break;
                case LayerKind.Convolution:
                    weightLayer++;
                    // Fused on one input channel (ch. 7's layer, where it was measured); on more the direct convolution, ReLU and
                    // pooling apart were no slower (ch. 8's step: 112-116 ms apart, 122-126 ms fused, on a host that swings 15%).
                    if (input.Channels == 1 && i + 2 < specs.Count && specs[i + 1].Kind == LayerKind.Relu && specs[i + 2] is { Kind: LayerKind.Pooling } pool && pool.Stride == pool.Kernel)
                    {
                        layers.Add(new PooledConvolutionLayer<T>(spec, pool, input, stack.OutputOf(i + 2), shape.WeightOffset(weightLayer), shape.BiasOffset(weightLayer)));
                        i += 2;
                    }
                    else
                    {
                        layers.Add(new ConvolutionLayer<T>(spec, input, output, shape.WeightOffset(weightLayer), shape.BiasOffset(weightLayer)));
                    }

                    break;
                case LayerKind.Pooling:
                    layers.Add(new PoolingLayer<T>(spec, input, output));
                    break;
                case LayerKind.Relu:
                case LayerKind.Sigmoid:
                    layers.Add(new ActivationLayer<T>(spec, input));
                    break;
                case LayerKind.BatchNormalization:
                    layers.Add(new BatchNormLayer<T>(spec, input, shape.GammaOffset(weightLayer), normalizations++));
                    break;
                case LayerKind.Dropout:
                    bool maskedByActivation = layers.Count > 0 && layers[^1].Spec.Kind is LayerKind.Relu or LayerKind.Sigmoid;
                    layers.Add(new DropoutLayer<T>(spec, input, maskedByActivation));
                    break;
                default:
                    throw new InvalidOperationException($"layer kind {spec.Kind}");
            }
        }

        var nodeLengths = new List<long> { stack.Input.Length };
        var weightLayerNodes = new List<int>();
        bool parametersBefore = false;
        foreach (Layer<T> layer in layers)
        {
            layer.InputNode = nodeLengths.Count - 1;
            if (!layer.InPlace)
            {
                nodeLengths.Add(layer.Output.Length);
            }

            layer.OutputNode = nodeLengths.Count - 1;
            layer.NeedsInputGradient = parametersBefore;
            if (layer.Spec.HasWeights)
            {
                weightLayerNodes.Add(layer.OutputNode);
            }

            parametersBefore |= layer.Spec.HasWeights || layer.Coupling == Coupling.PerFeature;
        }

        var needs = new WorkspaceNeeds(
            shape,
            nodeLengths,
            weightLayerNodes,
            [.. layers.OfType<BatchNormLayer<T>>().Select(l => l.OutputLength)],
            [.. layers.Select(l => l.SavedPerImage)],
            [.. layers.Select(l => l.PartialLength)],
            [.. layers.Select(l => l.WorkerScratchLength)]);
        return new LayerPlan<T>(stack, [.. layers], needs);
    }
}
