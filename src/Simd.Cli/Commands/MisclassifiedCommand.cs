using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text;
using Simd.Cli.Plotting;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Files;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd misclassified</c>: ch08/misclassified_mnist.py — a saved network on the 10,000 test images, the accuracy,
/// and the first misclassified images in a grid, each with its label, the prediction and its probability.
/// </summary>
internal static class MisclassifiedCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        Option<string?> data = CommonOptions.Data();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        Option<int> count = CommonOptions.PositiveInt("--count", 20, "How many misclassified images to draw, the first in the test set's order (the book: 20).");
        Option<bool> png = new("--png") { Description = "Write one grayscale PNG (captions in a small pixel font) instead of an SVG; the default file becomes mistakes.png." };
        Option<string?> output = CommonOptions.NonEmptyPath(new Option<string?>("--output", "-o")
        {
            Description = "The file to write: .svg (the default, mistakes.svg), or .png with --png.",
            HelpName = "FILE",
        }, "a file");
        var command = new Command("misclassified",
            "The book's ch08/misclassified_mnist.py: classify the 10,000 test images with a saved network, print the accuracy and the " +
            "book's {view index: (label, inference)} of the first misclassified ones, and draw them in a grid (5 to a row), " +
            "each with its label, the prediction and its probability.")
        {
            data, isa, threads, count, png, output,
        };
        model.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            bool asPng = parseResult.GetValue(png);
            string target = asPng // checked before any work
                ? CommonOptions.OutputTarget(parseResult.GetValue(output) ?? "mistakes.png", ".png")
                : CommonOptions.OutputTarget(parseResult.GetValue(output) ?? "mistakes.svg", ".svg", " (or give --png for a .png)");
            LoadedModel loaded = model.Open(parseResult, cancellationToken);
            IsaPath path = CommonOptions.ResolveIsa(parseResult.GetValue(isa));
            MnistData mnist = DataAccess.Load(parseResult.GetValue(data), parseResult.InvocationConfiguration.Error, cancellationToken);
            MnistSplit test = mnist.Test;
            var predictions = new int[test.Count];
            var probabilities = new double[test.Count];
            Evaluation evaluation = PrecisionDispatch.Run(loaded.File.Precision, new Work(loaded, test, path, parseResult.GetValue(threads), predictions, probabilities));
            cancellationToken.ThrowIfCancellationRequested();

            List<Mistake> mistakes = First(test, predictions, probabilities, parseResult.GetValue(count));
            int wrong = evaluation.Count - evaluation.Correct;
            TextWriter writer = parseResult.InvocationConfiguration.Output;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {evaluation.Accuracy:F4} ({wrong} of {evaluation.Count} images misclassified)"));
            writer.WriteLine("======= misclassified result =======");
            writer.WriteLine("{view index: (label, inference), ...}");
            writer.WriteLine(BookPairs(mistakes));
            string title = $"{Printable.Value(Path.GetFileName(loaded.File.Path))}: the first {mistakes.Count} of {wrong} misclassified test images";
            string written = asPng
                ? OutputFile.Write(target, stream => stream.Write(MistakesPicture.Png(mistakes)))
                : OutputFile.WriteText(target, MistakesPicture.Svg(mistakes, title));
            writer.WriteLine($"wrote {written}: {mistakes.Count} images (label → prediction, its probability)");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>The book's print: {1: (6, 0), 2: (3, 5), ...} — view index from 1, (label, inference).</summary>
    public static string BookPairs(IReadOnlyList<Mistake> mistakes) =>
        "{" + string.Join(", ", mistakes.Select((m, i) => string.Create(CultureInfo.InvariantCulture, $"{i + 1}: ({m.Label}, {m.Predicted})"))) + "}";

    /// <summary>The first <paramref name="count"/> images whose prediction is not their label, in the set's order.</summary>
    private static List<Mistake> First(MnistSplit test, int[] predictions, double[] probabilities, int count)
    {
        var mistakes = new List<Mistake>();
        ReadOnlySpan<byte> labels = test.Labels.Span, images = test.Images.Span;
        for (int i = 0; i < test.Count && mistakes.Count < count; i++)
        {
            if (predictions[i] != labels[i])
            {
                mistakes.Add(new Mistake(i, labels[i], predictions[i], probabilities[i], images.Slice(i * MnistFiles.PixelsPerImage, MnistFiles.PixelsPerImage).ToArray()));
            }
        }

        return mistakes;
    }

    private sealed class Work(LoadedModel loaded, MnistSplit test, IsaPath isa, int threads, int[] predictions, double[] probabilities) : IPrecisionWork<Evaluation>
    {
        public Evaluation Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            using MultiLayerNet<T> network = loaded.Build<T>(isa, threads);
            return network.Evaluate(DataAccess.ToDataset<T>(test), predictions, probabilities);
        }
    }
}
