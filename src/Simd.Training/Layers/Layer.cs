using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>How a layer's work couples the images of a batch.</summary>
public enum Coupling
{
    /// <summary>Each image on its own: blocks of images run it in any split (every layer but batch normalization).</summary>
    PerImage,

    /// <summary>Every image of the batch at once, feature by feature (batch normalization): it cuts the rows work into phases.</summary>
    PerFeature,
}

/// <summary>What a forward pass is for.</summary>
public enum PassMode
{
    /// <summary>Accuracy, evaluation, prediction: dropout scales, batch normalization uses its running statistics.</summary>
    Inference,

    /// <summary>A training-mode pass: dropout masks of the network's dropout step, batch normalization by the batch's own statistics.</summary>
    Training,
}

/// <summary>The kinds of weight-phase blocks, in the order the phase lists them: the large ones first, so the small fill the gaps.</summary>
public enum WeightBlockKind
{
    /// <summary>Rows [RowStart, RowEnd) of a W: its gradient, weight decay and update.</summary>
    Weights,

    /// <summary>A whole b.</summary>
    Bias,

    /// <summary>γ and β of a batch normalization (their gradients come from its features phase).</summary>
    ScaleShift,
}

/// <summary>One block of the weights phase: whose, what, and which rows (for <see cref="WeightBlockKind.Weights"/>).</summary>
public readonly record struct WeightBlock(int Layer, WeightBlockKind Kind, int RowStart = 0, int RowEnd = 0);

/// <summary>
/// One call of a layer on consecutive images: what it reads and where it keeps what it needs later. The images are
/// rows [FirstRow, FirstRow + Rows) of the batch in training; in inference FirstRow is -1.
/// </summary>
public ref struct RowsPass<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public IsaPath Isa { get; init; }
    public ReadOnlySpan<T> Parameters { get; init; }   // [P] the whole parameter buffer
    public PassMode Mode { get; init; }
    public int Rows { get; init; }
    public int FirstRow { get; init; }                 // the batch row of the first image (training), -1 in inference
    public Span<T> Saved { get; init; }                // [Rows, SavedPerImage]: what this layer keeps from forward to backward
    public bool KeepsChoices { get; init; }            // a layer that may skip what it saves (a pooled convolution's argmax) must keep it: training, or a gradient check's kinks
    public Span<T> Scratch { get; init; }              // [WorkerScratchLength]: the worker's scratch for this layer
    public Span<T> Partials { get; init; }             // [row blocks, PartialLength]: per row block weight gradients (convolutions), or empty
    public int RowBlock { get; init; }                 // images per row block (training)
    public (uint K0, uint K1) DropoutKeys { get; init; } // the masks' key for this layer and step
}

