using System.CommandLine;
using System.Numerics;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Cli;

/// <summary>
/// A trained network from a model file, as <c>eval</c> and <c>predict</c> take it: --model FILE and
/// --activation (the file's own when it stores one, else sigmoid: a file from the book's np.savez stores none).
/// </summary>
internal sealed class ModelOptions
{
    public Option<string> Model { get; } = CommonOptions.NonEmptyPath(new Option<string>("--model")
    {
        Description = "A model file (.npz) written by 'simd train --save', or by numpy from the book's network (np.savez(path, **network.params)), or one of the book's pickles (ch07/params.pkl, ch03/sample_weight.pkl).",
        HelpName = "FILE",
        Required = true,
    }, "a file");

    public Option<string?> Activation { get; } = CommonOptions.Check(
        new Option<string?>("--activation")
        {
            Description = "Hidden activation: sigmoid or relu. Default: the one stored in the model file, else sigmoid (the book's files store none).",
            HelpName = "sigmoid|relu",
        },
        value => value is null || Training.Names.ActivationNamed(value) is not null ? null : $"--activation must be one of {string.Join(", ", Training.Names.Activations)} (got '{value}')");

    /// <summary>--net and --layers: the network of a file that does not store its layers (the book's own files).</summary>
    public LayerOptions Stack { get; } = new();

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Activation);
        foreach (Option option in Stack.All)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>Reads and checks the file (one line and exit 2 when it is bad) and that it is an MNIST network.</summary>
    public LoadedModel Open(ParseResult parseResult, CancellationToken cancellationToken)
    {
        Training.Layers.LayerStack? stack = Stack.Read(parseResult);
        Model model = ModelFile.Read(parseResult.GetValue(Model)!, stack, cancellationToken);
        if (model.Shape.InputSize != MnistFiles.PixelsPerImage || model.Shape.OutputSize != MnistFiles.ClassCount)
        {
            throw new ModelFileException(
                $"{model.Path}: a {model.Shape} network; MNIST needs {MnistFiles.PixelsPerImage} inputs and {MnistFiles.ClassCount} outputs");
        }

        string? chosen = parseResult.GetValue(Activation);
        if (model.Stack is not null && chosen is not null)
        {
            throw new UsageException("--activation is for a fully connected network known from its shapes; this one's layers name their activations");
        }

        Activation activation = chosen is not null ? CommonOptions.ParseActivation(chosen) : model.Activation ?? Training.Activation.Sigmoid;
        string source = chosen is not null ? "from --activation" : model.Activation is not null ? "from the file" : "the default: the file stores none";
        return new LoadedModel(model, activation, source);
    }
}

/// <summary>A checked model file and the activation to run it with.</summary>
internal sealed record LoadedModel(Model File, Activation Activation, string ActivationSource)
{
    /// <summary>"784-50-10 sigmoid (from the file), single precision", or "1x28x28 conv30x5-relu-pool2-affine100-relu-affine10, double precision".</summary>
    public string Describe() => Describe($"{Names.Of(File.Precision)} precision");

    /// <summary>The network, then <paramref name="numbers"/> ("double precision"): what a command computed in.</summary>
    public string Describe(string numbers) => File.Stack is { } stack
        ? $"{stack.Input} {stack}, {numbers}"
        : $"{File.Shape} {Names.Of(Activation)} ({ActivationSource}){(File.Dropout == 0 ? "" : $", dropout {Format.Number(File.Dropout)} (inference scales by {Format.Number(1 - File.Dropout)})")}, {numbers}";

    /// <summary>A network of the file's shape holding its parameters, in T.</summary>
    public MultiLayerNet<T> Build<T>(IsaPath isa, int threads, int maxBatch = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var network = new MultiLayerNet<T>(File.StackWith(Activation), isa, seed: 0, maxBatch, threads);
        File.CopyParametersTo<T>(network.Parameters);
        File.CopyRunningStatisticsTo(network);
        return network;
    }
}
