using System.CommandLine;
using System.Numerics;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli.Commands;

/// <summary><c>simd gradcheck</c>: the book's gradient_check.py — backprop against the numerical gradient.</summary>
internal static class GradcheckCommand
{
    /// <summary>
    /// Default tolerance of the max relative error in double, with the numerical side on the loss backprop
    /// differentiates and h = <see cref="DoubleStep"/>: measured 2.9e-9 to 2.4e-8 on the README's networks, so a
    /// wrong term of one part in ten million still fails.
    /// </summary>
    public const double DoubleTolerance = 1e-7;

    /// <summary>Default tolerance in double with --book-loss: the book's δ = 1e-7 inside log(y + δ) alone puts about 1e-6 between the two.</summary>
    public const double BookLossTolerance = 1e-5;

    /// <summary>
    /// h of the default check in double: the central difference's truncation goes as h², and at the book's 1e-4 a
    /// batch normalized over 3 images (a tiny spread) leaves 2.35e-6 on W1 (measured; 2.35e-8 at 1e-5), while the
    /// rounding it adds stays near 1e-11 of gradients near 1e-3.
    /// </summary>
    public const double DoubleStep = 1e-5;

    /// <summary>
    /// The largest rounding error, in units of ε·|L|, the subtraction L+ − L− leaves in an element of the numerical gradient
    /// (measured: at most 1.05 on a convnet whose every difference was roundoff; a 1e-6 bug in the book network's W1 makes
    /// differences 200 times that).
    /// </summary>
    public const int RoundoffUlps = 2;

    /// <summary>
    /// Default tolerance in single precision, a coarse check only: the float32 loss is good to ~1e-7,
    /// and dividing its rounding by 2h = 2e-4 leaves ~1e-3 of noise in gradients of 1e-4 to 1e-3
    /// (measured: 0.34 for W1). A wrong gradient (a sign, a factor) still gives 0.7 or more.
    /// </summary>
    public const double SingleTolerance = 0.5;

    public static Command Create()
    {
        Option<string?> data = CommonOptions.Data();
        Option<int> images = CommonOptions.PositiveInt("--images", BookDefaults.GradientCheckImages,
            "Training images in the batch (gradient_check.py: the first 3).");
        var network = new NetworkOptions();
        Option<string> precision = CommonOptions.Precision("double");
        Option<ulong> seed = CommonOptions.Seed();
        Option<double?> tolerance = new("--tolerance")
        {
            Description = "Largest relative error |a - n| / (|a| + |n|) of any parameter tensor that passes (default 1e-7 in double, 1e-5 with --book-loss; 0.5 in single, where h = 1e-4 leaves the numerical gradient only a digit or two). " +
                "Under the default, a tensor whose every difference is within the central difference's roundoff (2·ε·|L|/h) is named and left out of the verdict.",
            HelpName = "X",
        };
        tolerance.CustomParser = result => CommonOptions.ParseToken<double>(result, "--tolerance", "a number", CommonOptions.ParseDouble);
        // 0 is legal: the strictest check, which any rounding fails.
        CommonOptions.Check(tolerance, value =>
            value is not { } v || (double.IsFinite(v) && v >= 0) ? null : $"--tolerance must be a finite number, 0 or more (got {Format.Number(v)})");
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        var bookLoss = new Option<bool>("--book-loss")
        {
            Description = "The book's gradient_check.py exactly: its loss -log(y + 1e-7) and h = 1e-4, instead of -log y (what backprop " +
                "differentiates) and h = 1e-5 in double; the book's 1e-7 then puts about 1e-6 between the two (default tolerance 1e-5 in double).",
        };

        var command = new Command("gradcheck",
            "Check backprop against the numerical gradient on the first training images (the book's gradient_check.py): " +
            "per parameter the mean and max absolute difference and the max relative error. Exit code 1 above the tolerance.")
        {
            data, images, precision, seed, tolerance, isa, threads, bookLoss,
        };
        network.AddTo(command);

        command.SetAction((parseResult, cancellationToken) =>
        {
            IsaPath path = CommonOptions.ResolveIsa(parseResult.GetValue(isa));
            string? dataOption = parseResult.GetValue(data);
            TextWriter error = parseResult.InvocationConfiguration.Error;
            int count = parseResult.GetValue(images);
            var settings = new Settings(count, network.Read(parseResult),
                parseResult.GetValue(seed), path, parseResult.GetValue(tolerance), parseResult.GetValue(threads),
                parseResult.GetValue(bookLoss) ? NumericalLoss.Book : NumericalLoss.Backprop);
            Precision chosen = CommonOptions.ParsePrecision(parseResult.GetValue(precision)!);
            NetworkLimits.Check(chosen, settings.Network, count, settings.Threads, "--images"); // before the data is loaded
            MnistData mnist = DataAccess.Load(dataOption, error, cancellationToken);
            if (count > mnist.Train.Count)
            {
                throw new UsageException($"--images {count} is more than the {mnist.Train.Count} training images");
            }

            int code = PrecisionDispatch.Run(chosen, new Work(settings, mnist, parseResult.InvocationConfiguration.Output, error, cancellationToken));
            return Task.FromResult(code);
        });
        return command;
    }

