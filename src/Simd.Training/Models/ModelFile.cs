using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Simd.Training.Files;

namespace Simd.Training.Models;

/// <summary>
/// A trained network as numpy's .npz: W1, b1, W2, b2, ... with the book's shapes (n_in, n_out) and
/// (n_out,) in the training precision, plus 0-d text arrays named simd_* (version, activation, initial
/// weights, options), which no parameter name can equal. A file numpy wrote from the book's own
/// <c>np.savez(path, **network.params)</c> (W and b only) is a model too: the sizes come from the shapes.
/// </summary>
public static partial class ModelFile
{
    /// <summary>Every metadata array's name starts so; parameters never do.</summary>
    public const string MetadataPrefix = "simd_";

    /// <summary>The format's version, stored as simd_version.</summary>
    public const string FormatVersion = "simd-model 1";

    public const string VersionName = MetadataPrefix + "version";
    public const string ActivationName = MetadataPrefix + "activation";
    public const string InitName = MetadataPrefix + "init";
    public const string OptionsName = MetadataPrefix + "options";
    public const string DropoutName = MetadataPrefix + "dropout";

    /// <summary>The layers of a network that is not fully connected, in the <c>--layers</c> grammar (conv30x5-relu-pool2-affine100-relu-affine10).</summary>
    public const string LayersName = MetadataPrefix + "layers";

    /// <summary>Batch normalization's running mean of hidden layer l (1-based, as gamma1): simd_running_mean1, ...</summary>
    public const string RunningMeanPrefix = MetadataPrefix + "running_mean";

    /// <summary>Batch normalization's running variance: simd_running_var1, ...</summary>
    public const string RunningVariancePrefix = MetadataPrefix + "running_var";

    /// <summary>The parameter arrays of <paramref name="network"/> in the book's order, [n_in, n_out] and [n_out].</summary>
    public static IEnumerable<NpyArray> ParameterArrays<T>(MultiLayerNet<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        NetworkShape shape = network.Shape;
        var arrays = new List<NpyArray>(2 * shape.LayerCount);
        foreach (ParameterTensor tensor in shape.Tensors)
        {
            ReadOnlySpan<T> values = network.Parameters.Slice(tensor.Offset, tensor.Length);
            arrays.Add(NpyArray.Floating(tensor.Name, values, [.. tensor.Dimensions])); // (n_in, n_out), (FN, C, FH, FW) or (n,)
        }

        return arrays;
    }

    /// <summary>
    /// The metadata arrays: version, activation, initial weights, a free-form options line, the dropout ratio, batch
    /// normalization's running statistics, and the layers of a network that is not fully connected (a fully connected
    /// one is known from its shapes, as in the book's files).
    /// </summary>
    public static IEnumerable<NpyArray> MetadataArrays<T>(MultiLayerNet<T> network, string options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        IReadOnlyList<string> normalizations = network.Shape.BatchNormNumbers;
        return
        [
            NpyArray.Text(VersionName, FormatVersion),
            .. KnownFromShapes(network) ? (NpyArray[])[] : [NpyArray.Text(LayersName, network.Stack.ToString())],
            NpyArray.Text(ActivationName, Names.Of(network.Activation)),
            NpyArray.Text(InitName, network.Init.ToString()),
            NpyArray.Text(OptionsName, options),
            NpyArray.Text(DropoutName, network.DropoutRatio.ToString("R", CultureInfo.InvariantCulture)),
            .. normalizations.SelectMany((number, k) => (NpyArray[])
            [
                NpyArray.Floating<T>(RunningMeanPrefix + number, network.Workspace.RunningMean(k), network.Workspace.RunningMean(k).Length),
                NpyArray.Floating<T>(RunningVariancePrefix + number, network.Workspace.RunningVariance(k), network.Workspace.RunningVariance(k).Length),
            ]),
        ];
    }

    /// <summary>
    /// True when the shapes, the activation, batch normalization and the dropout ratio rebuild the network: the fully
    /// connected shorthand (every hidden layer alike), as the book's files and simd's before layers hold it.
    /// </summary>
    private static bool KnownFromShapes<T>(MultiLayerNet<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        NetworkShape shape = network.Shape;
        return network.Stack.IsFullyConnected && network.Stack.Equals(Layers.LayerStack.FullyConnected(
            shape.InputSize, shape.HiddenSizes, shape.OutputSize, network.Activation, shape.BatchNorm, network.DropoutRatio));
    }

