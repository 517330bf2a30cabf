using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>The README's library example, as written there (the path and a shorter run aside), so it keeps compiling and working.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void The_readme_example_trains_the_books_deep_network()
    {
        var rows = new List<string>();
        MnistData mnist = MnistData.Load(MnistFixture.Directory);
        Dataset<float> Split(MnistSplit s) => Dataset<float>.FromBytes(s.Images.Span, s.Labels.Span, s.Count, MnistFiles.PixelsPerImage, MnistFiles.ClassCount);
        var options = new TrainingOptions
        {
            HiddenSizes = [100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He,
            Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001), BatchSize = 128, Iterations = 200,
            Threads = Environment.ProcessorCount,
        };
        using var trainer = new Trainer<float>(options, Split(mnist.Train), Split(mnist.Test), Isa.Best);
        trainer.Evaluated = row => rows.Add($"{row.Iteration}: test accuracy {row.TestAccuracy:F4}");
        TrainingResult result = trainer.Run();
        using var dir = new TempDirectory();
        ModelFile.Save(dir.File("deep.npz"), trainer.Network);         // numpy's .npz: W1, b1, ..., W5, b5

        Assert.Equal(["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4", "W5", "b5"], ModelFile.Read(dir.File("deep.npz")).Parameters.Select(p => p.Name));
        Assert.Equal(["0", "199"], rows.Select(r => r.Split(':')[0]));
        Assert.True(result.Final.TestAccuracy > 0.85, $"test accuracy {result.Final.TestAccuracy}");
    }
}
