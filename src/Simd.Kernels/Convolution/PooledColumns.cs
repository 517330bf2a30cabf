using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>
/// The plan of one fused convolution-ReLU-pooling layer (<see cref="PooledConvolution"/>): its pooling phases — the
/// input values every column of the pooled-order im2col reads, each once (<see cref="PooledConvolution.PhaseMap"/>) —
/// as a map and as runs, and where window entry k of pooling block b starts in them (<see cref="Offsets"/>); the input
/// gradient scatters back through both (<see cref="Scatter{T}"/>). Every phase row of PW' = OW / PW values (one
/// channel, one (r, s), one pooled row py) reads one input row at a constant step PW·S between its padding on the
/// left and on the right, so the gather is a strided copy: with the book's 2x2 pooling at stride 1 a step of 2, which
/// the vector paths do as "the even lanes of two loads" (vpermt2ps; vshufps and vpermpd on AVX2) instead of indexed
/// loads and branches (a quarter of the ch. 7 step's time when it gathered the whole column matrix, measured). On the
/// 512-bit path a row of 17 to 32 values is loaded once for all the runs that read it (<see cref="GatherRows"/>).
/// </summary>
public sealed class PooledColumns
{
    private readonly int[] _runs; // [rows, 3]: source of px = 0 (may lie in the padding), first and end px inside

    // The 512-bit float gather by input row, when every run is whole (no padding), takes every other value (step 2)
    // and an input row is 17 to 32 values: each row is loaded once (two vectors) for all the runs that read it (18
    // for the book's layer, against two loads each).
    private readonly int[] _rowGroups = [];   // [groups, 3]: the row's first input index, its first target, its target count
    private readonly int[] _rowTargets = [];  // [runs, 2]: the run's first column in its row, where it goes in the phases

    public PooledColumns(in ConvolutionGeometry g, int poolHeight, int poolWidth)
    {
        Geometry = g;
        Blocks = poolHeight * poolWidth;
        PooledPositions = PooledConvolution.PooledPositions(g, poolHeight, poolWidth);
        PhaseMap = PooledConvolution.PhaseMap(g, poolHeight, poolWidth);
        Offsets = PooledConvolution.PhaseOffsets(g, poolHeight, poolWidth);
        RunLength = g.OutputWidth / poolWidth;
        Step = poolWidth * g.Stride;
        int rows = RunLength == 0 ? 0 : PhaseMap.Length / RunLength;
        _runs = new int[3 * rows];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<int> run = PhaseMap.AsSpan(r * RunLength, RunLength);
            int first = 0;
            while (first < RunLength && run[first] < 0)
            {
                first++;
            }

            int end = first;
            while (end < RunLength && run[end] >= 0)
            {
                end++;
            }

            for (int px = end; px < RunLength; px++)
            {
                if (run[px] >= 0)
                {
                    throw new InvalidOperationException("a run of the phase map has padding inside it"); // not possible: padding is only at the edges
                }
            }

            int source = first < end ? run[first] - (first * Step) : 0;
            for (int px = first; px < end; px++)
            {
                if (run[px] != source + (px * Step))
                {
                    throw new InvalidOperationException("a run of the phase map is not evenly spaced");
                }
            }

            (_runs[3 * r], _runs[(3 * r) + 1], _runs[(3 * r) + 2]) = (source, first, end);
        }