    /// <summary>Saves the network's parameters and metadata to <paramref name="path"/> (atomically).</summary>
    /// <returns>The file written, in full (a symlink's target).</returns>
    /// <exception cref="Files.OutputFileException">It cannot be written; the old file is untouched.</exception>
    public static string Save<T>(string path, MultiLayerNet<T> network, string options = "")
        where T : unmanaged, IFloatingPointIeee754<T>
        => Npz.Write(path, [.. ParameterArrays(network), .. MetadataArrays(network, options)]);

    /// <summary>Reads and checks a model file (a checkpoint is one too); see <see cref="Parse"/>.</summary>
    /// <param name="cancellationToken">Checked while the file is read (Ctrl+C during a long load).</param>
    public static Model Read(string path, CancellationToken cancellationToken = default) => Read(path, null, cancellationToken);

    /// <summary>Reads a model file, or one of the book's pickles (.pkl), as the network <paramref name="stack"/> when given.</summary>
    public static Model Read(string path, Layers.LayerStack? stack, CancellationToken cancellationToken = default) =>
        path.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase)
            ? Parse(path, BookPickle.Read(path), null, stack)
            : Parse(path, Npz.Read(path, Refusal(CheckpointFile.IsCheckpointArray), cancellationToken), CheckpointFile.IsCheckpointArray, stack);

    /// <summary>
    /// Why an array name has no place in a model file (null: it has one), asked of the archive's directory
    /// before anything is inflated: parameters, the simd_* metadata, and what <paramref name="allowed"/> accepts.
    /// </summary>
    public static Func<string, string?> Refusal(Func<string, bool>? allowed) => name =>
        ParameterName().IsMatch(name) || IsKnownMetadata(name) || allowed?.Invoke(name) == true
            ? null
            : name.StartsWith(MetadataPrefix, StringComparison.Ordinal)
                ? $"unknown metadata array '{Printable.Value(name)}'"
                : $"unknown array '{Printable.Value(name)}' (a model holds W1, b1, W2, b2, ... and {MetadataPrefix}* metadata)";

    private static bool IsKnownMetadata(string name) =>
        name is VersionName or ActivationName or InitName or OptionsName or DropoutName or LayersName || IsRunningStatistic(name, int.MaxValue);

    /// <summary>
    /// The network in <paramref name="arrays"/>: W1..Wn and b1..bn all present, 2-D and 1-D, of one type
    /// ('&lt;f4' or '&lt;f8'), whose shapes chain (W_l (n_(l-1), n_l), b_l (n_l,)); simd_* metadata read when
    /// present; any other name refused unless <paramref name="allowed"/> accepts it (a checkpoint's state).
    /// </summary>
    /// <param name="stack">The network the arrays are for (<c>--net</c>, <c>--layers</c>); null: the file's simd_layers, else
    /// a fully connected network known from the shapes.</param>
    /// <exception cref="ModelFileException">One line naming the file and what is wrong.</exception>
    public static Model Parse(string path, IReadOnlyList<NpyArray> arrays, Func<string, bool>? allowed, Layers.LayerStack? stack = null)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        string file = Path.GetFullPath(path);
        var weights = new SortedDictionary<int, NpyArray>();
        var biases = new SortedDictionary<int, NpyArray>();
        var gammas = new SortedDictionary<int, NpyArray>();
        var betas = new SortedDictionary<int, NpyArray>();
        var metadata = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (NpyArray array in arrays)
        {
            Match match = ParameterName().Match(array.Name);
            if (match.Success && int.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
            {
                (match.Groups[1].Value switch { "W" => weights, "b" => biases, "gamma" => gammas, _ => betas })[layer] = array;
            }
            else if (array.Name.StartsWith(MetadataPrefix, StringComparison.Ordinal))
            {
                metadata[array.Name] = array;
            }
            else
            {
                throw new ModelFileException($"{file}: {Refusal(allowed)(array.Name) ?? $"unknown array '{Printable.Value(array.Name)}'"}");
            }
        }

        if (weights.Count == 0)
        {
            throw new ModelFileException($"{file}: no weights (a model holds W1, b1, W2, b2, ...)");
        }

        if (stack is null && metadata.TryGetValue(LayersName, out NpyArray? layersArray))
        {
            string text = ReadText(file, layersArray);
            try
            {
                stack = Layers.LayerStack.Parse(text, Layers.LayerStack.MnistImage);
            }
            catch (Layers.LayerSpecException e)
            {
                throw new ModelFileException($"{file}: {LayersName} is '{Printable.Value(text)}': {e.Message}");
            }
        }

        if (stack is not null)
        {
            return ParseStack(file, stack, arrays.Where(a => ParameterName().IsMatch(a.Name)).ToList(), metadata, allowed);
        }

        int layers = weights.Count;
        for (int l = 1; l <= layers; l++)
        {
            if (!weights.ContainsKey(l))
            {
                throw new ModelFileException($"{file}: W{l} is missing (the file has {string.Join(", ", weights.Keys.Select(k => "W" + k))})");
            }

            if (!biases.ContainsKey(l))
            {
                throw new ModelFileException($"{file}: b{l} is missing");
            }
        }

        if (biases.Keys.FirstOrDefault(k => k > layers) is int extra and > 0)
        {
            throw new ModelFileException($"{file}: b{extra} has no W{extra}");
        }

        NpyType type = weights[1].Type;

        var sizes = new int[layers + 1];
        for (int l = 1; l <= layers; l++)
        {
            NpyArray w = weights[l], b = biases[l];
            foreach (NpyArray array in (ReadOnlySpan<NpyArray>)[w, b])
            {
                if (array.Type is not (NpyType.Float32 or NpyType.Float64))
                {
                    throw new ModelFileException($"{file}: {array.Name} holds {array.Descr}; parameters are '<f4' or '<f8'");
                }

                if (array.Type != type)
                {
                    throw new ModelFileException($"{file}: {array.Name} holds {array.Descr} but W1 holds {weights[1].Descr}: one precision for all parameters");
                }
            }

            if (w.Shape.Count == 4)
            {
                throw new ModelFileException($"{file}: W{l} has shape {w.ShapeText}, a convolution's, and the file does not say its layers: give them with --net or --layers");
            }

            if (w.Shape.Count != 2)
            {
                throw new ModelFileException($"{file}: W{l} has shape {w.ShapeText}; a weight matrix is (n_in, n_out)");
            }

            if (b.Shape.Count != 1)
            {
                throw new ModelFileException($"{file}: b{l} has shape {b.ShapeText}; a bias is (n_out,)");
            }

            if (l == 1)
            {
                sizes[0] = w.Shape[0];
            }
            else if (w.Shape[0] != sizes[l - 1])
            {
                throw new ModelFileException($"{file}: W{l} has shape {w.ShapeText} but W{l - 1} gives {sizes[l - 1]} outputs: the shapes do not chain");
            }

            if (b.Shape[0] != w.Shape[1])
            {
                throw new ModelFileException($"{file}: b{l} has shape {b.ShapeText} but W{l} has {w.Shape[1]} outputs");
            }

            sizes[l] = w.Shape[1];
        }

        // Batch normalization: gamma and beta for every hidden layer (1 .. layers − 1), or none at all;
        // checked once the weights' shapes are, so their sizes are known.
        bool batchNorm = gammas.Count > 0 || betas.Count > 0;
        for (int l = 1; batchNorm && l < layers; l++)
        {
            foreach ((string name, SortedDictionary<int, NpyArray> set) in new[] { ("gamma", gammas), ("beta", betas) })
            {
                if (!set.TryGetValue(l, out NpyArray? array))
                {
                    throw new ModelFileException($"{file}: {name}{l} is missing (batch normalization has gamma and beta for every hidden layer)");
                }

                if (array.Type != type || array.Shape.Count != 1 || array.Shape[0] != sizes[l])
                {
                    throw new ModelFileException($"{file}: {name}{l} holds {array.Descr} {array.ShapeText}; it must be ({sizes[l]},) of {weights[1].Descr}");
                }
            }
        }

        if (gammas.Keys.Concat(betas.Keys).FirstOrDefault(k => k >= layers) is int stray and > 0)
        {
            throw new ModelFileException($"{file}: gamma{stray} or beta{stray} belongs to no hidden layer");
        }

        if (Array.IndexOf(sizes, 0) is int empty and >= 0)
        {
            throw new ModelFileException($"{file}: layer sizes {string.Join("-", sizes)}: {(empty == 0 ? "W1 has no inputs" : $"W{empty} has no outputs")}");
        }

        if (NetworkShape.SizeProblem(sizes) is { } problem)
        {
            throw new ModelFileException($"{file}: layer sizes {string.Join("-", sizes)}: {problem}");
        }

        var shape = new NetworkShape(sizes[0], sizes[1..^1], sizes[^1], batchNorm);
        Activation? activation = null;
        if (metadata.TryGetValue(ActivationName, out NpyArray? activationArray))
        {
            string named = ReadText(file, activationArray);
            activation = Names.ActivationNamed(named) ?? throw new ModelFileException($"{file}: {ActivationName} is '{Printable.Value(named)}' ({string.Join(" or ", Names.Activations)})");
        }

        foreach (NpyArray array in metadata.Values)
        {
            if (array.Name is not (VersionName or ActivationName or InitName or OptionsName or DropoutName) && !IsRunningStatistic(array.Name, batchNorm ? layers - 1 : 0)
                && allowed?.Invoke(array.Name) != true)
            {
                throw new ModelFileException($"{file}: unknown metadata array '{Printable.Value(array.Name)}'");
            }
        }

        double dropout = 0;
        if (metadata.TryGetValue(DropoutName, out NpyArray? dropoutArray)
            && !(double.TryParse(ReadText(file, dropoutArray), NumberStyles.Float, CultureInfo.InvariantCulture, out dropout) && dropout is >= 0 and < 1))
        {
            throw new ModelFileException($"{file}: {DropoutName} is '{Printable.Value(ReadText(file, dropoutArray))}' (a ratio from 0 up to 1)");
        }

        NpyArray[] parameters = [.. Enumerable.Range(1, layers).SelectMany(l => batchNorm && l < layers ? new[] { weights[l], biases[l], gammas[l], betas[l] } : new[] { weights[l], biases[l] })];
        foreach (string prefix in (string[])[RunningMeanPrefix, RunningVariancePrefix])
        {
            for (int l = 1; batchNorm && l < layers; l++)
            {
                if (metadata.TryGetValue(prefix + l.ToString(CultureInfo.InvariantCulture), out NpyArray? stat)
                    && (stat.Type != type || stat.Shape.Count != 1 || stat.Shape[0] != sizes[l]))
                {
                    throw new ModelFileException($"{file}: {stat.Name} holds {stat.Descr} {stat.ShapeText}; it must be ({sizes[l]},) of {weights[1].Descr}");
                }
            }
        }

        if (metadata.TryGetValue(VersionName, out NpyArray? version) && ReadText(file, version) is var written && written != FormatVersion)
        {
            throw new ModelFileException($"{file}: {VersionName} is '{Printable.Value(written)}'; this simd reads '{FormatVersion}' files (a newer simd may have written it)");
        }

        foreach (NpyArray array in parameters.Concat(metadata.Values.Where(m => IsRunningStatistic(m.Name, layers - 1))))
        {
            CheckFinite(file, array, nonNegative: array.Name.StartsWith(RunningVariancePrefix, StringComparison.Ordinal));
        }

        return new Model(file, shape, type == NpyType.Float32 ? Precision.Single : Precision.Double, activation,
            metadata.TryGetValue(InitName, out NpyArray? init) ? ReadText(file, init) : null,
            metadata.TryGetValue(OptionsName, out NpyArray? options) ? ReadText(file, options) : null,
            parameters, metadata) { Dropout = dropout };
    }

    /// <summary>
    /// The arrays as the parameters of <paramref name="stack"/>: each of its tensors present with its exact shape (the
    /// book's names: W1 (30, 1, 5, 5), b1 (30,), W2 (4320, 100), ...), one float type, nothing else.
    /// </summary>
    private static Model ParseStack(string file, Layers.LayerStack stack, List<NpyArray> found, Dictionary<string, NpyArray> metadata, Func<string, bool>? allowed)
    {
        NetworkShape shape = stack.Shape;
        var byName = found.ToDictionary(a => a.Name, StringComparer.Ordinal);
        NpyType type = byName.TryGetValue("W1", out NpyArray? w1) ? w1.Type : found[0].Type;
        var parameters = new List<NpyArray>();
        foreach (ParameterTensor tensor in shape.Tensors)
        {
            if (!byName.Remove(tensor.Name, out NpyArray? array))
            {
                throw new ModelFileException($"{file}: {tensor.Name} is missing; {stack} has {string.Join(", ", shape.Tensors.Select(t => t.Name))}");
            }

            if (array.Type is not (NpyType.Float32 or NpyType.Float64) || array.Type != type)
            {
                throw new ModelFileException($"{file}: {array.Name} holds {array.Descr}; parameters are all '<f4' or all '<f8'");
            }

            string expected = "(" + string.Join(", ", tensor.Dimensions) + (tensor.Dimensions.Count == 1 ? ",)" : ")");
            if (array.ShapeText != expected)
            {
                throw new ModelFileException($"{file}: {array.Name} has shape {array.ShapeText}; {stack} needs {expected}");
            }

            parameters.Add(array);
        }

        if (byName.Count > 0)
        {
            throw new ModelFileException($"{file}: {string.Join(", ", byName.Keys.Order(StringComparer.Ordinal))} belong{(byName.Count == 1 ? "s" : "")} to no layer of {stack}");
        }

        IReadOnlyList<string> normalizations = shape.BatchNormNumbers;
        foreach (NpyArray array in metadata.Values)
        {
            bool statistic = normalizations.Any(n => array.Name == RunningMeanPrefix + n || array.Name == RunningVariancePrefix + n);
            if (array.Name is not (VersionName or ActivationName or InitName or OptionsName or DropoutName or LayersName) && !statistic && allowed?.Invoke(array.Name) != true)
            {
                throw new ModelFileException($"{file}: unknown metadata array '{Printable.Value(array.Name)}'");
            }

            if (statistic)
            {
                int length = shape.Tensors.First(t => t.Name == "gamma" + array.Name[(array.Name.StartsWith(RunningMeanPrefix, StringComparison.Ordinal) ? RunningMeanPrefix : RunningVariancePrefix).Length..]).Columns;
                if (array.Type != type || array.Shape.Count != 1 || array.Shape[0] != length)
                {
                    throw new ModelFileException($"{file}: {array.Name} holds {array.Descr} {array.ShapeText}; it must be ({length},) of {parameters[0].Descr}");
                }

                CheckFinite(file, array, nonNegative: array.Name.StartsWith(RunningVariancePrefix, StringComparison.Ordinal));
            }
        }

        if (metadata.TryGetValue(VersionName, out NpyArray? version) && ReadText(file, version) is var written && written != FormatVersion)
        {
            throw new ModelFileException($"{file}: {VersionName} is '{Printable.Value(written)}'; this simd reads '{FormatVersion}' files (a newer simd may have written it)");
        }

        foreach (NpyArray array in parameters)
        {
            CheckFinite(file, array);
        }

        Activation? activation = stack.Layers.FirstOrDefault(l => l.Kind is Layers.LayerKind.Relu or Layers.LayerKind.Sigmoid)?.Kind switch
        {
            Layers.LayerKind.Relu => Activation.Relu,
            Layers.LayerKind.Sigmoid => Activation.Sigmoid,
            _ => null,
        };
        return new Model(file, shape, type == NpyType.Float32 ? Precision.Single : Precision.Double, activation,
            metadata.TryGetValue(InitName, out NpyArray? init) ? ReadText(file, init) : null,
            metadata.TryGetValue(OptionsName, out NpyArray? options) ? ReadText(file, options) : null,
            parameters, metadata) { Stack = stack, Dropout = stack.Layers.FirstOrDefault(l => l.Kind == Layers.LayerKind.Dropout)?.Ratio ?? 0 };
    }

    /// <summary>
    /// Refuses NaN and infinities in a float array (and negative values where <paramref name="nonNegative"/>: a
    /// variance): a network holding them computes nothing meaningful, and a resumed run would only report divergence.
    /// </summary>
    /// <exception cref="ModelFileException">Names the array and the first bad element.</exception>
    public static void CheckFinite(string file, NpyArray array, bool nonNegative = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Type is not (NpyType.Float32 or NpyType.Float64))
        {
            return;
        }

        int bad = array.Type == NpyType.Float32
            ? FirstBad(MemoryMarshal.Cast<byte, float>(array.Data), nonNegative)
            : FirstBad(MemoryMarshal.Cast<byte, double>(array.Data), nonNegative);
        if (bad >= 0)
        {
            double value = array.Type == NpyType.Float32 ? MemoryMarshal.Cast<byte, float>(array.Data)[bad] : MemoryMarshal.Cast<byte, double>(array.Data)[bad];
            throw new ModelFileException(
                $"{file}: {array.Name} holds {value.ToString(CultureInfo.InvariantCulture)} at element {bad} of {array.ShapeText}: " +
                (nonNegative ? "a variance is a finite number, 0 or more" : "parameters must be finite numbers"));
        }
    }

    private static int FirstBad<T>(ReadOnlySpan<T> values, bool nonNegative)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!T.IsFinite(values[i]) || (nonNegative && values[i] < T.Zero))
            {
                return i;
            }
        }

        return -1;
    }

    private static string ReadText(string file, NpyArray array) => array.Type == NpyType.Unicode && array.Shape.Count == 0
        ? array.ToText()
        : throw new ModelFileException($"{file}: {array.Name} holds {array.Descr} {array.ShapeText}, not one string");

    private static bool IsRunningStatistic(string name, int hiddenLayers)
    {
        foreach (string prefix in (string[])[RunningMeanPrefix, RunningVariancePrefix])
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal)
                && int.TryParse(name.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int layer) && layer >= 1 && layer <= hiddenLayers)
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex("^(W|b|gamma|beta)([1-9][0-9]{0,5})$", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}

