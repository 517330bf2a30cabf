using System.Diagnostics;
using System.Globalization;
using System.Text;
using CsCheck;
using Simd.Tests.Support;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>A test on one of the book's own weight files in ../shared/reference; skipped, saying why, where that folder is absent.</summary>
public sealed class BookFileFactAttribute : FactAttribute
{
    public BookFileFactAttribute(string relative)
    {
        if (!File.Exists(BookPickleTests.BookFile(relative)))
        {
            Skip = $"{relative} is not at {BookPickleTests.BookFile(relative)} (the shared reference folder beside the repository, as CI has it)";
        }
    }
}

/// <summary>
/// The data-only reader of the book's pickled weights: the shipped files, what numpy writes in every protocol, and
/// pickles that try to run code, are damaged or hold anything but float arrays (one line each, nothing executed).
/// </summary>
public class BookPickleTests
{
    public static string BookFile(string relative) =>
        Path.GetFullPath(Path.Combine(RepositoryRoot.Path, "..", "shared", "reference", "deep-learning-from-scratch", relative));

    [BookFileFact("ch07/params.pkl")]
    public void The_books_ch7_weights_read_with_their_names_and_shapes()
    {
        IReadOnlyList<NpyArray> arrays = BookPickle.Read(BookFile("ch07/params.pkl"));
        Assert.Equal(["W1", "b1", "W2", "b2", "W3", "b3"], arrays.Select(a => a.Name));
        Assert.Equal(["(30, 1, 5, 5)", "(30,)", "(4320, 100)", "(100,)", "(100, 10)", "(10,)"], arrays.Select(a => a.ShapeText));
        Assert.All(arrays, a => Assert.Equal(NpyType.Float64, a.Type));
    }

    [BookFileFact("ch08/deep_convnet_params.pkl")]
    public void The_books_ch8_weights_read()
    {
        IReadOnlyList<NpyArray> arrays = BookPickle.Read(BookFile("ch08/deep_convnet_params.pkl"));
        Assert.Equal(16, arrays.Count); // W1..W8, b1..b8: 6 convolutions, 2 affine layers
        Assert.Equal("(16, 1, 3, 3)", arrays.Single(a => a.Name == "W1").ShapeText);
    }

