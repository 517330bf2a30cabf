namespace Simd.Training;

/// <summary>One row of the training table: the state at an evaluation.</summary>
/// <param name="Epoch">0 for the evaluation at iteration 0, then 1, 2, ...</param>
/// <param name="Iteration">The iteration after which it was evaluated (0, 600, 1200, ...).</param>
/// <param name="GradientSeconds">Time spent computing gradients since the previous row (this row's steps only).</param>
/// <param name="Loss">Mean batch loss over the same steps.</param>
/// <param name="TrainAccuracy">Accuracy on the whole training set.</param>
/// <param name="TestAccuracy">Accuracy on the whole test set.</param>
/// <param name="EvaluationSeconds">Time this evaluation (train + test) took.</param>
/// <param name="AfterLastStep">The extra evaluation after the last step, when that step was not an evaluation step.</param>
public readonly record struct EpochReport(
    int Epoch, int Iteration, double GradientSeconds, double Loss, double TrainAccuracy, double TestAccuracy, double EvaluationSeconds,
    bool AfterLastStep = false);

/// <summary>The outcome of a run.</summary>
/// <param name="Epochs">Every evaluation row.</param>
/// <param name="Iterations">Steps taken.</param>
/// <param name="TotalSeconds">Wall time of the loop (steps and evaluations; loading data excluded).</param>
/// <param name="GradientSeconds">Time in gradient computation.</param>
/// <param name="EvaluationSeconds">Time in evaluation.</param>
/// <param name="SteadyAllocatedBytes">
/// Bytes allocated, by any thread of the process, during the steps after the warm-up (the first step and
/// the first evaluation): GC.GetTotalAllocatedBytes(precise: true) summed around the runs of steps, the
/// evaluations and the reporting left out. 0 is the promise for backprop.
/// </param>
public sealed record TrainingResult(
    IReadOnlyList<EpochReport> Epochs, int Iterations, double TotalSeconds, double GradientSeconds, double EvaluationSeconds,
    long SteadyAllocatedBytes)
{
    /// <summary>The last evaluation, after the last step: the result.</summary>
    public EpochReport Final => Epochs[^1];

    /// <summary>Images the evaluations took, both sets, over the run (fewer than passes × all when each epoch evaluates a sample).</summary>
    public long EvaluatedImages { get; init; }
}

/// <summary>The loss became NaN or infinite: the parameters have left the finite numbers (a learning rate too high, usually).</summary>
public sealed class TrainingDivergedException(int iteration, double loss)
    : Exception($"training diverged at iteration {iteration}: the loss is {(double.IsNaN(loss) ? "NaN" : loss > 0 ? "infinite" : "-infinite")}")
{
    /// <summary>The step (0-based, as in the table) whose loss was not finite.</summary>
    public int Iteration { get; } = iteration;

    public double Loss { get; } = loss;
}
