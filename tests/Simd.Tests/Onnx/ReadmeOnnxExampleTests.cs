using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Simd.Tests.Support;

namespace Simd.Tests.Onnx;

/// <summary>The README's ten-line C# example runs: the lines between the markers below are the README's, file names aside.</summary>
public class ReadmeOnnxExampleTests
{
    private const string Begin = "// README example begins", End = "// README example ends";

    [Fact]
    public void The_readmes_csharp_example_classifies_a_test_digit()
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = CliRunner.Run("train", "--data", SmallMnist.Directory, "--iters", "300", "--batch", "20", "--save", dir.File("m.npz"));
        Assert.True(code == 0, error);
        (code, _, error) = CliRunner.Run("export", "--model", dir.File("m.npz"), "-o", dir.File("deep.onnx"));
        Assert.True(code == 0, error);
        Simd.Mnist.MnistSplit test = MnistFixture.Data.Test;
        int index = 0; // MNIST's first test image, a 7
        File.WriteAllBytes(dir.File("digit.raw"), test.Images.Span.Slice(index * 784, 784).ToArray());
        string digitRaw = dir.File("digit.raw"), deepOnnx = dir.File("deep.onnx");
        var console = new StringWriter();

        // README example begins
        byte[] pixels = File.ReadAllBytes(digitRaw);
        var image = new DenseTensor<float>([1, 1, 28, 28]);
        for (int i = 0; i < 784; i++) image.Buffer.Span[i] = pixels[i] / 255f;
        using var session = new InferenceSession(deepOnnx);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", image)]);
        float[] probabilities = [.. results[0].AsTensor<float>()];
        int digit = Array.IndexOf(probabilities, probabilities.Max());
        console.WriteLine($"{digit} ({probabilities[digit]:P1})");
        // README example ends

        Assert.Equal(test.Labels.Span[index], digit);
        Assert.Matches(@"^7 \(\d+\.\d %\)", console.ToString());
        Assert.Equal(ExampleInReadme(), ExampleHere().Replace("digitRaw", "\"digit.raw\"", StringComparison.Ordinal)
            .Replace("deepOnnx", "\"deep.onnx\"", StringComparison.Ordinal).Replace("console.WriteLine", "Console.WriteLine", StringComparison.Ordinal));
    }

    /// <summary>The statements of the README's C# block (its using lines left out).</summary>
    private static string ExampleInReadme()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md"));
        int start = readme.IndexOf("```csharp\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no ```csharp block");
        string block = readme[(start + "```csharp\n".Length)..readme.IndexOf("\n```", start + 1, StringComparison.Ordinal)];
        return string.Join('\n', block.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("using Microsoft.", StringComparison.Ordinal)));
    }

    /// <summary>The lines between the markers in this file, unindented.</summary>
    private static string ExampleHere()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Path, "tests", "Simd.Tests", "Onnx", "ReadmeOnnxExampleTests.cs"));
        int begin = Array.FindIndex(lines, l => l.Trim() == Begin), end = Array.FindIndex(lines, l => l.Trim() == End);
        return string.Join('\n', lines[(begin + 1)..end].Select(l => l.Trim()));
    }
}
