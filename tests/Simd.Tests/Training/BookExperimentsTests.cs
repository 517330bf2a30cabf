using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Experiments;

namespace Simd.Tests.Training;

/// <summary>The chapter-6 experiments as the library defines them: their runs' images and settings, and the runner.</summary>
public class BookExperimentsTests
{
    [Fact]
    public void Select_copies_the_chosen_images_in_their_order_and_refuses_an_index_outside()
    {
        Dataset<float> data = MnistFixture.Subset<float>(50);
        Dataset<float> chosen = data.Select([7, 3, 49, 3]);
        Assert.Equal(4, chosen.Count);
        int[] from = [7, 3, 49, 3];
        for (int i = 0; i < from.Length; i++)
        {
            Assert.True(chosen.Pixels.Slice(i * 784, 784).SequenceEqual(data.Pixels.Slice(from[i] * 784, 784)));
            Assert.Equal(data.Labels[from[i]], chosen.Labels[i]);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => data.Select([0, 50]));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Select([-1]));
    }

    [Fact]
    public void The_random_search_keeps_a_fifth_of_500_images_apart_and_draws_lr_and_decay_in_the_books_ranges()
    {
        IReadOnlyList<ExperimentRun> trials = BookExperiments.Hyperparameters(new ExperimentSettings(Quick: false, Seed: 3, Threads: 2));
        Assert.Equal(100, trials.Count);
        foreach (ExperimentRun trial in trials)
        {
            int[] train = trial.Train.Indices!, validation = trial.Test.Indices!;
            Assert.Equal((400, 100), (train.Length, validation.Length));
            Assert.Equal(ExperimentSplit.Train, trial.Test.Split);
            Assert.Empty(train.Intersect(validation));
            Assert.Equal(500, train.Union(validation).Count(i => i is >= 0 and < 500));
            Assert.InRange(trial.Options.Optimizer.LearningRate, 1e-6, 1e-2);
            Assert.InRange(trial.Options.WeightDecay, 1e-8, 1e-4);
            Assert.Equal(50 * 4, trial.Options.Iterations);
            Assert.True(trial.Quiet);
        }

        Assert.Equal(100, trials.Select(t => t.Options.Optimizer.LearningRate).Distinct().Count());
    }

    [Theory]
    [InlineData(false, 201, "weight decay 0.1")]
    [InlineData(true, 301, "dropout 0.2")]
    public void Overfitting_trains_on_the_first_300_images_for_the_books_epochs(bool dropout, int epochs, string label)
    {
        IReadOnlyList<ExperimentRun> runs = BookExperiments.Overfit(new ExperimentSettings(Quick: false, Seed: 1, Threads: 1), dropout);
        Assert.Equal(["none", label], runs.Select(r => r.Label));
        Assert.All(runs, r => Assert.Equal(Enumerable.Range(0, 300), r.Train.Indices!));
        Assert.All(runs, r => Assert.Null(r.Test.Indices));
        Assert.All(runs, r => Assert.Equal(((epochs - 1) * 3) + 1, r.Options.Iterations));
        Assert.Equal(dropout ? 0.2 : 0, runs[1].Options.Dropout);
        Assert.Equal(dropout ? 0 : 0.1, runs[1].Options.WeightDecay);
    }

    [Fact]
    public void Batch_normalization_pairs_each_scale_without_and_with_on_the_training_images()
    {
        var settings = new ExperimentSettings(Quick: true, Seed: 1, Threads: 1);
        double[] scales = BookExperiments.BatchNormScales(settings);
        IReadOnlyList<ExperimentRun> runs = BookExperiments.BatchNormalization(settings);
        Assert.Equal(4, scales.Length); // np.logspace(0, -4, 16) with a tenth of the work: 4 points, the same ends
        Assert.Equal(16, BookExperiments.BatchNormScales(settings with { Quick = false }).Length);
        Assert.Equal(1, scales[0]);
        Assert.Equal(1e-4, scales[^1], 1e-15);
        Assert.True(scales.Zip(scales.Skip(1)).All(p => p.First > p.Second));
        Assert.Equal(2 * scales.Length, runs.Count);
        for (int i = 0; i < scales.Length; i++)
        {
            Assert.False(runs[2 * i].Options.BatchNorm);
            Assert.True(runs[(2 * i) + 1].Options.BatchNorm);
            Assert.Equal(scales[i], runs[2 * i].Options.Init.Value);
            Assert.Equal(runs[2 * i].Train, runs[2 * i].Test);
        }
    }

    /// <summary>Two small runs side by side: what the writers get is what the records hold, and one or two threads give the same numbers.</summary>
    [Fact]
    public void The_runner_reports_every_step_and_evaluation_to_the_writer_whatever_the_threads()
    {
        Dataset<float> train = MnistFixture.Subset<float>(300), test = MnistFixture.Subset<float>(100);
        var options = new TrainingOptions { HiddenSizes = [20], BatchSize = 50, Iterations = 13, Seed = 4 };
        ExperimentRun[] runs =
        [
            new("a", options, new ImageSelection(ExperimentSplit.Train, [.. Enumerable.Range(0, 200)]), new ImageSelection(ExperimentSplit.Test)),
            new("b", options with { Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001) }, new ImageSelection(ExperimentSplit.Train), new ImageSelection(ExperimentSplit.Test)),
        ];
        List<double>[]? previous = null;
        foreach (int threads in (int[])[1, 2])
        {
            var writers = new Dictionary<string, RecordingWriter>();
            List<ExperimentRecord> records = ExperimentRunner.TrainAll(runs, train, test, Isa.Best, threads,
                run => { lock (writers) { return writers[run.Label] = new RecordingWriter(); } }, CancellationToken.None);
            Assert.Equal(["a", "b"], records.Select(r => r.Label));
            foreach (ExperimentRecord record in records)
            {
                RecordingWriter writer = writers[record.Label];
                Assert.True(writer.Completed && writer.Disposed);
                Assert.Equal(13, record.Losses.Count);
                Assert.Equal(record.Losses, writer.Losses);
                Assert.Equal(record.Evaluations, writer.Rows);
                Assert.False(record.Diverged);
            }

            Assert.NotEqual(records[0].Losses, records[1].Losses);
            if (previous is not null)
            {
                Assert.Equal(previous[0], records[0].Losses);
                Assert.Equal(previous[1], records[1].Losses);
            }

            previous = [records[0].Losses, records[1].Losses];
        }
    }

    private sealed class RecordingWriter : IExperimentRunWriter
    {
        public List<double> Losses { get; } = [];

        public List<EpochReport> Rows { get; } = [];

        public bool Completed { get; private set; }

        public bool Disposed { get; private set; }

        public void WriteSteps(int first, ReadOnlySpan<double> losses)
        {
            Assert.Equal(Losses.Count, first);
            Losses.AddRange(losses);
        }

        public void WriteEvaluation(EpochReport row) => Rows.Add(row);

        public void Complete() => Completed = true;

        public void Dispose() => Disposed = true;
    }
}