    private static int Run<T>(Settings settings, MnistData mnist, TextWriter output, TextWriter error, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        NetworkShape shape = settings.Network.Shape;
        bool single = typeof(T) == typeof(float);
        bool book = settings.Loss == NumericalLoss.Book;
        double tolerance = settings.Tolerance ?? (single ? SingleTolerance : book ? BookLossTolerance : DoubleTolerance);
        double step = single || book ? BookDefaults.NumericalGradientStep : DoubleStep;
        Dataset<T> train = DataAccess.ToDataset<T>(mnist.Train);
        int[] first = [.. Enumerable.Range(0, settings.Images)];
        (T[] x, byte[] t) = train.Take(first);
        using var network = new MultiLayerNet<T>(settings.Network.Stack, settings.Isa, settings.Seed, settings.Images, settings.Threads, settings.Network.Init, settings.Network.WeightDecay);

        output.WriteLine(
            $"gradcheck: first {settings.Images} training images, {settings.Network.Describe()}, " +
            $"{Names.Of(Names.PrecisionOf<T>())} precision, seed {settings.Seed}, {Isa.Name(settings.Isa)} kernels, {settings.Threads} threads, " +
            $"h = {Format.Number(step)}");
        output.WriteLine(book
            ? "numerical side: the book's loss, -log(y[t] + 1e-7) (--book-loss); backprop differentiates -log y[t], so about 1e-6 between them is expected"
            : "numerical side: -log y[t], the loss backprop differentiates (the book's -log(y[t] + 1e-7) with --book-loss)");

        var backprop = new T[shape.ParameterCount];
        var numerical = new T[shape.ParameterCount];
        var kinks = new byte[shape.ParameterCount];
        double loss = double.CreateTruncating(network.Gradient(x, t, settings.Images, backprop));
        var progress = new ProgressLine(error);
        try
        {
            network.NumericalGradient(x, t, settings.Images, numerical,
                (done, total) => progress.Report("numerical gradient", done, total, "parameters"), settings.Loss, kinks, step, cancellationToken);
        }
        finally
        {
            progress.Done();
        }

        IReadOnlyList<TensorComparison> rows = GradientComparison.Compare<T>(shape, backprop, numerical, kinks);
        bool anyKinks = rows.Any(r => r.Excluded > 0);
        output.WriteLine($"param  shape        mean |diff|   max |diff|      rel err   worst element{(anyKinks ? "   at a kink" : "")}");
        foreach (TensorComparison row in rows)
        {
            output.WriteLine(
                $"{row.Tensor.Name,-6} {row.Tensor.ShapeText,-11} {Format.Scientific(row.MeanAbsoluteDifference),12} " +
                $"{Format.Scientific(row.MaxAbsoluteDifference),12} {Format.Scientific(row.RelativeError),12} " +
                $"{Format.Scientific(row.MaxElementRelativeError),15}{(anyKinks ? $"{row.Excluded,12}" : "")}");
        }

        if (anyKinks)
        {
            output.WriteLine(
                $"{rows.Sum(r => r.Excluded)} of {shape.ParameterCount} elements straddle a kink (a ReLU's input changes sign, or a max pooling's choice switches, between p - h and p + h): " +
                "their central difference measures no derivative, so they are left out of every column and of the verdict");
        }

        // A central difference cannot resolve a derivative below the rounding of the two losses it subtracts: a tensor of
        // tiny gradients (W2 of a convnet whose weights start at 0.01: |dW| ~ 1e-10) has a large relative error of pure
        // roundoff. Such a tensor passes when every difference is under that roundoff; a bug as large as its gradient cannot hide there.
        double machineEpsilon = double.CreateTruncating(T.BitIncrement(T.One) - T.One);
        double roundoff = RoundoffUlps * machineEpsilon * Math.Abs(loss) / step;
        // Only under the default tolerance: one given with --tolerance is checked as asked.
        TensorComparison[] excused = [.. rows.Where(r => settings.Tolerance is null && r.MaxAbsoluteDifference <= roundoff && r.RelativeError > tolerance)];
        double worst = rows.Except(excused).Select(r => r.RelativeError).DefaultIfEmpty(0).Max();
        bool pass = worst <= tolerance;
        if (excused.Length > 0)
        {
            output.WriteLine(
                $"{string.Join(", ", excused.Select(r => r.Tensor.Name))}: every difference is below " +
                $"the central difference's roundoff, {RoundoffUlps}·ε·|L|/h = {Format.Scientific(roundoff)}: the gradient is too small to check there, so it is left out of the verdict");
        }

        output.WriteLine(
            $"max relative error {Format.Scientific(worst)} {(pass ? "<=" : ">")} tolerance {Format.Scientific(tolerance)}: {(pass ? "PASS" : "FAIL")}");
        output.WriteLine("(rel err = |a - n| / (|a| + |n|) over the tensor; worst element = max |a_i - n_i| / max(|a_i|, |n_i|))");
        return pass ? ExitCodes.Success : ExitCodes.GradientCheckFailed;
    }

    private sealed record Settings(int Images, NetworkSpec Network, ulong Seed, IsaPath Isa, double? Tolerance, int Threads, NumericalLoss Loss);

    private sealed class Work(Settings settings, MnistData mnist, TextWriter output, TextWriter error, CancellationToken cancellationToken)
        : IPrecisionWork<int>
    {
        public int Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
            => GradcheckCommand.Run<T>(settings, mnist, output, error, cancellationToken);
    }
}
