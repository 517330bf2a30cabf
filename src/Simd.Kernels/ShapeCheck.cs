namespace Simd.Kernels;

/// <summary>
/// Argument checks shared by every kernel: a span shorter than its stated shape is a caller bug,
/// reported at once instead of as memory corruption.
/// </summary>
internal static class ShapeCheck
{
    public static void AtLeast<T>(ReadOnlySpan<T> span, long required, string name)
    {
        if (span.Length < required)
        {
            Throw(name, span.Length, required);
        }
    }

    public static void AtLeast<T>(Span<T> span, long required, string name)
    {
        if (span.Length < required)
        {
            Throw(name, span.Length, required);
        }
    }

    public static void NonNegative(int value, string name)
    {
        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "must be >= 0");
        }
    }

    public static void SameLength<TA, TB>(ReadOnlySpan<TA> a, Span<TB> b, string nameA, string nameB)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"{nameA} has {a.Length} elements but {nameB} has {b.Length}");
        }
    }

    private static void Throw(string name, int length, long required) =>
        throw new ArgumentException($"{name} has {length} elements, the shape needs {required}", name);
}
