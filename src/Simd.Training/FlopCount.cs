using Simd.Training.Layers;

namespace Simd.Training;

/// <summary>
/// Floating-point operations of the network's work, counting a multiply-add as 2 and only the
/// matrix products (the elementwise work is under 0.5% of it). The one place GFLOP/s figures come from.
/// </summary>
public static class FlopCount
{
    /// <summary>One forward pass (a loss): X·W1, A1·W2, ... 7.94 MFLOP for the book's 784-50-10 and a batch of 100.</summary>
    public static double Forward(NetworkShape shape, int rows) => Forward(StackOf(shape), rows);

    /// <summary>
    /// One backprop gradient: the forward pass, every dW_l = A_(l-1)ᵀ·dZ_l, and every dA_(l-1) = dZ_l·W_lᵀ
    /// but the first layer's (the input needs none). 15.98 MFLOP for the book's network and batch of 100.
    /// </summary>
    public static double Backprop(NetworkShape shape, int batch) => Backprop(StackOf(shape), batch);

    /// <summary>One numerical gradient: two forward passes per parameter. 631 GFLOP for the book's network and batch of 100.</summary>
    public static double NumericalGradient(NetworkShape shape, int batch) => 2.0 * shape.ParameterCount * Forward(shape, batch);

    /// <summary>One forward pass: each Affine's 2·n_in·n_out and each Convolution's 2·FN·C·FH·FW·OH·OW per image.</summary>
    public static double Forward(LayerStack stack, int rows) => rows * PerImage(stack).Sum(layer => layer.Products);

    /// <summary>
    /// One backprop gradient: the forward pass, each weight layer's dW (as many operations as its forward product) and
    /// dX (as many again) for every weight layer after the first. 0.433 GFLOP for the book's SimpleConvNet at batch 100.
    /// </summary>
    public static double Backprop(LayerStack stack, int batch)
    {
        double total = 0;
        bool first = true;
        foreach ((double products, _) in PerImage(stack))
        {
            total += (first ? 2 : 3) * products;
            first = false;
        }

        return batch * total;
    }

    /// <summary>One numerical gradient of <paramref name="stack"/>: two forward passes per parameter.</summary>
    public static double NumericalGradient(LayerStack stack, int batch) => 2.0 * stack.Shape.ParameterCount * Forward(stack, batch);

    /// <summary>The weight layers' matrix products per image, in order.</summary>
    private static IEnumerable<(double Products, int Layer)> PerImage(LayerStack stack)
    {
        for (int i = 0; i < stack.Layers.Count; i++)
        {
            LayerSpec layer = stack.Layers[i];
            TensorShape input = stack.InputOf(i), output = stack.OutputOf(i);
            if (layer.Kind == LayerKind.Affine)
            {
                yield return (2.0 * input.Length * layer.Size, i);
            }
            else if (layer.Kind == LayerKind.Convolution)
            {
                yield return (2.0 * layer.Size * input.Channels * layer.Kernel * layer.Kernel * output.Height * output.Width, i);
            }
        }
    }

    private static LayerStack StackOf(NetworkShape shape) =>
        shape.Stack ?? LayerStack.FullyConnected(shape.InputSize, shape.HiddenSizes, shape.OutputSize, Activation.Sigmoid, shape.BatchNorm);
}
