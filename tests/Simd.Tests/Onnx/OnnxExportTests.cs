using System.Numerics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Simd.Cli;
using Simd.Kernels;
using Simd.Onnx;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Layers;
using Simd.Training.Models;

namespace Simd.Tests.Onnx;

/// <summary>
/// `simd export` checked by ONNX Runtime itself (issue 19): each kind of network simd trains, and the book's ch07 and
/// ch08 pickles, exported and run by ONNX Runtime on all 10,000 test images: the same prediction as simd's for every
/// image, and every probability within 1e-5 of simd's (computed in the file's precision, as `simd eval` does).
/// </summary>
public class OnnxExportTests
{
    private const double ProbabilityTolerance = 1e-5;

    private static (int Code, string Output, string Error) RunSmall(params string[] args) => CliRunner.Run([.. args, "--data", SmallMnist.Directory]);

    /// <summary>Trains a few steps of <paramref name="train"/> on the small MNIST and saves it.</summary>
    private static string Trained(TempDirectory dir, string name, params string[] train)
    {
        (int code, _, string error) = RunSmall(["train", .. train, "--iters", "30", "--batch", "20", "--save", dir.File(name)]);
        Assert.True(code == 0, error);
        return dir.File(name);
    }

    [Fact]
    public void A_two_layer_sigmoid_network_runs_the_same_in_onnx_runtime()
    {
        using var dir = new TempDirectory();
        ExportAndCompare(dir, Trained(dir, "fc.npz"), stack: null, "Gemm", "Sigmoid");
    }

    [Fact]
    public void A_relu_network_with_batch_normalization_and_dropout_runs_the_same()
    {
        using var dir = new TempDirectory();
        string model = Trained(dir, "bn.npz", "--hidden", "40,30", "--activation", "relu", "--batchnorm", "--dropout", "0.3", "--optimizer", "adam");
        ExportAndCompare(dir, model, stack: null, "BatchNormalization", "Relu", "Mul");
    }

    /// <summary>Batch normalization of images (the book's per-value statistics through Flatten and Reshape), strides, pads, both activations.</summary>
    [Fact]
    public void A_convolutional_stack_with_every_layer_kind_runs_the_same()
    {
        using var dir = new TempDirectory();
        string model = Trained(dir, "conv.npz", "--layers", "conv4x3p1-batchnorm-relu-pool2-conv6x3s2p1-sigmoid-pool3s2-affine20-relu-dropout0.25-affine10-dropout0.5", "--optimizer", "adam");
        ExportAndCompare(dir, model, stack: null, "Conv", "MaxPool", "Reshape", "Flatten", "BatchNormalization", "Sigmoid");
    }

    /// <summary>A float64 model: exported in float32 with a note, still within the tolerance of simd's float64 probabilities.</summary>
    [Fact]
    public void A_float64_model_is_written_in_float32_with_a_note()
    {
        using var dir = new TempDirectory();
        string model = Trained(dir, "double.npz", "--precision", "double", "--layers", "conv3x5-relu-pool2-affine10");
        (string output, _) = ExportAndCompare(dir, model, stack: null, "Conv");
        Assert.Contains("note: the file holds float64 parameters; ONNX gets them rounded to float32", output, StringComparison.Ordinal);
    }

    [Simd.Tests.Training.BookFileFact("ch07/params.pkl")]
    public void The_books_ch07_pickle_runs_the_same() =>
        ExportAndCompare(null, Simd.Tests.Training.BookPickleTests.BookFile("ch07/params.pkl"), "simple-convnet", "Conv", "MaxPool");

    [Simd.Tests.Training.BookFileFact("ch08/deep_convnet_params.pkl")]
    public void The_books_ch08_pickle_runs_the_same_and_keeps_its_accuracy()
    {
        (_, int correct) = ExportAndCompare(null, Simd.Tests.Training.BookPickleTests.BookFile("ch08/deep_convnet_params.pkl"), "deep-convnet", "Conv", "Mul");
        Assert.Equal(9797, correct); // what the book's numpy code prints for these weights
    }

