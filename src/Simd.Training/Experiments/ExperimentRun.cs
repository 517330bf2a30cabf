namespace Simd.Training.Experiments;

/// <summary>The MNIST split a run's images come from.</summary>
public enum ExperimentSplit
{
    Train,
    Test,
}

/// <summary>Some images of one split, by index (the scripts' x_train[:300], a shuffled 400...), or all of it (no indices).</summary>
public sealed record ImageSelection(ExperimentSplit Split, int[]? Indices = null)
{
    /// <summary>The selected images of <paramref name="train"/> or <paramref name="test"/>, as a dataset of their own.</summary>
    public Dataset<float> From(Dataset<float> train, Dataset<float> test)
    {
        Dataset<float> split = Split == ExperimentSplit.Train ? train : test;
        return Indices is null ? split : split.Select(Indices);
    }
}

/// <summary>One run of an experiment: its label (and file name), the options it trains with, its images.</summary>
/// <param name="Quiet">Its summary line is left out of the output unless it diverged (the random search's 100 trials).</param>
public sealed record ExperimentRun(string Label, TrainingOptions Options, ImageSelection Train, ImageSelection Test, bool Quiet = false);

/// <summary>What every experiment takes: a tenth of the work or all of it, the seed, the runs side by side.</summary>
public sealed record ExperimentSettings(bool Quick, ulong Seed, int Threads)
{
    /// <summary>A count of iterations, epochs or trials: a tenth (at least 2) with <see cref="Quick"/>.</summary>
    public int Scale(int count) => Quick ? Math.Max(2, count / 10) : count;
}

/// <summary>One run's record: every step's loss and every evaluation row, and how it ended.</summary>
public sealed class ExperimentRecord(ExperimentRun run)
{
    public ExperimentRun Run => run;

    public string Label => run.Label;

    public List<double> Losses { get; } = [];

    public List<EpochReport> Evaluations { get; } = [];

    /// <summary>The training result; null when the run diverged.</summary>
    public TrainingResult? Result { get; set; }

    /// <summary>Why it stopped when the loss became NaN or infinite (the book's numpy run goes on with NaN weights, at chance accuracy); null otherwise.</summary>
    public string? Divergence { get; set; }

    public bool Diverged => Divergence is not null;

    /// <summary>The last training accuracy measured, NaN when it diverged or never evaluated.</summary>
    public double FinalTrainAccuracy => Diverged || Evaluations.Count == 0 ? double.NaN : Evaluations[^1].TrainAccuracy;
}

/// <summary>Where a run's losses and evaluations go as it trains (the CLI's metrics files).</summary>
public interface IExperimentRunWriter : IDisposable
{
    void WriteSteps(int first, ReadOnlySpan<double> losses);

    void WriteEvaluation(EpochReport row);

    /// <summary>After the run: everything written, or the failure thrown.</summary>
    void Complete();
}