        int width = g.Width;
        bool whole = rows > 0 && Enumerable.Range(0, rows).All(r => _runs[(3 * r) + 1] == 0 && _runs[(3 * r) + 2] == RunLength);
        if (whole && Step == 2 && RunLength <= RowRunLanes && width > RowRunLanes && width <= 2 * RowRunLanes)
        {
            // Runs grouped by the input row they read, rows in input order and runs in phase order within a row.
            var byRow = Enumerable.Range(0, rows).GroupBy(r => _runs[3 * r] / width).OrderBy(group => group.Key).ToArray();
            _rowGroups = new int[3 * byRow.Length];
            _rowTargets = new int[2 * rows];
            int t = 0;
            for (int i = 0; i < byRow.Length; i++)
            {
                (_rowGroups[3 * i], _rowGroups[(3 * i) + 1], _rowGroups[(3 * i) + 2]) = (byRow[i].Key * width, t, byRow[i].Count());
                foreach (int r in byRow[i])
                {
                    (_rowTargets[2 * t], _rowTargets[(2 * t) + 1]) = (_runs[3 * r] % width, r * RunLength);
                    t++;
                }
            }
        }
    }

    /// <summary>Lanes of a 512-bit float vector: the longest run, and half the widest row, the row gather takes.</summary>
    private const int RowRunLanes = 16;

    public ConvolutionGeometry Geometry { get; }

    /// <summary>B = PH·PW: the blocks of a pooling window.</summary>
    public int Blocks { get; }

    /// <summary>Q: the pooled positions.</summary>
    public int PooledPositions { get; }

    /// <summary>map[i]: the input index of phase value i, or −1 in the padding; what <see cref="Gather{T}"/> reads.</summary>
    public int[] PhaseMap { get; }

    /// <summary>[B, K]: where window entry k of pooling block b starts in the phases.</summary>
    public int[] Offsets { get; }

    /// <summary>Entries per run: the pooled width OW / PW.</summary>
    public int RunLength { get; }

    /// <summary>The input step between neighbouring entries of a run: PW·S.</summary>
    public int Step { get; }

    /// <summary>Values of the phases: C·RH·RW·Q.</summary>
    public int Length => PhaseMap.Length;

    /// <summary>The phases of x (0 in the padding): the same values as <see cref="PooledConvolution.Im2Col{T}"/> through <see cref="PhaseMap"/>.</summary>
    public void Gather<T>(IsaPath isa, ReadOnlySpan<T> x, Span<T> phases)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(phases, Length, nameof(phases));
        IsaPath path = Isa.Effective(isa);
        if (typeof(T) == typeof(float) && path == IsaPath.Vector512 && Avx512F.IsSupported && _rowGroups.Length > 0)
        {
            ShapeCheck.AtLeast(x, Geometry.InputLength, nameof(x));
            GatherRows(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(phases));
            return;
        }

        bool evens = typeof(T) == typeof(float) && Step == 2 && RunLength <= 16
            && ((path == IsaPath.Vector512 && Avx512F.IsSupported) || (path >= IsaPath.Vector256 && Avx2.IsSupported));
        int width = RunLength;
        for (int r = 0, o = 0; r < _runs.Length; r += 3, o += width)
        {
            int source = _runs[r], first = _runs[r + 1], end = _runs[r + 2];
            if (evens && first == 0 && end == width && source + 32 <= x.Length && o + 16 <= phases.Length)
            {
                // 16 values stored: those past the run are the next run's, which is written after this one.
                ref float from = ref Unsafe.As<T, float>(ref Unsafe.Add(ref MemoryMarshal.GetReference(x), source));
                ref float to = ref Unsafe.As<T, float>(ref Unsafe.Add(ref MemoryMarshal.GetReference(phases), o));
                EvenLanes(ref from, ref to, path == IsaPath.Vector512 && Avx512F.IsSupported);
                continue;
            }

            Span<T> run = phases.Slice(o, width);
            run[..first].Clear();
            for (int px = first; px < end; px++)
            {
                run[px] = x[source + (px * Step)];
            }

            run[end..].Clear();
        }
    }

    /// <summary>
    /// The row gather (see <see cref="_rowGroups"/>): an input row's values [0, W) in two vectors (the second a masked
    /// load, so nothing past the row is read), then each of its runs, phases[o + px] = row[x0 + 2·px], as one vpermt2ps
    /// and a masked store of RunLength lanes (runs do not overlap, whatever order they are written in).
    /// </summary>
    private unsafe void GatherRows(ReadOnlySpan<float> x, Span<float> phases)
    {
        int width = Geometry.Width, length = RunLength;
        Vector512<float> store = Vector512.LessThan(Vector512<float>.Indices, Vector512.Create((float)length));
        Vector512<float> rest = Vector512.LessThan(Vector512<float>.Indices, Vector512.Create((float)(width - RowRunLanes)));
        Vector512<int> steps = Vector512<int>.Indices * 2;
        fixed (float* from = x, to = phases)
        {
            for (int g = 0; g < _rowGroups.Length; g += 3)
            {
                float* row = from + _rowGroups[g];
                Vector512<float> low = Vector512.Load(row), high = Avx512F.MaskLoad(row + RowRunLanes, rest, Vector512<float>.Zero);
                for (int t = _rowGroups[g + 1], end = t + _rowGroups[g + 2]; t < end; t++)
                {
                    // Indices 0-31 pick from low:high; a lane past the run may pick beyond the row's values: not stored.
                    Vector512<int> pick = steps + Vector512.Create(_rowTargets[2 * t]);
                    Avx512F.MaskStore(to + _rowTargets[(2 * t) + 1], store, Avx512F.PermuteVar16x32x2(low, pick, high));
                }
            }
        }
    }

    /// <summary>to[i] = from[2i] for i in [0, 16): two vectors' even lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void EvenLanes(ref float from, ref float to, bool wide)
    {
        if (wide)
        {
            Vector512<float> low = Vector512.LoadUnsafe(ref from), high = Vector512.LoadUnsafe(ref from, 16);
            Avx512F.PermuteVar16x32x2(low, Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), high).StoreUnsafe(ref to);
            return;
        }

        for (int half = 0; half < 2; half++)
        {
            Vector256<float> a = Vector256.LoadUnsafe(ref from, (nuint)(16 * half)), b = Vector256.LoadUnsafe(ref from, (nuint)((16 * half) + 8));
            // vshufps takes lanes 0 and 2 of each 128-bit half of a, then of b: a0 a2 b0 b2 | a4 a6 b4 b6; vpermpd puts the 64-bit pairs in order.
            Vector256<float> shuffled = Avx.Shuffle(a, b, 0b10_00_10_00);
            Avx2.Permute4x64(shuffled.AsDouble(), 0b11_01_10_00).AsSingle().StoreUnsafe(ref to, (nuint)(8 * half));
        }
    }

    /// <summary>
    /// col2im of the pooled-order column matrix: dx [C, H, W] = Σ dcol[k, b·Q + q] into x's index of phase value
    /// Offsets[b·K + k] + q (none in the padding), in the order (k, b, q) ascending.
    /// </summary>
    public void Scatter<T>(ReadOnlySpan<T> dcol, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = Geometry.WindowLength, q = PooledPositions;
        ShapeCheck.AtLeast(dcol, (long)k * Blocks * q, nameof(dcol));
        ShapeCheck.AtLeast(dx, Geometry.InputLength, nameof(dx));
        dx[..Geometry.InputLength].Clear();
        for (int p = 0, i = 0; p < k; p++)
        {
            for (int b = 0; b < Blocks; b++, i += q)
            {
                ReadOnlySpan<int> to = PhaseMap.AsSpan(Offsets[(b * k) + p], q);
                ReadOnlySpan<T> from = dcol.Slice(i, q);
                for (int j = 0; j < q; j++)
                {
                    if (to[j] >= 0)
                    {
                        dx[to[j]] += from[j];
                    }
                }
            }
        }
    }
}
