namespace Simd.Kernels;

/// <summary>
/// A compile-time integer as a type: the micro-kernels take their tile rows and columns as type
/// arguments, so the JIT compiles one straight-line kernel per tile shape and drops the unused accumulators.
/// </summary>
internal interface IConstant
{
    static abstract int Value { get; }
}

internal readonly struct C0 : IConstant
{
    public static int Value => 0;
}

internal readonly struct C1 : IConstant
{
    public static int Value => 1;
}

internal readonly struct C2 : IConstant
{
    public static int Value => 2;
}

internal readonly struct C3 : IConstant
{
    public static int Value => 3;
}

internal readonly struct C4 : IConstant
{
    public static int Value => 4;
}

internal readonly struct C5 : IConstant
{
    public static int Value => 5;
}

internal readonly struct C6 : IConstant
{
    public static int Value => 6;
}

internal readonly struct C7 : IConstant
{
    public static int Value => 7;
}

internal readonly struct C8 : IConstant
{
    public static int Value => 8;
}
