namespace Simd.Training;

/// <summary>
/// Floating-point operations of the network's work, counting a multiply-add as 2 and only the
/// matrix products (the elementwise work is under 0.5% of it). The one place GFLOP/s figures come from.
/// </summary>
public static class FlopCount
{
    /// <summary>One forward pass (a loss): X·W1 and A1·W2. 7.94 MFLOP for the book's batch of 100.</summary>
    public static double Forward(NetworkShape shape, int rows) =>
        2.0 * rows * (((double)shape.InputSize * shape.HiddenSize) + ((double)shape.HiddenSize * shape.OutputSize));

    /// <summary>
    /// One backprop gradient: the forward pass plus dW2 = A1ᵀ·dY, dA1 = dY·W2ᵀ and dW1 = Xᵀ·dZ1.
    /// 15.98 MFLOP for the book's batch of 100.
    /// </summary>
    public static double Backprop(NetworkShape shape, int batch) =>
        Forward(shape, batch) + (2.0 * batch * shape.InputSize * shape.HiddenSize) + (4.0 * batch * shape.HiddenSize * shape.OutputSize);

    /// <summary>One numerical gradient: two forward passes per parameter. 631 GFLOP for the book's batch of 100.</summary>
    public static double NumericalGradient(NetworkShape shape, int batch) => 2.0 * shape.ParameterCount * Forward(shape, batch);
}