/// <summary>A model file's network, checked: its shape, precision, activation (when stored) and parameters.</summary>
/// <param name="Path">The file, in full.</param>
/// <param name="Precision">The parameters' type: float32 ('&lt;f4') or float64 ('&lt;f8').</param>
/// <param name="Activation">The stored activation; null in a file without metadata (the book's np.savez).</param>
/// <param name="Init">The stored initial weights' description, if any.</param>
/// <param name="Options">The stored options line, if any.</param>
/// <param name="Parameters">W1, b1, W2, b2, ... in the book's order.</param>
/// <param name="Metadata">Every simd_* array, by name.</param>
public sealed record Model(
    string Path, NetworkShape Shape, Precision Precision, Activation? Activation, string? Init, string? Options,
    IReadOnlyList<NpyArray> Parameters, IReadOnlyDictionary<string, NpyArray> Metadata)
{
    /// <summary>The dropout ratio the network was trained with (0 when none is stored): inference scales activations by 1 − it.</summary>
    public double Dropout { get; init; }

    /// <summary>The layers, when the file stores them or the reader was given them; null for a fully connected network known from its shapes.</summary>
    public Layers.LayerStack? Stack { get; init; }

    /// <summary>The network to build: <see cref="Stack"/>, else the fully connected one of <see cref="Shape"/> with <paramref name="activation"/> and <see cref="Dropout"/>.</summary>
    public Layers.LayerStack StackWith(Activation activation) =>
        Stack ?? Layers.LayerStack.FullyConnected(Shape.InputSize, Shape.HiddenSizes, Shape.OutputSize, activation, Shape.BatchNorm, Dropout);

    /// <summary>
    /// Copies batch normalization's running mean and variance into <paramref name="network"/>'s workspace (a file
    /// without them, as the book's np.savez of params: they stay 0, and inference normalizes with variance 0).
    /// </summary>
    public void CopyRunningStatisticsTo<T>(MultiLayerNet<T> network)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        IReadOnlyList<string> normalizations = Shape.BatchNormNumbers;
        for (int l = 0; l < normalizations.Count; l++)
        {
            string layer = normalizations[l];
            if (Metadata.TryGetValue(ModelFile.RunningMeanPrefix + layer, out NpyArray? mean))
            {
                mean.ToFloating<T>().CopyTo(network.Workspace.RunningMean(l));
            }

            if (Metadata.TryGetValue(ModelFile.RunningVariancePrefix + layer, out NpyArray? variance))
            {
                variance.ToFloating<T>().CopyTo(network.Workspace.RunningVariance(l));
            }
        }
    }

    /// <summary>Copies the parameters into <paramref name="parameters"/> (layout of <see cref="NetworkShape"/>), converting to T.</summary>
    public void CopyParametersTo<T>(Span<T> parameters)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (parameters.Length < Shape.ParameterCount)
        {
            throw new ArgumentException($"needs {Shape.ParameterCount} elements", nameof(parameters));
        }

        int offset = 0;
        foreach (NpyArray array in Parameters)
        {
            T[] values = array.ToFloating<T>();
            values.CopyTo(parameters[offset..]);
            offset += values.Length;
        }
    }
}
