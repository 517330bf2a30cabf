using System.Runtime.InteropServices;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// Inference with binary16 storage (ch08/half_float_network.py): the weights kept as IEEE half, the images and every
/// layer's output rounded to half before the next layer reads them, the arithmetic in float32. Rounding in place is
/// what storing in half and reading back gives, bit for bit (half to float is exact), so the accuracy measured is that of
/// half storage; the compute buffers themselves stay float32 (<see cref="HalfParameters"/> is the stored copy).
/// </summary>
public sealed partial class MultiLayerNet<T>
{
    /// <summary>Halves a worker converts through at a time.</summary>
    private const int HalfChunk = 4096;

    private Half[][]? _halfScratch; // [workers][HalfChunk]

    /// <summary>The weights as stored in binary16 once <see cref="StoreInHalf"/> ran (2 bytes a parameter); else null.</summary>
    public Half[]? HalfParameters { get; private set; }

    /// <summary>True after <see cref="StoreInHalf"/>: evaluations round the images and every layer's output to half.</summary>
    public bool StoresHalf => HalfParameters is not null;

    /// <summary>Rounds the parameters to binary16 (kept in <see cref="HalfParameters"/>) and makes inference store in half.</summary>
    /// <exception cref="InvalidOperationException">The network is not float32: half storage computes in float32.</exception>
    public void StoreInHalf()
    {
        if (typeof(T) != typeof(float))
        {
            throw new InvalidOperationException("half-precision storage computes in float32: build the network in single precision");
        }

        Span<float> parameters = MemoryMarshal.Cast<T, float>(Parameters[..Shape.ParameterCount]);
        var halves = new Half[parameters.Length];
        HalfPrecision.ToHalf(Isa, parameters, halves);
        HalfPrecision.ToSingle(Isa, halves, parameters);
        _halfScratch = [.. Enumerable.Range(0, Math.Max(1, Threads)).Select(_ => new Half[HalfChunk])];
        HalfParameters = halves;
    }

    /// <summary>When storing in half: <paramref name="values"/> rounded to binary16 in place (a worker's own scratch).</summary>
    private void RoundToHalf(Span<T> values, int worker)
    {
        if (_halfScratch is { } scratch)
        {
            HalfPrecision.RoundTrip(Isa, MemoryMarshal.Cast<T, float>(values), scratch[worker]);
        }
    }
}
