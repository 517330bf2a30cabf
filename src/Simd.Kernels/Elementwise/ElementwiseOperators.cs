namespace Simd.Kernels;

/// <summary>y = f(x), one element at a time (the TensorPrimitives operator pattern).</summary>
internal interface IUnaryOperator<T>
    where T : unmanaged
{
    T Invoke(T x);
}

/// <summary>z = f(x, y), one element at a time.</summary>
internal interface IBinaryOperator<T>
    where T : unmanaged
{
    T Invoke(T x, T y);
}
