namespace Simd.Training.Experiments;

/// <summary>Trains an experiment's runs: side by side, one thread each, in float32.</summary>
public static class ExperimentRunner
{
    /// <summary>
    /// Trains <paramref name="runs"/> side by side, one thread each, as many at a time as <paramref name="threads"/>
    /// (measured faster than one after another on all threads: docs/PERFORMANCE.md); records in the given order. Each
    /// run's numbers do not depend on the thread count, so neither does the experiment's. The first failure (a full
    /// disk, cancellation) is thrown as itself.
    /// </summary>
    public static List<ExperimentRecord> TrainAll(
        IReadOnlyList<ExperimentRun> runs, Dataset<float> train, Dataset<float> test, Kernels.IsaPath isa, int threads,
        Func<ExperimentRun, IExperimentRunWriter> writerFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(writerFor);
        var records = new ExperimentRecord[runs.Count];
        try
        {
            Parallel.For(0, runs.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken },
                i => records[i] = Train(runs[i] with { Options = runs[i].Options with { Threads = 1 } }, train, test, isa, writerFor, cancellationToken));
        }
        catch (AggregateException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }

        return [.. records];
    }

    private static ExperimentRecord Train(
        ExperimentRun run, Dataset<float> train, Dataset<float> test, Kernels.IsaPath isa, Func<ExperimentRun, IExperimentRunWriter> writerFor,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var record = new ExperimentRecord(run);
        using IExperimentRunWriter writer = writerFor(run);
        using (var trainer = new Trainer<float>(run.Options, run.Train.From(train, test), run.Test.From(train, test), isa))
        {
            trainer.StepLosses = (first, losses) =>
            {
                record.Losses.AddRange(losses);
                writer.WriteSteps(first, losses);
            };
            trainer.Evaluated = row =>
            {
                record.Evaluations.Add(row);
                writer.WriteEvaluation(row);
            };
            try
            {
                record.Result = trainer.Run(cancellationToken);
            }
            catch (TrainingDivergedException e)
            {
                record.Divergence = e.Message;
            }
        }

        writer.Complete();
        return record;
    }
}
