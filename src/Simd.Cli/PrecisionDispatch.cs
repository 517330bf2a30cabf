using System.Numerics;
using Simd.Training;

namespace Simd.Cli;

/// <summary>Work written once for any floating-point type, run in the precision a command chose.</summary>
internal interface IPrecisionWork<out TResult>
{
    TResult Run<T>()
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>The one place where a command's <c>--precision</c> becomes a type.</summary>
internal static class PrecisionDispatch
{
    public static TResult Run<TResult>(Precision precision, IPrecisionWork<TResult> work) => precision switch
    {
        Precision.Single => work.Run<float>(),
        Precision.Double => work.Run<double>(),
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "not a precision"),
    };
}
