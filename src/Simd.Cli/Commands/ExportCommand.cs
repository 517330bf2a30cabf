using System.CommandLine;
using System.Globalization;
using System.Reflection;
using Simd.Kernels;
using Simd.Onnx;
using Simd.Training;
using Simd.Training.Files;
using Simd.Training.Layers;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd export</c>: a saved network (simd's .npz, the book's pickles or np.savez files) as an ONNX model that ONNX
/// Runtime, ML.NET or a browser runs: images [N, 1, 28, 28] in, probabilities [N, 10] out (<see cref="OnnxExport"/>).
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var model = new ModelOptions();
        Option<string?> output = CommonOptions.NonEmptyPath(new Option<string?>("--output", "-o")
        {
            Description = "The .onnx file to write (default: model.onnx). Written whole or not at all: an old file stays as it was if anything fails.",
            HelpName = "FILE",
        }, "a file");
        var command = new Command("export",
            $"Write a saved network as an ONNX model (opset {OnnxExport.Opset}) for ONNX Runtime, ML.NET or any ONNX runtime: input " +
            $"'{OnnxExport.InputName}', float32 [N, 1, 28, 28] scaled to 0..1; output '{OnnxExport.OutputName}', float32 [N, 10] after softmax. " +
            "Every stack simd trains: fully connected (sigmoid or ReLU), batch normalization (its running statistics), the book's " +
            "dropout (x (1 - ratio) at inference), convolution and max pooling; and the book's own files. A float64 model is " +
            "written in float32.")
        {
            output,
        };
        model.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            string target = CommonOptions.OutputTarget(parseResult.GetValue(output) ?? "model.onnx", ".onnx"); // checked before any work
            LoadedModel loaded = model.Open(parseResult, cancellationToken);
            using MultiLayerNet<float> network = loaded.Build<float>(IsaPath.Scalar, threads: 1); // only its parameters are read
            string described = loaded.Describe("float32");
            KeyValuePair<string, string>[] metadata =
            [
                new("simd_layers", $"{network.Stack.Input} {network.Stack}"),
                new("simd_source", Path.GetFileName(loaded.File.Path)),
                new("simd_precision", loaded.File.Precision == Precision.Double ? "float32, rounded from the file's float64" : "float32"),
            ];
            byte[] bytes = OnnxExport.Serialize(network, LayerStack.MnistImage, metadata, Version);
            string written = OutputFile.Write(target, stream => stream.Write(bytes));
            TextWriter writer = parseResult.InvocationConfiguration.Output;
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {written}: {described}, {network.Shape.ParameterCount:N0} parameters, ONNX opset {OnnxExport.Opset}, {bytes.Length:N0} bytes"));
            if (loaded.File.Precision == Precision.Double)
            {
                writer.WriteLine("note: the file holds float64 parameters; ONNX gets them rounded to float32 (the graph computes in float32)");
            }

            writer.WriteLine($"input '{OnnxExport.InputName}' float32 [{OnnxExport.BatchDimension}, 1, 28, 28] (pixels / 255), output '{OnnxExport.OutputName}' float32 [{OnnxExport.BatchDimension}, {network.Shape.OutputSize}]");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>simd's version as the assembly states it ("1.0.0+commit").</summary>
    private static string Version =>
        typeof(ExportCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
