namespace Simd.Training;

/// <summary>
/// Floating-point operations of the network's work, counting a multiply-add as 2 and only the
/// matrix products (the elementwise work is under 0.5% of it). The one place GFLOP/s figures come from.
/// </summary>
public static class FlopCount
{
    /// <summary>One forward pass (a loss): X·W1, A1·W2, ... 7.94 MFLOP for the book's 784-50-10 and a batch of 100.</summary>
    public static double Forward(NetworkShape shape, int rows) => 2.0 * rows * Weights(shape, firstLayer: 0);

    /// <summary>
    /// One backprop gradient: the forward pass, every dW_l = A_(l-1)ᵀ·dZ_l, and every dA_(l-1) = dZ_l·W_lᵀ
    /// but the first layer's (the input needs none). 15.98 MFLOP for the book's network and batch of 100.
    /// </summary>
    public static double Backprop(NetworkShape shape, int batch) =>
        Forward(shape, batch) + (2.0 * batch * Weights(shape, firstLayer: 0)) + (2.0 * batch * Weights(shape, firstLayer: 1));

    /// <summary>One numerical gradient: two forward passes per parameter. 631 GFLOP for the book's network and batch of 100.</summary>
    public static double NumericalGradient(NetworkShape shape, int batch) => 2.0 * shape.ParameterCount * Forward(shape, batch);

    private static double Weights(NetworkShape shape, int firstLayer)
    {
        double weights = 0;
        for (int l = firstLayer; l < shape.LayerCount; l++)
        {
            weights += (double)shape.InputsOf(l) * shape.OutputsOf(l);
        }

        return weights;
    }
}
