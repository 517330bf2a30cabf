using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>
/// Which <see cref="IsaPath"/>s this CPU and runtime can run, their names, and the widest. Which one a
/// run uses is the caller's choice (the CLI: <c>--isa</c>, then <see cref="EnvironmentVariable"/>, then
/// <see cref="Best"/>); every kernel takes the path as an argument and reads no setting itself.
/// </summary>
public static class Isa
{
    /// <summary>The name of the environment variable with which the tools (the CLI, the benchmarks) let a user force a path, e.g. <c>SIMD_ISA=vector256</c>; nothing here reads it.</summary>
    public const string EnvironmentVariable = "SIMD_ISA";

    /// <summary>The names accepted by <see cref="TryParse"/>, for help text and errors.</summary>
    public const string AcceptedNames = "auto, scalar, vector128, vector256 (avx2), vector512 (avx512)";

    /// <summary>True when the runtime accelerates <paramref name="path"/> on this CPU.</summary>
    public static bool IsSupported(IsaPath path) => path switch
    {
        IsaPath.Scalar => true,
        IsaPath.Vector128 => Vector128.IsHardwareAccelerated,
        // The 256-bit path is written around FMA; without it the JIT would emulate every fused multiply-add.
        IsaPath.Vector256 => Vector256.IsHardwareAccelerated && (Fma.IsSupported || !X86Base.IsSupported),
        IsaPath.Vector512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>
    /// The path a kernel actually runs for a request: the request itself when supported, else the
    /// widest supported path below it (a kernel never runs an ISA the CPU lacks).
    /// </summary>
    public static IsaPath Effective(IsaPath requested)
    {
        for (IsaPath path = requested; path > IsaPath.Scalar; path--)
        {
            if (IsSupported(path))
            {
                return path;
            }
        }

        return IsaPath.Scalar;
    }

    /// <summary>Every supported path, widest first.</summary>
    public static IReadOnlyList<IsaPath> Supported { get; } =
        [.. new[] { IsaPath.Vector512, IsaPath.Vector256, IsaPath.Vector128, IsaPath.Scalar }.Where(IsSupported)];

    /// <summary>The widest path this machine supports.</summary>
    public static IsaPath Best => Supported[0];

    /// <summary>Short lower-case name used on the command line and in output.</summary>
    public static string Name(IsaPath path) => path switch
    {
        IsaPath.Scalar => "scalar",
        IsaPath.Vector128 => "vector128",
        IsaPath.Vector256 => "vector256",
        IsaPath.Vector512 => "vector512",
        _ => path.ToString(),
    };

    /// <summary>
    /// Parses a path name (case-insensitive). <c>auto</c> (or an empty string) yields <c>null</c>:
    /// "take the best".
    /// </summary>
    public static bool TryParse(string? text, out IsaPath? path)
    {
        path = null;
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "auto": return true;
            case "scalar": path = IsaPath.Scalar; return true;
            case "vector128" or "v128" or "sse": path = IsaPath.Vector128; return true;
            case "vector256" or "v256" or "avx2": path = IsaPath.Vector256; return true;
            case "vector512" or "v512" or "avx512": path = IsaPath.Vector512; return true;
            default: return false;
        }
    }
}
