using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// The book's BatchNormalization over the features of an image (a convolution's C·H·W as one vector, as the book
/// reshapes), in place. It couples the images: in a training step its forward and backward are phases of their own
/// over blocks of <see cref="Tuning.FeatureBlock"/> features; a pass over all the rows in one call (the loss, the
/// numerical gradient) normalizes by the batch's statistics inline; inference by the running ones.
/// </summary>
public sealed class BatchNormLayer<T>(LayerSpec spec, TensorShape input, int gammaOffset, int ordinal) : Layer<T>(spec, input, input)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private Workspace<T>? _workspace;

    public override bool InPlace => true;

    public override Coupling Coupling => Coupling.PerFeature;

    /// <summary>Which batch normalization of the network this is (its running statistics in the workspace).</summary>
    public int Ordinal => ordinal;

    public int GammaOffset => gammaOffset;

    public void Bind(Workspace<T> workspace) => _workspace = workspace;

    public override void Initialize(Span<T> parameters, ref Rng rng, WeightInit init)
    {
        parameters.Slice(gammaOffset, OutputLength).Fill(T.One); // γ = 1, β = 0
        parameters.Slice(gammaOffset + OutputLength, OutputLength).Clear();
        _workspace!.RunningMean(ordinal).Clear();
        _workspace.RunningVariance(ordinal).Clear();
    }

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        int n = OutputLength;
        ReadOnlySpan<T> gamma = pass.Parameters.Slice(gammaOffset, n), beta = pass.Parameters.Slice(gammaOffset + n, n);
        Span<T> values = y[..(pass.Rows * n)];
        if (pass.Mode == PassMode.Training)
        {
            // Here the rows are the whole batch (one worker: the numerical gradient, the loss); training's parallel
            // step normalizes in a phase of its own, by blocks of features.
            BatchNorm.ForwardTraining(pass.Isa, values, pass.Rows, n, 0, n, gamma, beta, [], [], [], [], updateRunning: false);
        }
        else
        {
            BatchNorm.ForwardInference(values, pass.Rows, n, gamma, beta, _workspace!.RunningMean(ordinal), _workspace.RunningVariance(ordinal));
        }
    }

    public override IEnumerable<WeightBlock> WeightBlocks(int index) => [new WeightBlock(index, WeightBlockKind.ScaleShift)];

    public override (int Start, int Length) ParameterSlice(in WeightBlock block) => (gammaOffset, 2 * OutputLength);

    public override void Features(ref FeaturesPass<T> pass, int j0, int j1)
    {
        Workspace<T> ws = _workspace!;
        int n = OutputLength, batch = pass.Batch;
        ReadOnlySpan<T> gamma = pass.Parameters.Slice(gammaOffset, n);
        Span<T> normalized = ws.Normalized(ordinal).Rows(0, batch).Flat();
        if (!pass.Backward)
        {
            BatchNorm.ForwardTraining(pass.Isa, pass.Values, batch, n, j0, j1, gamma, pass.Parameters.Slice(gammaOffset + n, n),
                normalized, ws.BatchStd(ordinal), ws.RunningMean(ordinal), ws.RunningVariance(ordinal), pass.UpdateRunning);
        }
        else
        {
            BatchNorm.Backward(pass.Isa, pass.ValueGradients, normalized, batch, n, j0, j1, gamma, ws.BatchStd(ordinal),
                pass.Gradients.Slice(gammaOffset, n), pass.Gradients.Slice(gammaOffset + n, n));
        }
    }
}