/// <summary>
/// A layer of the engine (the book's common/layers.py): what it takes and gives per image, its parameters' place in the
/// flat buffer, the buffers it needs, and its work on a block of images (forward, backward), on blocks of features
/// where it couples the images (batch normalization), and on its blocks of weights. A network is an ordered list of
/// these; the plan (MultiLayerNet.Backprop.cs) decides which runs when and on which buffers.
/// </summary>
public abstract class Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    protected Layer(LayerSpec spec, TensorShape input, TensorShape output)
    {
        Spec = spec;
        Input = input;
        Output = output;
    }

    public LayerSpec Spec { get; }

    public TensorShape Input { get; }

    public TensorShape Output { get; }

    /// <summary>Values per image in.</summary>
    public int InputLength => (int)Input.Length;

    /// <summary>Values per image out.</summary>
    public int OutputLength => (int)Output.Length;

    /// <summary>The output overwrites the input (activations, dropout, batch normalization): the two share one buffer.</summary>
    public virtual bool InPlace => false;

    public virtual Coupling Coupling => Coupling.PerImage;

    /// <summary>Set by the plan: some layer before this one has parameters, so the backward pass must give dX.</summary>
    public bool NeedsInputGradient { get; set; }

    /// <summary>The buffer node this layer reads (0: the images) and the one it writes (the same when in place).</summary>
    public int InputNode { get; set; }

    /// <inheritdoc cref="InputNode"/>
    public int OutputNode { get; set; }

    /// <summary>Values per image kept from forward to backward (argmax of a pooling).</summary>
    public virtual int SavedPerImage => 0;

    /// <summary>Scratch a worker needs for this layer: one image's (the layers that take any run a call's images one at a time).</summary>
    public virtual long WorkerScratchLength => 0;

    /// <summary>A row block's own weight gradients (dW then db), summed by the weights phase in block order; 0 when the weights phase computes them from the whole batch.</summary>
    public virtual int PartialLength => 0;

    /// <summary>True when the backward pass over images does anything (gives dX, or adds to per-block weight gradients).</summary>
    public virtual bool HasRowsBackward => NeedsInputGradient;

    /// <summary>
    /// Choices per image the forward pass makes that have no derivative where they switch (a max pooling's argmax); a
    /// gradient check compares them between p + h and p − h to find its kinks.
    /// </summary>
    public virtual int ChoicesPerImage => 0;

    /// <summary>Writes the choices of the last forward pass over <paramref name="rows"/> images, kept in <paramref name="saved"/>, as bytes.</summary>
    public virtual void RecordChoices(ReadOnlySpan<T> saved, int rows, Span<byte> pattern)
    {
    }

    /// <summary>Draws this layer's initial weights in the buffer, in order (W row-major), from <paramref name="rng"/>.</summary>
    public virtual void Initialize(Span<T> parameters, ref Rng rng, WeightInit init)
    {
    }

    /// <summary>y [Rows, out] from x [Rows, in]; both one buffer when <see cref="InPlace"/>.</summary>
    public abstract void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y);

    /// <summary>
    /// dX [Rows, in] from dY [Rows, out] (one buffer when in place), x and y the forward pass's; <paramref name="dx"/> is
    /// empty when <see cref="NeedsInputGradient"/> is false. Adds this block's weight gradients to its partials if it has them.
    /// </summary>
    public virtual void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
    }

    /// <summary>The weights phase's blocks of this layer (<paramref name="index"/>: its place in the network).</summary>
    public virtual IEnumerable<WeightBlock> WeightBlocks(int index) => [];

    /// <summary>Where a block's parameters (and gradients, and optimizer state) are in the flat buffers.</summary>
    public virtual (int Start, int Length) ParameterSlice(in WeightBlock block) =>
        throw new InvalidOperationException($"{Spec.Token} has no weight blocks");

    /// <summary>
    /// The gradients of blocks <paramref name="first"/> to <paramref name="last"/> (consecutive rows of one W, or one block) into
    /// <see cref="WeightsPass{T}.Gradients"/>; weight decay and the update are the plan's. Batch normalization's γ and β
    /// are written by its features phase.
    /// </summary>
    public virtual void WeightGradient(ref WeightsPass<T> pass, in WeightBlock first, in WeightBlock last)
    {
    }

    /// <summary>Batch normalization's forward or backward over features [j0, j1) of the whole batch (the features phases).</summary>
    public virtual void Features(ref FeaturesPass<T> pass, int j0, int j1)
    {
    }
}

/// <summary>The whole batch, for a layer that couples images (batch normalization).</summary>
public ref struct FeaturesPass<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public IsaPath Isa { get; init; }
    public ReadOnlySpan<T> Parameters { get; init; }  // [P]
    public Span<T> Gradients { get; init; }           // [P]
    public int Batch { get; init; }
    public bool Backward { get; init; }
    public bool UpdateRunning { get; init; }          // a training step: the running statistics move
    public Span<T> Values { get; init; }              // [B, n] in place: Z in, γ·x̂ + β out
    public Span<T> ValueGradients { get; init; }      // [B, n] in place: dY in, dZ out
}

/// <summary>The buffers of one block of the weights phase.</summary>
public ref struct WeightsPass<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public IsaPath Isa { get; init; }
    public Span<T> Parameters { get; init; }      // [P]
    public Span<T> Gradients { get; init; }       // [P]
    public int Batch { get; init; }
    public ReadOnlySpan<T> Inputs { get; init; }  // [B, in] what the layer took
    public ReadOnlySpan<T> OutputGradients { get; init; } // [B, out] dY
    public ReadOnlySpan<T> Partials { get; init; }        // [row blocks, PartialLength]
    public int RowBlocks { get; init; }
}
