using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>Model files (.npz): round trips, every check of the reader, and numpy itself reading ours and writing its own.</summary>
public class ModelFileTests
{
    private static readonly NetworkShape Deep = new(12, [7, 5, 3], 4);

    [Fact]
    public void A_saved_network_reads_back_bitwise_with_its_shape_activation_and_init()
    {
        using var dir = new TempDirectory();
        foreach (Precision precision in (Precision[])[Precision.Single, Precision.Double])
        {
            string path = dir.File($"model-{precision}.npz");
            float[] expected;
            using (var network = new MultiLayerNet<float>(Deep, Activation.Relu, IsaPath.Scalar, seed: 3, maxBatch: 1, threads: 1, WeightInit.He))
            {
                network.Parameters.Fill(0.5f); // biases nonzero too
                network.Initialize(3);
                for (int l = 0; l < Deep.LayerCount; l++)
                {
                    network.Bias(l).Fill(l + 0.25f);
                }

                expected = network.Parameters.ToArray();
                if (precision == Precision.Single)
                {
                    ModelFile.Save(path, network, "hidden=7,5,3");
                }
                else
                {
                    using var wide = new MultiLayerNet<double>(Deep, Activation.Relu, IsaPath.Scalar, seed: 3, maxBatch: 1, threads: 1, WeightInit.He);
                    for (int i = 0; i < expected.Length; i++)
                    {
                        wide.Parameters[i] = expected[i];
                    }

                    ModelFile.Save(path, wide, "hidden=7,5,3");
                }
            }

            Model model = ModelFile.Read(path);
            Assert.Equal(Deep, model.Shape);
            Assert.Equal(precision, model.Precision);
            Assert.Equal(Activation.Relu, model.Activation);
            Assert.Equal("he", model.Init);
            Assert.Equal("hidden=7,5,3", model.Options);
            Assert.Equal(["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"], model.Parameters.Select(p => p.Name));
            Assert.Equal([12, 7], model.Parameters[0].Shape);
            Assert.Equal([7], model.Parameters[1].Shape);
            var read = new float[Deep.ParameterCount];
            model.CopyParametersTo<float>(read);
            Assert.Equal(expected, read); // float → file → float, and float → double → file → float: exact both ways
        }
    }

    [Fact]
    public void The_same_network_gives_the_same_bytes()
    {
        using var dir = new TempDirectory();
        using var network = new MultiLayerNet<float>(NetworkShape.Book, Activation.Sigmoid, IsaPath.Scalar, seed: 1, maxBatch: 1);
        ModelFile.Save(dir.File("a.npz"), network);
        ModelFile.Save(dir.File("b.npz"), network);
        Assert.Equal(File.ReadAllBytes(dir.File("a.npz")), File.ReadAllBytes(dir.File("b.npz")));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
    }

