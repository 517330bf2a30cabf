using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// y = f(x), the TensorPrimitives operator pattern: a scalar body (also the scalar ISA path) and one
/// vector body, generic over the vector width.
/// </summary>
internal interface IUnaryOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// True for ops of a few instructions, which the driver unrolls four vectors deep to keep the load
    /// ports busy; expensive ops (exp) run one vector per iteration, which already fills the pipes.
    /// </summary>
    static virtual bool IsCheap => false;

    T Invoke(T x);

    TV Invoke<TV>(TV x)
        where TV : struct, IVector<TV, T>;
}

/// <summary>z = f(x, y), one element or one vector at a time.</summary>
internal interface IBinaryOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <inheritdoc cref="IUnaryOperator{T}.IsCheap"/>
    static virtual bool IsCheap => false;

    T Invoke(T x, T y);

    TV Invoke<TV>(TV x, TV y)
        where TV : struct, IVector<TV, T>;
}
