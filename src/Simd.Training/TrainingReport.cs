namespace Simd.Training;

/// <summary>One row of the training table: the state at an evaluation.</summary>
/// <param name="Epoch">0 for the evaluation at iteration 0, then 1, 2, ...</param>
/// <param name="Iteration">The iteration after which it was evaluated (0, 600, 1200, ...).</param>
/// <param name="GradientSeconds">Time spent computing gradients since the previous row (this row's steps only).</param>
/// <param name="Loss">Mean batch loss over the same steps.</param>
/// <param name="TrainAccuracy">Accuracy on the whole training set.</param>
/// <param name="TestAccuracy">Accuracy on the whole test set.</param>
/// <param name="EvaluationSeconds">Time this evaluation (train + test) took.</param>
public readonly record struct EpochReport(
    int Epoch, int Iteration, double GradientSeconds, double Loss, double TrainAccuracy, double TestAccuracy, double EvaluationSeconds);

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
    /// <summary>The last evaluation: what the book reports as the result.</summary>
    public EpochReport Final => Epochs[^1];
}
