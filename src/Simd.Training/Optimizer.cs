using System.Numerics;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>The book's optimizers (common/optimizer.py).</summary>
public enum OptimizerKind
{
    Sgd,
    Momentum,
    Nesterov,
    AdaGrad,
    RmsProp,
    Adam,
}

/// <summary>
/// An optimizer and its hyperparameters, with the book's defaults: <c>lr</c> 0.1 for SGD (the ch. 4
/// run's train_neuralnet.py), and optimizer.py's own for the others (Momentum, Nesterov, AdaGrad,
/// RMSprop 0.01; Adam 0.001); momentum 0.9; RMSprop's decay 0.99; Adam's β1 0.9, β2 0.999.
/// </summary>
public sealed record OptimizerSettings(OptimizerKind Kind, double LearningRate)
{
    public const double DefaultMomentum = 0.9;
    public const double DefaultDecayRate = 0.99;
    public const double DefaultBeta1 = 0.9;
    public const double DefaultBeta2 = 0.999;

    /// <summary>SGD with the ch. 4 run's 0.1.</summary>
    public static OptimizerSettings Book => new(OptimizerKind.Sgd, BookDefaults.LearningRate);

    public double Momentum { get; init; } = DefaultMomentum;

    public double DecayRate { get; init; } = DefaultDecayRate;

    public double Beta1 { get; init; } = DefaultBeta1;

    public double Beta2 { get; init; } = DefaultBeta2;

    /// <summary>State buffers (each the size of the parameters) the optimizer keeps: 0, 1 or 2 (Adam).</summary>
    public int StateCount => Kind switch
    {
        OptimizerKind.Sgd => 0,
        OptimizerKind.Adam => 2,
        _ => 1,
    };

    /// <summary>The book's default learning rate of <paramref name="kind"/>.</summary>
    public static double DefaultLearningRate(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => BookDefaults.LearningRate,
        OptimizerKind.Adam => 0.001,
        _ => 0.01,
    };

    /// <summary>The book's name: "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam".</summary>
    public static string Name(OptimizerKind kind) => kind switch
    {
        OptimizerKind.Sgd => "SGD",
        OptimizerKind.RmsProp => "RMSprop",
        _ => kind.ToString(),
    };

    /// <summary>
    /// One update of <paramref name="parameters"/> from <paramref name="gradients"/> and the optimizer's
    /// state (slices of the same range), as step <paramref name="step"/> (1-based; Adam's t). One fused
    /// pass; scalars are computed in double and rounded to T once, as numpy does with Python floats.
    /// </summary>
    public void Apply<T>(IsaPath isa, long step, ReadOnlySpan<T> gradients, Span<T> parameters, Span<T> state1, Span<T> state2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lr = T.CreateTruncating(LearningRate);
        switch (Kind)
        {
            case OptimizerKind.Sgd:
                SgdUpdate.Apply(isa, gradients, lr, parameters);
                break;
            case OptimizerKind.Momentum:
                MomentumUpdate.Apply(isa, gradients, lr, T.CreateTruncating(Momentum), parameters, state1);
                break;
            case OptimizerKind.Nesterov:
                NesterovUpdate.Apply(isa, gradients, lr, T.CreateTruncating(Momentum), T.CreateTruncating(Momentum * Momentum),
                    T.CreateTruncating((1 + Momentum) * LearningRate), parameters, state1);
                break;
            case OptimizerKind.AdaGrad:
                AdaGradUpdate.Apply(isa, gradients, lr, parameters, state1);
                break;
            case OptimizerKind.RmsProp:
                RmsPropUpdate.Apply(isa, gradients, lr, T.CreateTruncating(DecayRate), T.CreateTruncating(1 - DecayRate), parameters, state1);
                break;
            default:
                AdamUpdate.Apply(isa, gradients, T.CreateTruncating(AdamUpdate.StepRate(LearningRate, Beta1, Beta2, step)),
                    T.CreateTruncating(1 - Beta1), T.CreateTruncating(1 - Beta2), parameters, state1, state2);
                break;
        }
    }

    public override string ToString() => $"{Name(Kind)} lr {LearningRate.ToString("G", System.Globalization.CultureInfo.InvariantCulture)}";
}