    [Fact]
    public void Npy_headers_are_numpys_version_1_aligned_to_64_bytes()
    {
        var stream = new MemoryStream();
        Simd.Training.Models.Npy.Write(stream, NpyArray.Floating<float>("W1", new float[6], 2, 3));
        byte[] bytes = stream.ToArray();
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], bytes[..8]);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header, StringComparison.Ordinal);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);
        Assert.Equal(10 + headerLength + 24, bytes.Length);
    }

    /// <summary>A file with only W and b, as the book's np.savez(path, **network.params) writes: no activation stored.</summary>
    [Fact]
    public void A_file_of_only_parameters_is_a_model_without_an_activation()
    {
        using var dir = new TempDirectory();
        string path = dir.File("book.npz");
        WriteNpz(path, ("W1", Npy(Header("<f8", "(3, 2)"), new byte[48])), ("b1", Npy(Header("<f8", "(2,)"), new byte[16])));
        Model model = ModelFile.Read(path);
        Assert.Equal(new NetworkShape(3, [], 2), model.Shape);
        Assert.Null(model.Activation);
        Assert.Equal(Precision.Double, model.Precision);
    }

    [Fact]
    public void A_fortran_order_matrix_is_read_row_major()
    {
        using var dir = new TempDirectory();
        string path = dir.File("fortran.npz");
        // [[1, 2, 3], [4, 5, 6]] stored column by column: 1 4 2 5 3 6.
        byte[] data = [.. new float[] { 1, 4, 2, 5, 3, 6 }.SelectMany(BitConverter.GetBytes)];
        WriteNpz(path, ("W1", Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data)), ("b1", Npy(Header("<f4", "(3,)"), new byte[12])));
        var values = new float[9];
        ModelFile.Read(path).CopyParametersTo<float>(values);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 0, 0, 0], values);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "no-b1", "b1 is missing" },
        { "no-w2", "W2 is missing" },
        { "extra-bias", "b2 has no W2" },
        { "no-chain", "do not chain" },
        { "bias-mismatch", "b1 has shape (3,) but W1 has 2 outputs" },
        { "mixed-types", "one precision for all parameters" },
        { "three-d", "W1 has shape (2, 3, 1)" },
        { "vector-weights", "W1 has shape (6,)" },
        { "scalar-weights-with-gamma", "W1 has shape ()" },
        { "gamma-wrong-size", "gamma1 holds <f4 (2,); it must be (3,)" },
        { "integer-weights", "W1 holds <i4" },
        { "big-endian", "big-endian" },
        { "unknown-dtype", "dtype '<c8' is not supported" },
        { "unknown-name", "unknown array 'weights'" },
        { "unknown-metadata", "unknown metadata array 'simd_other'" },
        { "bad-activation", "simd_activation is 'tanh'" },
        { "text-activation-vector", "simd_activation holds <U4 (2,)" },
        { "short-data", "bytes but the .npy header implies" },
        { "long-data", "bytes but the .npy header implies" },
        { "bad-magic", "no \\x93NUMPY magic" },
        { "version-9", "format version 9.0 is not supported" },
        { "header-garbage", "not numpy's dict" },
        { "header-extra-key", "unexpected key 'order'" },
        { "header-missing-shape", "lacks 'shape'" },
        { "huge-shape", "larger than a model file may hold" },
        { "not-npy-entry", "entry 'W1.txt' is not a .npy array" },
        { "zero-units", "layer sizes 2-0" },
        { "empty-zip", "no weights" },
        { "not-zip", "not a valid .npz (zip) file" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Bad_files_are_refused_with_one_line_naming_the_file(string name, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File(name + ".npz");
        byte[] w23 = new byte[24];
        (string, byte[]) W1 = ("W1", Npy(Header("<f4", "(2, 3)"), w23));
        (string, byte[]) B1 = ("b1", Npy(Header("<f4", "(3,)"), new byte[12]));
        switch (name)
        {
            case "no-b1": WriteNpz(path, W1); break;
            case "no-w2": WriteNpz(path, W1, B1, ("W3", Npy(Header("<f4", "(3, 1)"), new byte[12])), ("b3", Npy(Header("<f4", "(1,)"), new byte[4]))); break;
            case "extra-bias": WriteNpz(path, W1, B1, ("b2", Npy(Header("<f4", "(1,)"), new byte[4]))); break;
            case "no-chain": WriteNpz(path, W1, B1, ("W2", Npy(Header("<f4", "(4, 1)"), new byte[16])), ("b2", Npy(Header("<f4", "(1,)"), new byte[4]))); break;
            case "bias-mismatch": WriteNpz(path, ("W1", Npy(Header("<f4", "(3, 2)"), w23)), B1); break;
            case "mixed-types": WriteNpz(path, W1, ("b1", Npy(Header("<f8", "(3,)"), new byte[24]))); break;
            case "three-d": WriteNpz(path, ("W1", Npy(Header("<f4", "(2, 3, 1)"), w23)), B1); break;
            case "vector-weights": WriteNpz(path, ("W1", Npy(Header("<f4", "(6,)"), w23)), B1); break;
            case "scalar-weights-with-gamma": // the gamma's size is checked against W1's only after W1's shape is
                WriteNpz(path, ("W1", Npy(Header("<f4", "()"), new byte[4])), B1, ("gamma1", Npy(Header("<f4", "(3,)"), new byte[12])),
                    ("beta1", Npy(Header("<f4", "(3,)"), new byte[12])), ("W2", Npy(Header("<f4", "(3, 1)"), new byte[12])), ("b2", Npy(Header("<f4", "(1,)"), new byte[4])));
                break;
            case "gamma-wrong-size":
                WriteNpz(path, W1, B1, ("gamma1", Npy(Header("<f4", "(2,)"), new byte[8])), ("beta1", Npy(Header("<f4", "(3,)"), new byte[12])),
                    ("W2", Npy(Header("<f4", "(3, 1)"), new byte[12])), ("b2", Npy(Header("<f4", "(1,)"), new byte[4])));
                break;
            case "integer-weights": WriteNpz(path, ("W1", Npy(Header("<i4", "(2, 3)"), w23)), B1); break;
            case "big-endian": WriteNpz(path, ("W1", Npy(Header(">f4", "(2, 3)"), w23)), B1); break;
            case "unknown-dtype": WriteNpz(path, ("W1", Npy(Header("<c8", "(2, 3)"), new byte[48])), B1); break;
            case "unknown-name": WriteNpz(path, W1, B1, ("weights", Npy(Header("<f4", "(1,)"), new byte[4]))); break;
            case "unknown-metadata": WriteNpz(path, W1, B1, ("simd_other", Npy(Header("<U2", "()"), new byte[8]))); break;
            case "bad-activation": WriteNpz(path, W1, B1, ("simd_activation", Text("tanh"))); break;
            case "text-activation-vector": WriteNpz(path, W1, B1, ("simd_activation", Npy(Header("<U4", "(2,)"), new byte[32]))); break;
            case "short-data": WriteNpz(path, ("W1", Npy(Header("<f4", "(2, 3)"), new byte[20])), B1); break;
            case "long-data": WriteNpz(path, ("W1", Npy(Header("<f4", "(2, 3)"), new byte[28])), B1); break;
            case "bad-magic": WriteNpz(path, ("W1", [.. "\x93NUMPX"u8, 1, 0, 0, 0]), B1); break;
            case "version-9": WriteNpz(path, ("W1", [0x93, .. "NUMPY"u8, 9, 0, 0, 0]), B1); break;
            case "header-garbage": WriteNpz(path, ("W1", Npy("{'descr': <f4}", w23)), B1); break;
            case "header-extra-key": WriteNpz(path, ("W1", Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'order': 'C'}", w23)), B1); break;
            case "header-missing-shape": WriteNpz(path, ("W1", Npy("{'descr': '<f4', 'fortran_order': False}", w23)), B1); break;
            case "huge-shape": WriteNpz(path, ("W1", Npy(Header("<f8", "(2000000000, 2000000000)"), w23)), B1); break;
            case "not-npy-entry": WriteNpz(path, ("W1.txt", w23)); break; // the helper adds ".npy" only when the name has no dot
            case "zero-units": WriteNpz(path, ("W1", Npy(Header("<f4", "(2, 0)"), [])), ("b1", Npy(Header("<f4", "(0,)"), []))); break;
            case "empty-zip": WriteNpz(path); break;
            case "not-zip": File.WriteAllText(path, "PK? no, just text"); break;
        }

        ModelFileException error = Assert.Throws<ModelFileException>(() => ModelFile.Read(path));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith(Path.GetFullPath(path), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_missing_file_or_a_directory_is_named()
    {
        using var dir = new TempDirectory();
        Assert.Contains("no such file", Assert.Throws<ModelFileException>(() => ModelFile.Read(dir.File("none.npz"))).Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", Assert.Throws<ModelFileException>(() => ModelFile.Read(dir.Path)).Message, StringComparison.Ordinal);
    }

    [NumpyFact]
    public void Numpy_loads_what_simd_saves()
    {
        using var dir = new TempDirectory();
        string path = dir.File("simd.npz");
        using var network = new MultiLayerNet<double>(Deep, Activation.Sigmoid, IsaPath.Scalar, seed: 5, maxBatch: 1, threads: 1, WeightInit.Xavier);
        network.Bias(2)[1] = 0.125;
        ModelFile.Save(path, network, "options line");
        const string Script = """
            import sys, numpy as np
            z = np.load(sys.argv[1])
            print(sorted(z.files))
            for k in ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'W4', 'b4']:
                print(k, z[k].dtype.str, z[k].shape, repr(float(z[k].sum())))
            print(str(z['simd_activation']), str(z['simd_init']), str(z['simd_options']), str(z['simd_version']))
            """;
        (int code, string output, string error) = Numpy.Run(Script, path);
        Assert.True(code == 0, error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("['W1', 'W2', 'W3', 'W4', 'b1', 'b2', 'b3', 'b4', 'simd_activation', 'simd_dropout', 'simd_init', 'simd_options', 'simd_version']", lines[0]);
        for (int l = 0; l < Deep.LayerCount; l++)
        {
            double w = 0, b = 0;
            foreach (double v in network.Weights(l).Flat())
            {
                w += v;
            }

            foreach (double v in network.Bias(l))
            {
                b += v;
            }

            Assert.StartsWith($"W{l + 1} <f8 ({Deep.InputsOf(l)}, {Deep.OutputsOf(l)}) ", lines[1 + (2 * l)], StringComparison.Ordinal);
            Assert.Equal(w, double.Parse(lines[1 + (2 * l)].Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture), 1e-12);
            Assert.StartsWith($"b{l + 1} <f8 ({Deep.OutputsOf(l)},) ", lines[2 + (2 * l)], StringComparison.Ordinal);
            Assert.Equal(b, double.Parse(lines[2 + (2 * l)].Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture), 1e-12);
        }

        Assert.Equal($"sigmoid xavier options line {ModelFile.FormatVersion}", lines[^1]);
    }

    [NumpyFact]
    public void Simd_loads_what_numpy_saves_plain_and_compressed()
    {
        using var dir = new TempDirectory();
        const string Script = """
            import sys, numpy as np
            rng = np.random.default_rng(1)
            params = {'W1': rng.standard_normal((784, 20)).astype(np.float32), 'b1': np.zeros(20, np.float32),
                      'W2': rng.standard_normal((20, 10)).astype(np.float32), 'b2': np.arange(10, dtype=np.float32)}
            np.savez(sys.argv[1], **params)
            np.savez_compressed(sys.argv[2], **{k: v.astype(np.float64) for k, v in params.items()})
            np.savez(sys.argv[3], W1=np.asfortranarray(params['W1']), b1=params['b1'], W2=params['W2'], b2=params['b2'])
            print(repr(float(params['W1'][3, 7])), repr(float(params['W2'][19, 9])))
            """;
        string plain = dir.File("plain.npz"), compressed = dir.File("compressed.npz"), fortran = dir.File("fortran.npz");
        (int code, string output, string error) = Numpy.Run(Script, plain, compressed, fortran);
        Assert.True(code == 0, error);
        double[] expected = [.. output.Split(' ').Select(s => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];
        foreach ((string path, Precision precision) in new[] { (plain, Precision.Single), (compressed, Precision.Double), (fortran, Precision.Single) })
        {
            Model model = ModelFile.Read(path);
            Assert.Equal(new NetworkShape(784, [20], 10), model.Shape);
            Assert.Equal(precision, model.Precision);
            Assert.Null(model.Activation);
            using var network = new MultiLayerNet<double>(model.Shape, Activation.Sigmoid, IsaPath.Scalar, seed: 0, maxBatch: 1);
            model.CopyParametersTo<double>(network.Parameters);
            Assert.Equal(expected[0], network.Weights(0)[3, 7]);
            Assert.Equal(expected[1], network.Weights(1)[19, 9]);
            Assert.Equal(9.0, network.Bias(1)[9]);
        }
    }

    internal static string Header(string descr, string shape) => $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";

    /// <summary>A version 1.0 .npy with <paramref name="header"/> as given (padded to 64 bytes as numpy does).</summary>
    internal static byte[] Npy(string header, byte[] data)
    {
        int padding = (64 - ((10 + header.Length + 1) % 64)) % 64;
        string padded = header + new string(' ', padding) + "\n";
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange("NUMPY"u8.ToArray());
        bytes.AddRange([1, 0, (byte)padded.Length, (byte)(padded.Length >> 8)]);
        bytes.AddRange(Encoding.ASCII.GetBytes(padded));
        bytes.AddRange(data);
        return [.. bytes];
    }

    private static byte[] Text(string value) =>
        Npy(Header($"<U{value.Length}", "()"), [.. value.SelectMany(c => BitConverter.GetBytes((int)c))]);

    /// <summary>A zip of the entries; a name without a dot gets ".npy".</summary>
    internal static void WriteNpz(string path, params (string Name, byte[] Bytes)[] entries)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach ((string name, byte[] bytes) in entries)
        {
            using Stream stream = zip.CreateEntry(name.Contains('.', StringComparison.Ordinal) ? name : name + ".npy").Open();
            stream.Write(bytes);
        }
    }
}