    [NumpyFact]
    public void Values_match_numpy_for_every_protocol_and_both_float_types()
    {
        using var dir = new TempDirectory();
        const string Script = """
            import numpy as np, pickle, sys
            rng = np.random.default_rng(3)
            params = {'W1': rng.standard_normal((3, 2, 5, 5)), 'b1': np.zeros(3), 'W2': rng.standard_normal((7, 4)).astype(np.float32), 'b2': np.arange(4, dtype=np.float32)}
            for protocol in (2, 3, 4, 5):
                with open(f'{sys.argv[1]}/p{protocol}.pkl', 'wb') as f:
                    pickle.dump(params, f, protocol)
            print(repr(float(params['W1'].flat[0])), repr(float(params['W1'].flat[-1])), repr(float(params['W1'].flat[77])), repr(float(params['W2'].flat[-1])))
            """;
        (int code, string output, string error) = Numpy.Run(Script, dir.Path);
        Assert.True(code == 0, error);
        double[] expected = [.. output.Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture))];
        foreach (int protocol in (int[])[2, 3, 4, 5])
        {
            IReadOnlyList<NpyArray> arrays = BookPickle.Read(dir.File($"p{protocol}.pkl"));
            Assert.Equal(["W1", "b1", "W2", "b2"], arrays.Select(a => a.Name));
            double[] w1 = arrays[0].ToFloating<double>();
            Assert.Equal(expected[..3], (double[])[w1[0], w1[^1], w1[77]]); // exactly: repr round-trips
            Assert.Equal(expected[3], (double)arrays[2].ToFloating<float>()[^1]);
            Assert.Equal(NpyType.Float32, arrays[2].Type);
            Assert.Equal([0f, 1f, 2f, 3f], arrays[3].ToFloating<float>());
        }
    }

    [NumpyFact]
    public void A_pickle_that_would_run_code_is_refused_and_runs_nothing()
    {
        using var dir = new TempDirectory();
        string marker = dir.File("ran");
        const string Script = """
            import pickle, sys, os
            class Evil:
                def __reduce__(self):
                    return (os.system, ('touch ' + sys.argv[2],))
            with open(sys.argv[1], 'wb') as f:
                pickle.dump({'W1': Evil()}, f, 4)
            """;
        (int code, _, string error) = Numpy.Run(Script, dir.File("evil.pkl"), marker);
        Assert.True(code == 0, error);
        var e = Assert.Throws<ModelFileException>(() => BookPickle.Read(dir.File("evil.pkl")));
        Assert.Contains("the global posix.system (only numpy's array pickling is read)", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 4, 0x7d, 0x2e }, null)] // {}: an empty dict of arrays
    [InlineData(new byte[] { 0x80, 4, 0x4b, 1, 0x2e }, "the pickle holds an integer, not a dict of arrays")]
    [InlineData(new byte[] { 0x80, 4, 0x7d }, "the pickle ends before its STOP opcode")]
    [InlineData(new byte[] { 0x80, 9, 0x7d, 0x2e }, "pickle protocol 9")]
    [InlineData(new byte[] { 0x80, 4, 0x69, 0x2e }, "an opcode the book's weight files do not use")] // INST
    [InlineData(new byte[] { 0x80, 4, 0x42, 0xff, 0xff, 0xff, 0x7f, 0x2e }, "2147483647 bytes claimed")]
    [InlineData(new byte[] { 0x80, 4, 0x7d, 0x2e, 0 }, "1 bytes after STOP")]
    [InlineData(new byte[] { 0x80, 4, 0x68, 5, 0x2e }, "memo slot 5 was never stored")]
    public void Damaged_pickles_are_one_line(byte[] pickle, string? expected)
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("w.pkl"), pickle);
        if (expected is null)
        {
            Assert.Empty(BookPickle.Read(dir.File("w.pkl")));
            return;
        }

        string message = Assert.Throws<ModelFileException>(() => BookPickle.Read(dir.File("w.pkl"))).Message;
        Assert.StartsWith($"{dir.File("w.pkl")}: not a pickle of the book's weights: ", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    /// <summary>A small pickle as numpy writes it (protocol 4): {'W1': float64 (2, 3), 'b1': float64 (3,)}, made here byte by byte.</summary>
    private static byte[] SmallPickle()
    {
        var p = new List<byte> { 0x80, 4, 0x7d, 0x94, 0x28 };
        void Text(string s)
        {
            p.Add(0x8c);
            p.Add((byte)s.Length);
            p.AddRange(Encoding.ASCII.GetBytes(s));
        }

        foreach ((string name, int[] shape) in new[] { ("W1", new[] { 2, 3 }), ("b1", new[] { 3 }) })
        {
            Text(name);
            Text("numpy.core.multiarray");
            Text("_reconstruct");
            p.Add(0x93);
            Text("numpy");
            Text("ndarray");
            p.Add(0x93);
            p.AddRange([0x4b, 0, 0x85, 0x43, 1, (byte)'b', 0x87, 0x52]); // _reconstruct(ndarray, (0,), b'b')
            p.Add(0x28);
            p.AddRange([0x4b, 1, 0x28]);
            foreach (int d in shape)
            {
                p.AddRange([0x4b, (byte)d]);
            }

            p.Add(0x74);
            Text("numpy");
            Text("dtype");
            p.Add(0x93);
            Text("f8");
            p.AddRange([0x89, 0x88, 0x87, 0x52]); // dtype('f8', False, True)
            p.AddRange([0x28, 0x4b, 3]);
            Text("<");
            p.AddRange([0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0, 0x74, 0x62]);
            p.Add(0x89);
            int count = shape.Aggregate(1, (a, b) => a * b);
            p.AddRange([0x43, (byte)(count * 8)]);
            for (int i = 0; i < count; i++)
            {
                p.AddRange(BitConverter.GetBytes(i + 0.5));
            }

            p.AddRange([0x74, 0x62]);
        }

        p.AddRange([0x75, 0x2e]);
        return [.. p];
    }

    [Fact]
    public void A_pickle_made_byte_by_byte_reads()
    {
        IReadOnlyList<NpyArray> arrays = BookPickle.Parse(SmallPickle());
        Assert.Equal(["(2, 3)", "(3,)"], arrays.Select(a => a.ShapeText));
        Assert.Equal([0.5, 1.5, 2.5, 3.5, 4.5, 5.5], arrays[0].ToFloating<double>());
    }

    [Fact]
    public void Damaged_pickles_read_or_fail_with_the_model_exception_cheaply()
    {
        byte[] valid = SmallPickle();
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, int.MaxValue], Gen.Byte).Sample((damage, a, value) =>
        {
            byte[] bytes = [.. valid];
            int at = a % bytes.Length;
            switch (damage)
            {
                case 0: bytes = bytes[..at]; break;
                case 1: bytes[at] ^= (byte)(1 << (a % 8)); break;
                case 2: bytes[at] = value; break;
                default: bytes = [.. bytes[..at], value, .. bytes[at..]]; break;
            }

            long before = GC.GetAllocatedBytesForCurrentThread(), start = Stopwatch.GetTimestamp();
            try
            {
                BookPickle.Parse(bytes);
            }
            catch (FormatException e)
            {
                Assert.DoesNotContain('\n', e.Message);
            }

            Assert.True(Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(1));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        }, iter: 2000, threads: 1);
    }
}
