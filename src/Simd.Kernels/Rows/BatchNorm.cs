using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// The book's BatchNormalization (common/layers.py) over the rows of a [rows, n] matrix, feature by
/// feature, for the features [j0, j1) — so that fixed blocks of features can be given to different
/// workers. Every sum runs over the rows in row order, in T: the same bits for any split into blocks.
/// The vector paths hold a vector of neighbouring features per register and walk the rows, doing in
/// each lane exactly the scalar reference's operations in its order (no fused multiply-add), so every
/// path gives the reference's bits.
/// </summary>
public static class BatchNorm
{
    /// <summary>The book's eps inside the square root: 10e-7 (that is, 1e-6).</summary>
    public const double Epsilon = 10e-7;

    /// <summary>The book's momentum of the running mean and variance.</summary>
    public const double Momentum = 0.9;

    /// <summary>
    /// Training: μ = mean of the column, var = mean((z − μ)²), σ = √(var + eps), x̂ = (z − μ) / σ, and z
    /// replaced by γ·x̂ + β. x̂ goes to <paramref name="normalized"/> and σ to <paramref name="std"/> (empty:
    /// not kept); with <paramref name="updateRunning"/>, running = 0.9·running + 0.1·(μ, var).
    /// </summary>
    public static void ForwardTraining<T>(
        IsaPath isa,
        Span<T> z, int rows, int n, int j0, int j1,          // z: [rows, n], in place
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,         // [n]
        Span<T> normalized, Span<T> std,                     // [rows, n], [n], or empty
        Span<T> runningMean, Span<T> runningVariance, bool updateRunning)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var args = new Arguments<T>(z, rows, n, gamma, beta, normalized, std, runningMean, runningVariance, updateRunning);
        int done = Isa.Effective(isa) switch
        {
            IsaPath.Vector512 => ForwardVectors<T, V512<T>>(ref args, j0, j1),
            IsaPath.Vector256 => ForwardVectors<T, V256<T>>(ref args, j0, j1),
            IsaPath.Vector128 => ForwardVectors<T, V128<T>>(ref args, j0, j1),
            _ => j0,
        };
        for (int j = done; j < j1; j++)
        {
            ForwardReference(ref args, j);
        }
    }

    /// <summary>Inference: z replaced by γ·(z − running mean) / √(running var + eps) + β, every feature.</summary>
    public static void ForwardInference<T>(
        Span<T> z, int rows, int n, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, ReadOnlySpan<T> runningMean, ReadOnlySpan<T> runningVariance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T eps = T.CreateTruncating(Epsilon);
        for (int j = 0; j < n; j++)
        {
            T sigma = T.Sqrt(runningVariance[j] + eps);
            for (int r = 0; r < rows; r++)
            {
                int i = (r * n) + j;
                z[i] = (gamma[j] * ((z[i] - runningMean[j]) / sigma)) + beta[j];
            }
        }
    }

    /// <summary>
    /// The book's backward pass, for the features [j0, j1): from dy = ∂L/∂(γx̂ + β), in place, to dz = ∂L/∂z,
    /// with dβ = Σ dy and dγ = Σ x̂·dy. With xc = x̂·σ: dx̂ = γ·dy; dxc = dx̂/σ; dσ = −Σ dx̂·xc/σ²;
    /// dvar = dσ/(2σ); dxc += (2/B)·xc·dvar; dμ = Σ dxc; dz = dxc − dμ/B.
    /// </summary>
    public static void Backward<T>(
        IsaPath isa,
        Span<T> dy, ReadOnlySpan<T> normalized, int rows, int n, int j0, int j1, // [rows, n] each; dy in place
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> std,                            // [n]
        Span<T> dgamma, Span<T> dbeta)                                         // [n]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var args = new BackwardArguments<T>(dy, normalized, rows, n, gamma, std, dgamma, dbeta);
        int done = Isa.Effective(isa) switch
        {
            IsaPath.Vector512 => BackwardVectors<T, V512<T>>(ref args, j0, j1),
            IsaPath.Vector256 => BackwardVectors<T, V256<T>>(ref args, j0, j1),
            IsaPath.Vector128 => BackwardVectors<T, V128<T>>(ref args, j0, j1),
            _ => j0,
        };
        for (int j = done; j < j1; j++)
        {
            BackwardReference(ref args, j);
        }
    }

    /// <summary>The scalar reference of one feature's training forward pass.</summary>
    private static void ForwardReference<T>(ref Arguments<T> a, int j)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = a.Rows, n = a.N;
        T count = T.CreateTruncating(rows), eps = T.CreateTruncating(Epsilon);
        T momentum = T.CreateTruncating(Momentum), rest = T.One - momentum;
        T sum = T.Zero;
        for (int r = 0; r < rows; r++)
        {
            sum += a.Z[(r * n) + j];
        }

        T mean = sum / count, squares = T.Zero;
        for (int r = 0; r < rows; r++)
        {
            T centred = a.Z[(r * n) + j] - mean;
            squares += centred * centred;
        }

        T variance = squares / count;
        T sigma = T.Sqrt(variance + eps);
        for (int r = 0; r < rows; r++)
        {
            int i = (r * n) + j;
            T xn = (a.Z[i] - mean) / sigma;
            if (!a.Normalized.IsEmpty)
            {
                a.Normalized[i] = xn;
            }

            a.Z[i] = (a.Gamma[j] * xn) + a.Beta[j];
        }

        if (!a.Std.IsEmpty)
        {
            a.Std[j] = sigma;
        }

        if (a.UpdateRunning)
        {
            a.RunningMean[j] = (momentum * a.RunningMean[j]) + (rest * mean);
            a.RunningVariance[j] = (momentum * a.RunningVariance[j]) + (rest * variance);
        }
    }

    /// <summary>The scalar reference of one feature's backward pass.</summary>
    private static void BackwardReference<T>(ref BackwardArguments<T> a, int j)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = a.Rows, n = a.N;
        T count = T.CreateTruncating(rows), two = T.CreateTruncating(2);
        T sigma = a.Std[j], g = a.Gamma[j];
        T sumDy = T.Zero, sumDyXn = T.Zero, dsigma = T.Zero;
        for (int r = 0; r < rows; r++)
        {
            int i = (r * n) + j;
            T d = a.Dy[i], xn = a.Normalized[i];
            sumDy += d;
            sumDyXn += xn * d;
            dsigma -= g * d * (xn * sigma) / (sigma * sigma);
        }

        T dvariance = dsigma / (two * sigma);
        T dmean = T.Zero;
        for (int r = 0; r < rows; r++)
        {
            int i = (r * n) + j;
            T xc = a.Normalized[i] * sigma;
            T dxc = (g * a.Dy[i] / sigma) + (two / count * xc * dvariance);
            a.Dy[i] = dxc;
            dmean += dxc;
        }

        for (int r = 0; r < rows; r++)
        {
            a.Dy[(r * n) + j] -= dmean / count;
        }

        a.Dgamma[j] = sumDyXn;
        a.Dbeta[j] = sumDy;
    }

    /// <summary>Whole vectors of features from j0 on; returns where the scalar tail starts.</summary>
    private static int ForwardVectors<T, TV>(ref Arguments<T> a, int j0, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int rows = a.Rows, n = a.N, lanes = TV.Lanes;
        TV count = TV.Create(T.CreateTruncating(rows)), eps = TV.Create(T.CreateTruncating(Epsilon));
        TV momentum = TV.Create(T.CreateTruncating(Momentum)), rest = TV.Create(T.One - T.CreateTruncating(Momentum));
        ref T z = ref MemoryMarshal.GetReference(a.Z);
        int j = j0;
        for (; j + lanes <= j1; j += lanes)
        {
            TV sum = TV.Zero;
            for (int r = 0; r < rows; r++)
            {
                sum += TV.Load(ref z, (r * n) + j);
            }

            TV mean = sum / count, squares = TV.Zero;
            for (int r = 0; r < rows; r++)
            {
                TV centred = TV.Load(ref z, (r * n) + j) - mean;
                squares += centred * centred;
            }

            TV variance = squares / count;
            TV sigma = TV.Sqrt(variance + eps);
            TV gamma = TV.Load(ref MemoryMarshal.GetReference(a.Gamma), j), beta = TV.Load(ref MemoryMarshal.GetReference(a.Beta), j);
            for (int r = 0; r < rows; r++)
            {
                nint i = (r * n) + j;
                TV xn = (TV.Load(ref z, i) - mean) / sigma;
                if (!a.Normalized.IsEmpty)
                {
                    TV.Store(xn, ref MemoryMarshal.GetReference(a.Normalized), i);
                }

                TV.Store((gamma * xn) + beta, ref z, i);
            }

            if (!a.Std.IsEmpty)
            {
                TV.Store(sigma, ref MemoryMarshal.GetReference(a.Std), j);
            }

            if (a.UpdateRunning)
            {
                ref T runningMean = ref MemoryMarshal.GetReference(a.RunningMean);
                ref T runningVariance = ref MemoryMarshal.GetReference(a.RunningVariance);
                TV.Store((momentum * TV.Load(ref runningMean, j)) + (rest * mean), ref runningMean, j);
                TV.Store((momentum * TV.Load(ref runningVariance, j)) + (rest * variance), ref runningVariance, j);
            }
        }

        return j;
    }

    private static int BackwardVectors<T, TV>(ref BackwardArguments<T> a, int j0, int j1)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int rows = a.Rows, n = a.N, lanes = TV.Lanes;
        TV count = TV.Create(T.CreateTruncating(rows)), two = TV.Create(T.CreateTruncating(2));
        TV twoOverCount = TV.Create(T.CreateTruncating(2) / T.CreateTruncating(rows));
        ref T dy = ref MemoryMarshal.GetReference(a.Dy);
        ref T normalized = ref MemoryMarshal.GetReference(a.Normalized);
        int j = j0;
        for (; j + lanes <= j1; j += lanes)
        {
            TV sigma = TV.Load(ref MemoryMarshal.GetReference(a.Std), j), g = TV.Load(ref MemoryMarshal.GetReference(a.Gamma), j);
            TV sumDy = TV.Zero, sumDyXn = TV.Zero, dsigma = TV.Zero, sigmaSquared = sigma * sigma;
            for (int r = 0; r < rows; r++)
            {
                nint i = (r * n) + j;
                TV d = TV.Load(ref dy, i), xn = TV.Load(ref normalized, i);
                sumDy += d;
                sumDyXn += xn * d;
                dsigma -= g * d * (xn * sigma) / sigmaSquared;
            }

            TV dvariance = dsigma / (two * sigma);
            TV dmean = TV.Zero;
            for (int r = 0; r < rows; r++)
            {
                nint i = (r * n) + j;
                TV xc = TV.Load(ref normalized, i) * sigma;
                TV dxc = (g * TV.Load(ref dy, i) / sigma) + (twoOverCount * xc * dvariance);
                TV.Store(dxc, ref dy, i);
                dmean += dxc;
            }

            TV shift = dmean / count;
            for (int r = 0; r < rows; r++)
            {
                nint i = (r * n) + j;
                TV.Store(TV.Load(ref dy, i) - shift, ref dy, i);
            }

            TV.Store(sumDyXn, ref MemoryMarshal.GetReference(a.Dgamma), j);
            TV.Store(sumDy, ref MemoryMarshal.GetReference(a.Dbeta), j);
        }

        return j;
    }

    private ref struct Arguments<T>(
        Span<T> z, int rows, int n, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> normalized, Span<T> std,
        Span<T> runningMean, Span<T> runningVariance, bool updateRunning)
    {
        public Span<T> Z = z;
        public int Rows = rows;
        public int N = n;
        public ReadOnlySpan<T> Gamma = gamma;
        public ReadOnlySpan<T> Beta = beta;
        public Span<T> Normalized = normalized;
        public Span<T> Std = std;
        public Span<T> RunningMean = runningMean;
        public Span<T> RunningVariance = runningVariance;
        public bool UpdateRunning = updateRunning;
    }

    private ref struct BackwardArguments<T>(
        Span<T> dy, ReadOnlySpan<T> normalized, int rows, int n, ReadOnlySpan<T> gamma, ReadOnlySpan<T> std, Span<T> dgamma, Span<T> dbeta)
    {
        public Span<T> Dy = dy;
        public ReadOnlySpan<T> Normalized = normalized;
        public int Rows = rows;
        public int N = n;
        public ReadOnlySpan<T> Gamma = gamma;
        public ReadOnlySpan<T> Std = std;
        public Span<T> Dgamma = dgamma;
        public Span<T> Dbeta = dbeta;
    }
}