    [Fact]
    public void Bad_outputs_and_bad_models_are_one_line_each()
    {
        using var dir = new TempDirectory();
        string model = Trained(dir, "fc.npz");
        (int code, string output, string error) = CliRunner.Run("export", "--model", model, "-o", dir.File("model.txt"));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal("", output);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains(".onnx", error, StringComparison.Ordinal);

        // Outputs that cannot be written are refused before the model is read.
        (code, output, error) = CliRunner.Run("export", "--model", model, "-o", Path.Combine(dir.File("missing"), "model.onnx"));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
        Directory.CreateDirectory(dir.File("folder.onnx"));
        (code, output, error) = CliRunner.Run("export", "--model", model, "-o", dir.File("folder.onnx"));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Single(error.Trim().Split('\n'));

        File.WriteAllBytes(dir.File("broken.npz"), [.. File.ReadAllBytes(model).AsSpan(0, 200)]);
        File.WriteAllText(dir.File("old.onnx"), "an earlier export");
        (code, output, error) = CliRunner.Run("export", "--model", dir.File("broken.npz"), "-o", dir.File("old.onnx"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Single(error.Trim().Split('\n'));
        Assert.Equal("an earlier export", File.ReadAllText(dir.File("old.onnx"))); // nothing lost
    }

    [Fact]
    public void Export_has_help()
    {
        (int code, string output, _) = CliRunner.Run("export", "--help");
        Assert.Equal(0, code);
        Assert.Contains("ONNX", output, StringComparison.Ordinal);
        Assert.Contains("--output", output, StringComparison.Ordinal);
        Assert.Contains("--net", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Exports <paramref name="model"/>, checks the graph's contract (names, dynamic N, opset, metadata, the operators
    /// expected), runs it in ONNX Runtime on the 10,000 test images and compares with simd image by image.
    /// </summary>
    /// <returns>simd export's stdout and how many test images ONNX Runtime classified correctly.</returns>
    private static (string Output, int Correct) ExportAndCompare(TempDirectory? dir, string model, string? stack, params string[] operators)
    {
        using var own = dir is null ? new TempDirectory() : null;
        string onnx = (dir ?? own!).File("model.onnx");
        (int code, string output, string error) = CliRunner.Run(["export", "--model", model, .. stack is null ? Array.Empty<string>() : ["--net", stack], "-o", onnx]);
        Assert.True(code == 0, error);
        Assert.Contains($"wrote {onnx}:", output, StringComparison.Ordinal);

        var data = MnistFixture.TestSingle;
        int images = data.Count, pixels = data.Features;
        var input = new float[images * pixels];
        data.CopyImages(Isa.Supported[0], 0, images, input);
        float[] probabilities;
        using (var session = new InferenceSession(onnx))
        {
            Assert.Equal([-1, 1, 28, 28], session.InputMetadata[OnnxExport.InputName].Dimensions);
            Assert.Equal([-1, 10], session.OutputMetadata[OnnxExport.OutputName].Dimensions);
            Assert.Equal("simd", session.ModelMetadata.ProducerName);
            Assert.StartsWith(LoadStack(model, stack).Input.ToString(), session.ModelMetadata.CustomMetadataMap["simd_layers"], StringComparison.Ordinal);
            probabilities = Run(session, input, images);
        }

        byte[] graph = File.ReadAllBytes(onnx);
        foreach (string op in operators)
        {
            Assert.True(System.Text.Encoding.ASCII.GetString(graph).Contains(op, StringComparison.Ordinal), $"the graph has no {op} node");
        }

        Simd.Training.Models.Model file = ModelFile.Read(model, stack is null ? null : LayerStack.Named(stack));
        int correct = file.Precision == Precision.Double
            ? Compare<double>(file, MnistFixture.TestDouble, probabilities)
            : Compare<float>(file, data, probabilities);
        return (output, correct);
    }

    /// <summary>ONNX Runtime's probabilities [images, 10], in batches of 1000 (and a last batch of 1: N really is free).</summary>
    private static float[] Run(InferenceSession session, float[] input, int images)
    {
        var all = new float[images * 10];
        for (int start = 0; start < images;)
        {
            int count = start == images - 1 ? 1 : Math.Min(1000, images - 1 - start);
            var tensor = new DenseTensor<float>(input.AsMemory(start * 784, count * 784), [count, 1, 28, 28]);
            using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.InputName, tensor)]);
            Tensor<float> output = results.Single(r => r.Name == OnnxExport.OutputName).AsTensor<float>();
            Assert.Equal([count, 10], output.Dimensions.ToArray());
            output.ToArray().CopyTo(all, start * 10);
            start += count;
        }

        return all;
    }

    /// <summary>simd's probabilities for every test image (the file's precision and the widest kernel path, as `simd eval`), against ONNX Runtime's; returns ONNX Runtime's correct count.</summary>
    private static int Compare<T>(Simd.Training.Models.Model file, Dataset<T> data, float[] onnx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var loaded = new LoadedModel(file, file.Activation ?? Activation.Sigmoid, "test");
        using MultiLayerNet<T> network = loaded.Build<T>(Isa.Supported[0], threads: 1);
        var image = new T[data.Features];
        var expected = new double[10];
        int correct = 0, worst = -1;
        double largest = 0;
        for (int i = 0; i < data.Count; i++)
        {
            data.CopyImages(Isa.Supported[0], i, 1, image);
            network.Probabilities(image, expected);
            ReadOnlySpan<float> actual = onnx.AsSpan(i * 10, 10);
            int simdClass = ArgMax(expected), onnxClass = ArgMax(actual);
            Assert.True(simdClass == onnxClass, $"image {i}: simd predicts {simdClass} ({expected[simdClass]}), ONNX Runtime {onnxClass} ({actual[onnxClass]})");
            correct += onnxClass == data.Labels[i] ? 1 : 0;
            for (int c = 0; c < 10; c++)
            {
                double difference = Math.Abs(expected[c] - actual[c]);
                (largest, worst) = difference > largest ? (difference, i) : (largest, worst);
            }
        }

        Assert.True(largest <= ProbabilityTolerance, $"image {worst}: a probability {largest:E2} away from simd's (tolerance {ProbabilityTolerance:E0})");
        return correct;
    }

    private static int ArgMax(ReadOnlySpan<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static LayerStack LoadStack(string model, string? stack) =>
        stack is not null ? LayerStack.Named(stack)! : ModelFile.Read(model).StackWith(Activation.Sigmoid);
}
